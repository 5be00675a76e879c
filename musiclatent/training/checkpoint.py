"""Checkpoints: safetensors weights + JSON config and state. Never pickle.

A training checkpoint is a folder::

    RUN/checkpoint/
        config.json          model + train config (rebuilds the model alone)
        model.safetensors    weights
        optimizer.safetensors  Adam moments and RNG states (training only)
        state.json           step, schedules, optimizer param groups

It is written to ``checkpoint.tmp`` and swapped in with renames, so a kill at
any moment leaves either the old or the new checkpoint whole: if the kill falls
between the two renames, ``checkpoint.old`` is still complete and is loaded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from musiclatent.config import DECODERS, ModelConfig
from musiclatent.training.packing import from_packed, packed_shapes

CKPT, CKPT_TMP, CKPT_OLD = "checkpoint", "checkpoint.tmp", "checkpoint.old"


class CheckpointError(ValueError):
    """A checkpoint is missing, unsafe or does not match its config."""


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _write_json(path: Path, obj: dict) -> None:
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict | None = None) -> None:
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(path), metadata=metadata)
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def optimizer_to_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Flatten an optimizer state dict into named tensors + JSON param groups."""
    sd = opt.state_dict()
    tensors = {}
    for pid, st in sd["state"].items():
        for name, val in st.items():
            tensors[f"{pid}.{name}"] = val if torch.is_tensor(val) else torch.tensor(val)
    return tensors, sd["param_groups"]


def optimizer_from_tensors(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict]) -> None:
    state: dict[int, dict] = {}
    for key, val in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = val
    opt.load_state_dict({"state": state, "param_groups": groups})


def save_training_checkpoint(run_dir: str | Path, model: torch.nn.Module, config: dict,
                             optimizer: torch.optim.Optimizer, state: dict, rng: dict[str, torch.Tensor]) -> Path:
    """Write a complete checkpoint atomically (temporary folder, then rename)."""
    run_dir = Path(run_dir)
    tmp, final, old = run_dir / CKPT_TMP, run_dir / CKPT, run_dir / CKPT_OLD
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _write_tensors(tmp / "model.safetensors", model.state_dict())
    opt_t, groups = optimizer_to_tensors(optimizer)
    _write_tensors(tmp / "optimizer.safetensors", {**{f"opt.{k}": v for k, v in opt_t.items()},
                                                    **{f"rng.{k}": v for k, v in rng.items()}})
    _write_json(tmp / "config.json", config)
    _write_json(tmp / "state.json", {**state, "param_groups": groups})
    _fsync_dir(tmp)
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(tmp, final)
    _fsync_dir(run_dir)
    shutil.rmtree(old, ignore_errors=True)
    return final


def find_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None."""
    run_dir = Path(run_dir)
    for name in (CKPT, CKPT_OLD):
        d = run_dir / name
        if (d / "state.json").exists() and (d / "model.safetensors").exists() and (d / "config.json").exists():
            return d
    return None


def _refuse_pickle(path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as err:
        raise CheckpointError(f"cannot read {path}: {err}") from None
    if head[8:9] == b"{":   # safetensors: an 8-byte header length (any first byte), then the JSON header
        return
    if head[:2] == b"\x80\x02" or head[:1] == b"\x80" or head[:2] == b"PK":
        raise CheckpointError(f"{path} is a pickle/zip file, not safetensors; refusing to load it")


def load_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """Load safetensors; anything else (a pickle, say) is refused without running it."""
    path = Path(path)
    _refuse_pickle(path)
    try:
        return from_packed(load_file(str(path)))     # int8 matrices and packed triangles unpacked
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a valid safetensors file ({err})") from None


def tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape of the tensors in a safetensors file, read from its header alone."""
    path = Path(path)
    _refuse_pickle(path)
    try:
        with safe_open(str(path), framework="pt") as fh:
            return packed_shapes({k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()})
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a valid safetensors file ({err})") from None


def read_config(folder: str | Path) -> dict:
    path = Path(folder) / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read {path}: {err}") from None


def _mismatch(expected: dict, found: dict) -> str | None:
    """Why weights with shapes ``found`` cannot fill a model with ``expected`` (None if they can)."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = [f"{k}: file {tuple(found[k])} vs config {tuple(v)}"
             for k, v in expected.items() if k in found and tuple(found[k]) != tuple(v)]
    parts = []
    if missing:
        parts.append(f"missing {missing[:3]}")
    if extra:
        parts.append(f"unexpected {extra[:3]}")
    if wrong:
        parts.append("shape mismatch " + "; ".join(wrong[:3]))
    return "checkpoint does not match its config: " + ", ".join(parts) if parts else None


def build_checked(build, config, weights: str | Path) -> torch.nn.Module:
    """``build(config)``, but only once a weightless (meta-device) copy shows that the weights file
    fits it, so a tampered config cannot make us allocate a huge model before failing."""
    with torch.device("meta"):
        shell = build(config)
    _check_fits(shell, tensor_shapes(weights))
    return build(config)


def _check_fits(shell: torch.nn.Module, shapes: dict[str, tuple[int, ...]]) -> None:
    problem = _mismatch({k: v.shape for k, v in shell.state_dict().items()}, shapes)
    if problem:
        raise CheckpointError(problem)


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def lent_weights(shell: torch.nn.Module, config: dict, weights: Path) -> dict[str, torch.Tensor]:
    """The weights a model folder leaves to another folder (a latent-sequence model's frozen base),
    read from there once its file is shown to be the one the model was trained over."""
    held = tensor_shapes(weights)
    out: dict[str, torch.Tensor] = {}
    for prefix, path in getattr(shell, "lent_weights", dict)().items():       # prefix -> weights file
        if any(k.startswith(prefix) for k in held):
            continue
        want = (config.get("lent") or {}).get(prefix, {}).get("sha256")
        if want is None:
            raise CheckpointError(f"{weights} holds no {prefix}* weights and config.json does not say where they are")
        if not Path(path).is_file() or file_digest(path) != want:
            raise CheckpointError(f"{weights} reads its {prefix}* weights from {path}, which is missing or has changed "
                                  "since this model was trained over it; retrain it over the new one")
        out.update({prefix + k: v for k, v in load_tensors(path).items()})
    return out


def load_model(build, config: dict, folder: str | Path) -> torch.nn.Module:
    """Build and fill the model of a checkpoint or model folder (its config already read); the
    weights, with any read from another folder, are checked against a weightless copy first."""
    weights = Path(folder) / "model.safetensors"
    mc = model_config_from(config)
    with torch.device("meta"):
        shell = build(mc)
    lent = lent_weights(shell, config, weights)
    _check_fits(shell, {**tensor_shapes(weights), **{k: tuple(v.shape) for k, v in lent.items()}})
    model = build(mc)
    load_model_weights(model, {**load_tensors(weights), **lent})
    return model


def load_model_weights(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Copy weights into ``model``; a mismatch with its config is a clear error."""
    expected = model.state_dict()
    problem = _mismatch({k: v.shape for k, v in expected.items()}, {k: v.shape for k, v in tensors.items()})
    if problem:
        raise CheckpointError(problem)
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})


def warm_start_weights(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> list[str]:
    """Copy the tensors whose name and shape match ``model``; returns the names left as initialised.

    Used by ``train --init-from`` to fine-tune a trained model, e.g. on a user's own
    styles or with chords.
    A tensor that grew (more styles, or a layer with a new input such as the chord embedding)
    gets the old values in its leading block: new input columns start at zero, so the grown
    model computes what the old one did until training moves them; new rows (styles) keep
    their fresh initialisation.
    """
    expected = model.state_dict()
    same = {k: v.to(expected[k].dtype) for k, v in tensors.items()
            if k in expected and v.shape == expected[k].shape}
    if not same:
        raise CheckpointError("--init-from: no weight matches this model's shape; use the same preset")
    for k, v in tensors.items():
        if k in expected and k not in same and _grows_into(v.shape, expected[k].shape):
            grown = expected[k].clone()
            if grown.ndim == 2 and grown.shape[1] > v.shape[1]:
                grown[:, v.shape[1]:] = 0.0
            grown[tuple(slice(0, n) for n in v.shape)] = v.to(grown.dtype)
            same[k] = grown
    model.load_state_dict(same, strict=False)
    return sorted(set(expected) - set(same))


def _grows_into(old: torch.Size, new: torch.Size) -> bool:
    return len(old) == len(new) and all(a <= b for a, b in zip(old, new)) and tuple(old) != tuple(new)


MAX_CONFIG_SIZE = 1 << 14  # no real model has a width, layer count or bar count near this


def _config_problem(mc: ModelConfig) -> str | None:
    """Why a model config read from a file cannot build a model (None if it can)."""
    for f in dataclasses.fields(mc):
        value, lowest = getattr(mc, f.name), 0 if f.name in ("pos_dim", "interval_range", "chord_dim") else 1
        if isinstance(f.default, bool):
            if type(value) is not bool:
                return f"{f.name} must be true or false, not {value!r}"
            continue
        if isinstance(f.default, int) and not (type(value) is int and lowest <= value <= MAX_CONFIG_SIZE):
            return f"{f.name} must be an integer in [{lowest}, {MAX_CONFIG_SIZE}], not {value!r}"
    if type(mc.dropout) not in (int, float) or not 0.0 <= mc.dropout < 1.0:
        return f"dropout must be a number in [0, 1), not {mc.dropout!r}"
    if mc.decoder not in DECODERS:
        return f"decoder must be one of {', '.join(DECODERS)}, not {mc.decoder!r}"
    if not isinstance(mc.base_model, str) or len(mc.base_model) > 1000:
        return f"base_model must be a name or a path, not {mc.base_model!r}"
    if not mc.styles or not all(isinstance(s, str) for s in mc.styles):
        return f"styles must be a list of names, not {mc.styles!r}"
    return None


def model_config_from(config: dict) -> ModelConfig:
    """The model config of a checkpoint, checked before anything is built from it."""
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError("bad model config: config.json has no 'model' object")
    try:
        mc = ModelConfig.from_dict(config["model"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"bad model config: {err}") from None
    problem = _config_problem(mc)
    if problem:
        raise CheckpointError(f"bad model config: {problem}")
    return mc
