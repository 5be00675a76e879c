"""``musiclatent train``: one readable training loop built from small helpers.

Order per step (nanoGPT style): eval -> checkpoint -> step -> log. Resume
restores step, optimizer, schedules and RNG exactly. Under ``torchrun`` it runs
DistributedDataParallel (gloo on CPU, NCCL on GPU); rank 0 writes files.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from musiclatent.training.checkpoint import (CheckpointError, build_checked, find_checkpoint, load_model_weights, load_tensors,
                                             model_config_from, optimizer_from_tensors, read_config, save_training_checkpoint,
                                             warm_start_weights)
from musiclatent.config import ModelConfig, TrainConfig
from musiclatent.data.dataset import random_chord_batch, PhraseSet, load_dataset, random_batch
from musiclatent.models.vae import MusicVAE
from musiclatent.models.builders import build_vae
from musiclatent.presets import get_preset


# --------------------------------------------------------------------------- schedules

def get_lr(step: int, tc: TrainConfig) -> float:
    """Exponential decay to a floor."""
    return max(tc.min_lr, tc.lr * tc.lr_decay ** step)


def get_beta(step: int, tc: TrainConfig) -> float:
    """KL weight annealed from 0 towards beta_max."""
    return tc.beta_max * (1.0 - tc.beta_rate ** (step + tc.schedule_offset))


def get_teacher_prob(step: int, tc: TrainConfig) -> float:
    """Inverse-sigmoid scheduled sampling: probability of feeding the ground truth."""
    k = tc.sampling_rate
    if k <= 0:
        return 1.0
    return k / (k + math.exp(min((step + tc.schedule_offset) / k, 50.0)))


# --------------------------------------------------------------------------- helpers

def autocast(enabled: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if enabled else nullcontext()


@torch.no_grad()
def estimate_metrics(model: MusicVAE, data: PhraseSet, batches: int, batch_size: int, bf16: bool,
                     sampled: bool = True) -> dict[str, float]:
    """Validation: teacher-forced and sampled (argmax, own outputs, from mu) accuracy, NLL, KL."""
    model.eval()
    n = min(len(data), batches * batch_size)
    if n == 0:
        return {}
    # a fixed random subset: the split is ordered by piece (and so by style), its head is not representative
    pick = np.sort(np.random.default_rng(0).permutation(len(data))[:n])
    tok = torch.from_numpy(data.tokens[pick].astype(np.int64))
    sty = torch.from_numpy(data.style[pick])
    chords = torch.from_numpy(data.chords[pick].astype(np.int64)) if getattr(model.cfg, "chord_dim", 0) else None
    tf_acc, samp_acc, nll, kl = [], [], [], []
    for i in range(0, n, batch_size):
        x, s = tok[i:i + batch_size], sty[i:i + batch_size]
        kw = {"chords": chords[i:i + batch_size]} if chords is not None else {}
        with autocast(bf16):
            parts = model(x, s, sample_latent=False, **kw)
            if sampled:
                mu, _ = model.encode(x, s)
                out = model.sample(mu, s, temperature=0.0, **kw)
                samp_acc.append((out == x).float().mean().item() * len(x))
        tf_acc.append(parts["accuracy"].item() * len(x))
        nll.append(parts["nll_per_step"].item() * len(x))
        kl.append(parts["kl_bits"].item() * len(x))
    model.train()
    out = {"val_acc_teacher_forced": sum(tf_acc) / n, "val_nll_per_step": sum(nll) / n, "val_kl_bits": sum(kl) / n}
    if sampled:
        out["val_acc_sampled"] = sum(samp_acc) / n
    return out


def rng_state(gen: torch.Generator) -> dict[str, torch.Tensor]:
    return {"batch": gen.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(gen: torch.Generator, tensors: dict[str, torch.Tensor]) -> None:
    gen.set_state(tensors["rng.batch"])
    torch.set_rng_state(tensors["rng.torch"])


def _dist_info() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def weights_checksum(model: torch.nn.Module) -> str:
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


def trim_log(log_path: Path, step: int) -> None:
    """Drop the log rows a resumed run (starting at ``step``) will write again.

    A killed run logged past its last checkpoint; the resumed run repeats
    those steps and the eval at ``step``. Lines cut short by a kill are dropped.
    """
    if not log_path.exists():
        return
    keep = []
    for line in log_path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("step", 0) < step or (row.get("step") == step and row.get("kind") != "eval"):
            keep.append(line + "\n")
    tmp = log_path.with_name(log_path.name + ".tmp")
    tmp.write_text("".join(keep))
    os.replace(tmp, log_path)


def _weights_file(source: str | Path) -> Path:
    """model.safetensors of a run folder (its checkpoint), a model folder or a pretrained name."""
    from musiclatent.constants import PRETRAINED_DIR

    path = Path(source)
    if not path.exists() and (PRETRAINED_DIR / str(source)).is_dir():
        path = PRETRAINED_DIR / str(source)
    ckpt = find_checkpoint(path) if path.is_dir() else None
    for folder in (ckpt, path):
        if folder is not None and (folder / "model.safetensors").is_file():
            return folder / "model.safetensors"
    raise ValueError(f"--init-from {source}: no model.safetensors there (give a run folder, "
                     f"a model folder or a pretrained name)")


# --------------------------------------------------------------------------- the loop

def train(data_dir: str | Path, preset: str, out_dir: str | Path, resume: bool = False,
          max_steps: int | None = None, threads: int | None = None, bf16: bool | None = None,
          progress: bool = True, overrides: dict | None = None, init_from: str | Path | None = None,
          dropout: float | None = None, base_model: str | None = None) -> dict:
    """Train (or resume) a model; returns the last logged metrics.

    ``dropout`` overrides the preset's decoder dropout. It adds no weights, so a fine-tune may
    switch it on; a resumed run keeps its checkpoint's.

    ``init_from`` (a run folder, a model folder or a pretrained name) starts a new run
    from those weights with a fresh optimizer and learning-rate schedule: fine-tuning.
    Set ``schedule_offset`` to continue the beta and scheduled-sampling schedules.
    """
    from tqdm import tqdm

    rank, world = _dist_info()
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    out_dir = Path(out_dir)
    data = load_dataset(data_dir)
    p = get_preset(preset)
    tc = dataclasses.replace(p.train, **(overrides or {}))
    if max_steps is not None:
        tc = dataclasses.replace(tc, max_steps=max_steps)
    if bf16 is not None:
        tc = dataclasses.replace(tc, bf16=bf16)
    if threads:
        tc = dataclasses.replace(tc, threads=threads)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    ckpt = find_checkpoint(out_dir) if resume else None
    if ckpt is not None:
        saved = read_config(ckpt)
        mc = model_config_from(saved)
        try:
            tc = dataclasses.replace(TrainConfig.from_dict(saved["train"]), max_steps=tc.max_steps, threads=tc.threads)
        except (TypeError, ValueError, KeyError) as err:
            raise CheckpointError(f"bad train config in {ckpt / 'config.json'}: {err}") from None
        if dropout is not None and dropout != mc.dropout:
            raise ValueError(f"--dropout {dropout}: the run in {out_dir} trains with dropout {mc.dropout}; "
                             "a resumed run keeps its settings (start a fine-tune with --init-from instead)")
    else:
        # a dataset measured in bars of another meter (prepare --model-meter) makes a model of that meter
        meter = tuple(data.manifest.get("meter", p.model.meter))
        mc = dataclasses.replace(p.model, styles=data.style_names, meter=meter,
                                 base_model=base_model or p.model.base_model)
        if data.steps != mc.steps:
            raise ValueError(f"dataset has {data.steps}-step phrases but preset {preset!r} expects "
                             f"{mc.steps} ({mc.bars} bars of {meter[0]}/{meter[1]}); prepare with --bars {mc.bars}")
        if dropout is not None:
            mc = dataclasses.replace(mc, dropout=float(dropout))      # ModelConfig checks the range
    if tc.layer_mix and mc.representation != "drums":
        raise ValueError(f"layer_mix mixes the layers of a drum kit; a {mc.representation} model has none "
                         "(leave it at 0)")
    config = {"model": mc.to_dict(), "train": tc.to_dict(), "preset": preset, "data": str(data_dir)}
    if ckpt is not None and "init_from" in saved:
        config["init_from"] = saved["init_from"]         # a resumed fine-tune is still a fine-tune
    torch.manual_seed(tc.seed)
    model = build_checked(build_vae, mc, ckpt / "model.safetensors") if ckpt is not None else build_vae(mc)
    if ckpt is None and hasattr(model, "init_fresh"):
        model.init_fresh()        # a latent-seq model loads its frozen base model
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    gen = torch.Generator().manual_seed(tc.seed + 7919 * rank)
    step, wall = 0, 0.0
    if ckpt is not None:
        load_model_weights(model, load_tensors(ckpt / "model.safetensors"))
        state = json.loads((ckpt / "state.json").read_text())
        tensors = load_tensors(ckpt / "optimizer.safetensors")
        optimizer_from_tensors(opt, {k[4:]: v for k, v in tensors.items() if k.startswith("opt.")},
                               state["param_groups"])
        if world == 1 or state.get("world") == world:
            set_rng_state(gen, tensors)
        step, wall = int(state["step"]), float(state.get("wall_s", 0.0))
    elif init_from is not None:
        fresh = warm_start_weights(model, load_tensors(_weights_file(init_from)))
        lent = tuple(getattr(model, "lent_weights", dict)())      # a frozen base, loaded by init_fresh
        fresh = [k for k in fresh if not k.startswith(lent)] if lent else fresh
        config["init_from"] = str(init_from)
        if rank == 0 and fresh:
            print(f"init-from {init_from}: {len(fresh)} tensors start fresh ({', '.join(fresh[:4])})")
    ddp = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ddp = DistributedDataParallel(model)
    train_set, val_set = data.train(), data.validation()
    tokens = torch.from_numpy(train_set.tokens)
    styles = torch.from_numpy(train_set.style)
    chords = torch.from_numpy(train_set.chords.astype(np.int64)) if mc.chord_dim else None
    # a latent-seq model trains on cached chunk latents rather than on tokens
    source = model.batch_source(data_dir, train_set, tc) if hasattr(model, "batch_source") else None
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "metrics.jsonl"
    if resume and rank == 0:
        trim_log(log_path, step)
    last: dict = {}
    t_last, seqs = time.time(), 0
    bar = tqdm(total=tc.max_steps, initial=step, desc=f"train {preset}", disable=not progress or rank != 0)

    def checkpoint():
        if rank == 0:
            save_training_checkpoint(out_dir, model, config, opt,
                                     {"step": step, "wall_s": wall, "world": world, "metrics": last},
                                     rng_state(gen))

    while step < tc.max_steps:
        # eval
        if rank == 0 and step > 0 and step % tc.eval_every == 0:
            last = {"step": step, **estimate_metrics(model, val_set, tc.val_batches, tc.batch_size, tc.bf16)}
            with open(log_path, "a") as fh:
                fh.write(json.dumps({**last, "kind": "eval"}) + "\n")
        # checkpoint
        if step > 0 and step % tc.checkpoint_every == 0:
            checkpoint()
        # step
        t0 = time.time()
        for group in opt.param_groups:
            group["lr"] = get_lr(step, tc)
        kw = {}
        if source is not None:
            x, s = source.draw(tc.batch_size, gen, tc.augment_semitones, tc.style_dropout)
        elif chords is not None:
            x, s, kw["chords"], enc = random_chord_batch(tokens, styles, chords, tc.batch_size, gen,
                                                         tc.augment_semitones, tc.style_dropout, tc.chord_dropout,
                                                         tc.free_key, tc.chord_share, tc.free_key_share,
                                                         tc.free_key_cells)
            if tc.free_key:
                kw["enc_tokens"] = enc
        else:
            x, s = random_batch(tokens, styles, tc.batch_size, gen, tc.augment_semitones, tc.style_dropout,
                                tc.layer_mix)
        with autocast(tc.bf16):
            parts = ddp(x, s, beta=get_beta(step, tc), free_bits=tc.free_bits, p_teacher=get_teacher_prob(step, tc),
                        **kw)
        opt.zero_grad(set_to_none=True)
        parts["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        opt.step()
        step += 1
        wall += time.time() - t0
        seqs += len(x)
        bar.update(1)
        # log
        if rank == 0 and (step % tc.log_every == 0 or step == tc.max_steps):
            now = time.time()
            row = {"kind": "train", "step": step, **{k: round(float(v.detach()), 5) for k, v in parts.items()},
                   "lr": get_lr(step, tc), "p_teacher": round(get_teacher_prob(step, tc), 4),
                   "seq_per_s": round(seqs / max(now - t_last, 1e-9), 1), "wall_s": round(wall, 1)}
            t_last, seqs = now, 0
            with open(log_path, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            bar.set_postfix(loss=f"{row['loss']:.2f}", acc=f"{row['accuracy']:.3f}", kl=f"{row['kl_bits']:.1f}")
            last = {**last, **row}
    bar.close()
    if source is not None:
        source.finish(model)      # fit the latent-seq model's prior to its training phrases
    if rank == 0:
        last = {**last, "step": step, **estimate_metrics(model, val_set, tc.val_batches, tc.batch_size, tc.bf16)}
        with open(log_path, "a") as fh:
            fh.write(json.dumps({**last, "kind": "eval"}) + "\n")
    checkpoint()
    if world > 1:
        import torch.distributed as dist

        (out_dir / f"rank{rank}.json").write_text(json.dumps({"checksum": weights_checksum(model), "step": step}))
        dist.barrier()
        dist.destroy_process_group()
    return last
