"""Training speed (seq/s) in fp32 and bf16 autocast, side by side in one run.

Shapes: Magenta's cat-mel_2bar_small (BiLSTM 512 encoder, 2x256 decoder, z 256,
130 classes) at batch 128 and 512, and the 16-bar hierarchical shape
(BiLSTM 512, conductor and decoder 2x256, z 256) at batch 64; plus the shipped
presets. Reference: Magenta's TensorFlow MusicVAE on this 2-core machine does
about 194 seq/s (2-bar, batch 128), 256 (batch 512) and 19 (16-bar, batch 64).

With --accuracy it also trains the melody-2bar preset for a few hundred steps
on the bundled data in fp32 and in bf16 (same seed) and compares validation
accuracy, to show bf16 does not hurt it.

    .venv/bin/python benchmarks/train_speed.py [--steps 8] [--accuracy]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, print_table  # noqa: E402

from musiclatent.models.vae import build_vae  # noqa: E402
from musiclatent.presets import get_preset  # noqa: E402
from musiclatent.training.loop import autocast, get_teacher_prob  # noqa: E402

MAGENTA = {("cat-mel-2bar-small", 128): 194.0, ("cat-mel-2bar-small", 512): 256.0, ("hierdec-mel-16bar", 64): 19.0}


def seq_per_s(preset: str, batch: int, bf16: bool, steps: int, p_teacher: float = 1.0) -> float:
    cfg = dataclasses.replace(get_preset(preset).model, styles=("any", "a", "b", "c"))
    torch.manual_seed(0)
    model = build_vae(cfg)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randint(0, 130, (batch, cfg.steps))
    s = torch.randint(0, 4, (batch,))
    times = []
    for i in range(steps + 2):
        t = time.perf_counter()
        with autocast(bf16):
            parts = model(x, s, beta=0.1, free_bits=0.0, p_teacher=p_teacher)
        opt.zero_grad()
        parts["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - t)
    return batch / statistics.median(times)


def accuracy_check(steps: int) -> list[list]:
    from musiclatent.training.loop import train

    rows = []
    for bf16 in (False, True):
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            last = train("data/melody-2bar", "melody-2bar", d, max_steps=steps, bf16=bf16, progress=False,
                         overrides={"eval_every": 10**9, "checkpoint_every": 10**9, "val_batches": 8})
            rows.append(["bf16" if bf16 else "fp32", steps, round(last["val_acc_teacher_forced"], 4),
                         round(last["val_acc_sampled"], 4), round(time.perf_counter() - t, 1)])
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8, help="timed steps per configuration (median)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--accuracy", action="store_true", help="also compare fp32 vs bf16 validation accuracy")
    ap.add_argument("--accuracy-steps", type=int, default=400)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = [("cat-mel-2bar-small", 128), ("cat-mel-2bar-small", 512), ("hierdec-mel-16bar", 64),
               ("melody-2bar", 128), ("melody-16bar", 64)]
    rows, out = [], {}
    for preset, batch in configs:
        fp32 = seq_per_s(preset, batch, False, args.steps)
        bf16 = seq_per_s(preset, batch, True, args.steps)
        ref = MAGENTA.get((preset, batch))
        rows.append([preset, batch, round(fp32, 1), round(bf16, 1), f"{bf16 / fp32:.2f}x",
                     f"{ref:g}" if ref else "-", f"{bf16 / ref:.2f}x" if ref else "-"])
        out[f"{preset}@{batch}"] = {"fp32": fp32, "bf16": bf16, "magenta": ref}
    print(f"machine: {machine()}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print("teacher-forced training steps (scheduled sampling adds a second, no-grad decoder pass)")
    print_table(["shape", "batch", "fp32 seq/s", "bf16 seq/s", "bf16/fp32", "Magenta seq/s", "bf16/Magenta"], rows)
    if args.accuracy:
        acc = accuracy_check(args.accuracy_steps)
        print(f"\nmelody-2bar, {args.accuracy_steps} steps on data/melody-2bar, same seed:")
        print_table(["precision", "steps", "val acc (teacher-forced)", "val acc (sampled)", "wall s"], acc)
        out["accuracy"] = acc
    return out


if __name__ == "__main__":
    main()
