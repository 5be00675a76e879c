"""Turn a training run into a shippable model folder.

The folder holds ``model.safetensors`` (fp16), ``config.json``,
``extras.safetensors`` (attribute vectors and per-style mean latents computed
from the training split) and ``README.md`` (the model card).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from .attributes import attribute_vectors, compute_attributes
from .checkpoint import find_checkpoint, read_config
from .data.dataset import load_dataset
from .generate import MusicLatent


def encode_all(ml: MusicLatent, tokens: np.ndarray, styles: np.ndarray, batch: int = 512) -> np.ndarray:
    """Latent means of many phrases, in batches: (n, T), (n,) -> (n, Z)."""
    out = [ml.encode(tokens[i:i + batch].astype(np.int64), styles[i:i + batch].tolist())
           for i in range(0, len(tokens), batch)]
    return np.concatenate(out) if out else np.zeros((0, ml.z_dim), np.float32)


def compute_extras(ml: MusicLatent, data_dir: str | Path, max_phrases: int = 20000, seed: int = 0) -> dict[str, np.ndarray]:
    """Attribute vectors and style means from (a sample of) the training split."""
    train = load_dataset(data_dir).train()
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.permutation(len(train))[:max_phrases])
    toks, styles = train.tokens[idx], train.style[idx]
    z = encode_all(ml, toks, styles)
    extras = {f"attr.{k}": v for k, v in attribute_vectors(z, compute_attributes(toks)).items()}
    for sid, name in enumerate(ml.styles):
        if sid == 0:
            continue
        mask = styles == sid
        if mask.any():
            extras[f"style_mean.{name}"] = z[mask].mean(0).astype(np.float32)
    return extras


def export_model(run_dir: str | Path, data_dir: str | Path, out_dir: str | Path, card: str = "") -> Path:
    """Write a shippable model folder from a run's latest checkpoint."""
    ckpt = find_checkpoint(run_dir)
    if ckpt is None:
        raise FileNotFoundError(f"no checkpoint in {run_dir}")
    ml = MusicLatent.from_checkpoint(ckpt)
    extras = compute_extras(ml, data_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = read_config(ckpt)
    state = json.loads((ckpt / "state.json").read_text())
    config["trained"] = {"step": state["step"], "wall_s": state.get("wall_s"), "metrics": state.get("metrics", {})}
    weights = {k: v.half().contiguous() for k, v in ml.model.state_dict().items()}
    tmp = out_dir / "model.safetensors.tmp"
    save_file(weights, str(tmp))
    os.replace(tmp, out_dir / "model.safetensors")
    save_file({k: torch.from_numpy(v).half() for k, v in extras.items()}, str(out_dir / "extras.safetensors"))
    (out_dir / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    if card:
        (out_dir / "README.md").write_text(card)
    return out_dir
