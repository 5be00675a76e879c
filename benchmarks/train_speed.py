"""Training speed (seq/s) in fp32 and bf16 autocast, and beside a peer when one runs here too.

Shapes: Magenta's cat-mel_2bar_small (BiLSTM 512 encoder, 2x256 decoder, z 256,
130 classes) at batch 128 and 512, and the 16-bar hierarchical shape
(BiLSTM 512, conductor and decoder 2x256, z 256) at batch 64; plus the shipped
presets. Each figure is the median of ``--windows`` timed windows of
``--steps`` teacher-forced training steps (loss, backward, clipping, Adam).

A ratio against a peer is printed only when the peer ran in this invocation:
``--peer magenta`` starts Magenta's TensorFlow MusicVAE (set up once with
``bash benchmarks/peers/magenta_setup.sh``) on the same three shapes, and its
windows alternate with ours, so both see the same machine load. Without it, the
last side-by-side figures are printed as a reference with their machine and
date, and no ratio.

With --accuracy it also trains the melody-2bar preset for a few hundred steps
on the bundled data in fp32 and in bf16 (same seed) and compares validation
accuracy, to show bf16 does not hurt it.

    .venv/bin/python benchmarks/train_speed.py [--windows 5] [--steps 4] [--accuracy]
    .venv/bin/python benchmarks/train_speed.py --peer magenta --threads 1   # side by side (25 min on 2 shared cores)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import machine, print_table  # noqa: E402

from musiclatent.models.builders import build_vae  # noqa: E402
from musiclatent.presets import get_preset  # noqa: E402
from musiclatent.training.loop import autocast  # noqa: E402

PEERS = {"magenta": {"python": HERE / "peers" / ".venv-magenta" / "bin" / "python",
                     "script": HERE / "peers" / "magenta_train_speed.py",
                     "setup": "bash benchmarks/peers/magenta_setup.sh",
                     "label": "Magenta"}}
PEER_SHAPES = [("cat-mel-2bar-small", 128), ("cat-mel-2bar-small", 512), ("hierdec-mel-16bar", 64)]
OWN_SHAPES = [("melody-2bar", 128), ("melody-16bar", 64)]

# The last side-by-side run (train_speed.py --peer magenta). Printed for context when the peer does not run;
# never divided into this run's figures, which come from another moment and load.
REFERENCE = {
    "peer": "Magenta MusicVAE 2.1.4, TensorFlow 2.15.1 CPU, teacher-forced, 1 thread",
    "machine": "AMD EPYC, 2 cores, shared with other jobs (load average 8 to 11)",
    "date": "2026-12-01 (train_speed.py --peer magenta --threads 1 --windows 7 --steps 3)",
    "seq_per_s": {("cat-mel-2bar-small", 128): 58.3, ("cat-mel-2bar-small", 512): 80.3, ("hierdec-mel-16bar", 64): 9.0},
}


class OurStep:
    """One training step of a preset's shape on a fixed random batch; ``window(n)`` times n of them."""

    def __init__(self, preset: str, batch: int, bf16: bool, p_teacher: float = 1.0):
        cfg = dataclasses.replace(get_preset(preset).model, styles=("any", "a", "b", "c"))
        torch.manual_seed(0)
        self.model = build_vae(cfg)
        self.opt = torch.optim.Adam(self.model.parameters(), 1e-3)
        self.x = torch.randint(0, cfg.n_classes, (batch, cfg.steps))
        self.s = torch.randint(0, cfg.n_styles, (batch,))
        self.bf16, self.p_teacher = bf16, p_teacher

    def step(self) -> None:
        with autocast(self.bf16):
            parts = self.model(self.x, self.s, beta=0.1, free_bits=0.0, p_teacher=self.p_teacher)
        self.opt.zero_grad()
        parts["loss"].backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()

    def window(self, steps: int) -> float:
        t = time.perf_counter()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - t


class PeerProcess:
    """A peer benchmark in its own venv and process, driven over stdin/stdout (see its --serve)."""

    def __init__(self, peer: str, shape: str, batch: int, threads: int, log):
        spec = PEERS[peer]
        if not spec["python"].exists():
            raise SystemExit(f"--peer {peer}: {spec['python']} does not exist; set it up with `{spec['setup']}`")
        self.proc = subprocess.Popen(
            [str(spec["python"]), str(spec["script"]), "--serve", "--shape", shape, "--batch", str(batch),
             "--threads", str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        self.info = self._answer()
        if not self.info.get("ready"):
            raise RuntimeError(f"peer {peer} did not start: {self.info}")

    def _answer(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"peer exited with status {self.proc.wait()} (its log is printed above)")

    def window(self, steps: int) -> float:
        self.proc.stdin.write(json.dumps({"steps": steps}) + "\n")
        self.proc.stdin.flush()
        return self._answer()["seconds"]

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def measure(preset: str, batch: int, windows: int, steps: int, peer: str | None = None,
            threads: int = 1, log=None) -> dict:
    """Median seq/s over ``windows`` windows of ``steps`` steps for fp32, bf16 (and the peer), interleaved.

    The order alternates (fp32, bf16, peer; then peer, bf16, fp32), so each of our windows has a peer
    window next to it in time. With a peer, ``ratio`` holds the median over windows of ours / the
    peer's window of the same round: on a machine whose load changes, that pairs like with like.
    """
    runners = {"fp32": OurStep(preset, batch, False), "bf16": OurStep(preset, batch, True)}
    for r in runners.values():
        r.window(2)  # warm-up
    other = PeerProcess(peer, preset, batch, threads, log) if peer else None
    rates = {name: [] for name in [*runners, *(["peer"] if other else [])]}
    try:
        timers = {**runners, **({"peer": other} if other else {})}
        for w in range(windows):
            for name in (list(timers) if w % 2 == 0 else list(timers)[::-1]):
                rates[name].append(batch * steps / timers[name].window(steps))
    finally:
        if other:
            other.close()
    out = {name: statistics.median(v) for name, v in rates.items()}
    out["windows"] = {name: [round(x, 1) for x in v] for name, v in rates.items()}
    if other:
        out["peer_what"] = other.info.get("what", "") + "; " + other.info.get("versions", "")
        out["ratio"] = {name: statistics.median(a / b for a, b in zip(rates[name], rates["peer"])) for name in runners}
    return out


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


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5-min {five:.1f})"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--windows", type=int, default=5, help="timed windows per configuration (the median is reported)")
    ap.add_argument("--steps", type=int, default=4, help="training steps per window")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (and the peer's TF threads)")
    ap.add_argument("--peer", choices=sorted(PEERS), default=None,
                    help="also time this peer on the Magenta shapes, interleaved with ours, and print ratios")
    ap.add_argument("--accuracy", action="store_true", help="also compare fp32 vs bf16 validation accuracy")
    ap.add_argument("--accuracy-steps", type=int, default=400)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    load_before = _load()
    if os.getloadavg()[0] + threads > (os.cpu_count() or 1) + 0.5:
        print(f"note: load average {load_before} on {os.cpu_count()} CPUs: the figures depend on the other jobs"
              + (f"; {threads} threads per process measure contention as much as speed (--threads 1 suffers least)"
                 if threads > 1 else ""))
    rows, out = [], {}
    with tempfile.TemporaryFile("w+") as log:
        for preset, batch in PEER_SHAPES + OWN_SHAPES:
            peer = args.peer if (preset, batch) in PEER_SHAPES else None
            try:
                r = measure(preset, batch, args.windows, args.steps, peer, threads, log)
            except Exception:
                log.seek(0)
                sys.stderr.write(log.read()[-4000:])
                raise
            row = [preset, batch, round(r["fp32"], 1), round(r["bf16"], 1), f"{r['bf16'] / r['fp32']:.2f}x"]
            if args.peer:
                p = r.get("peer")
                row += (["-", "-", "-"] if p is None else
                        [round(p, 1), f"{r['ratio']['fp32']:.2f}x", f"{r['ratio']['bf16']:.2f}x"])
            rows.append(row)
            out[f"{preset}@{batch}"] = {"fp32": r["fp32"], "bf16": r["bf16"], "windows": r["windows"],
                                        **({"peer": r["peer"], "peer_name": args.peer, "peer_what": r["peer_what"],
                                            "ratio": r["ratio"]} if "peer" in r else {})}
    print(f"machine: {machine()}, torch {torch.__version__}, threads {threads}; load average {load_before} before, "
          f"{_load()} after")
    print(f"teacher-forced training steps, median of {args.windows} windows of {args.steps} steps "
          "(scheduled sampling adds a second, no-grad decoder pass)")
    headers = ["shape", "batch", "fp32 seq/s", "bf16 seq/s", "bf16/fp32"]
    if args.peer:
        label = PEERS[args.peer]["label"]
        headers += [f"{label} seq/s", f"fp32/{label}", f"bf16/{label}"]
    print_table(headers, rows)
    if args.peer:
        whats = sorted({v["peer_what"] for v in out.values() if isinstance(v, dict) and "peer_what" in v})
        print(f"\n{PEERS[args.peer]['label']} ran in this invocation, its windows alternating with ours; a ratio is the "
              "median over rounds of our window / its window of the same round:")
        for w in whats:
            print(f"  {w}")
    else:
        ref = REFERENCE
        figures = ", ".join(f"{p} @ {b}: {v:g}" for (p, b), v in ref["seq_per_s"].items()) or "none yet"
        print(f"\nreference, not measured in this run (so no ratio): {ref['peer']}, {figures} seq/s; "
              f"{ref['machine']}, {ref['date']}. Run with --peer magenta to measure it side by side.")
        out["reference"] = {"peer": ref["peer"], "machine": ref["machine"], "date": ref["date"],
                            "seq_per_s": {f"{p}@{b}": v for (p, b), v in ref["seq_per_s"].items()}}
    out["load"] = {"before": load_before, "after": _load(), "threads": threads}
    if args.accuracy:
        acc = accuracy_check(args.accuracy_steps)
        print(f"\nmelody-2bar, {args.accuracy_steps} steps on data/melody-2bar, same seed:")
        print_table(["precision", "steps", "val acc (teacher-forced)", "val acc (sampled)", "wall s"], acc)
        out["accuracy"] = acc
    return out


if __name__ == "__main__":
    main()
