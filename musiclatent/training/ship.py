"""Turn a training run into a shippable model folder.

The folder holds ``model.safetensors`` (fp16; ``--int8``: large matrices as int8 with a scale
per row, :mod:`musiclatent.training.packing`), ``config.json``,
``extras.safetensors`` (attribute vectors and per-style mean latents computed
from the training split) and ``README.md`` (the model card). It may also hold
``scorer/``: a density-trained model that typicality is scored with
(``export-model --scorer``). The cards are written by :mod:`musiclatent.training.card`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from musiclatent.generation.attributes import attribute_vectors, compute_attributes
from musiclatent.training.checkpoint import file_digest, find_checkpoint, load_tensors, read_config
from musiclatent.training.card import model_card, scorer_card, weights_line  # noqa: F401  (re-exported)
from musiclatent.training.packing import INT8_MIN, to_packed
from musiclatent.data.dataset import load_dataset
from musiclatent.constants import PRETRAINED_DIR
from musiclatent.generation.facade import MusicLatent
from musiclatent.models.refine import RefineSettings
from musiclatent.models.vae import check_chord_strength
from musiclatent.training.prior_fit import write_model_prior


def encode_all(ml: MusicLatent, tokens: np.ndarray, styles: np.ndarray, batch: int = 512) -> np.ndarray:
    """Latent means of many phrases, in batches: (n, T), (n,) -> (n, Z)."""
    out = [ml.encode(tokens[i:i + batch].astype(np.int64), styles[i:i + batch].tolist(), refine=0)
           for i in range(0, len(tokens), batch)]
    return np.concatenate(out) if out else np.zeros((0, ml.z_dim), np.float32)


def compute_extras(ml: MusicLatent, data_dir: str | Path, max_phrases: int = 20000, seed: int = 0) -> dict[str, np.ndarray]:
    """Attribute vectors and style means from (a sample of) the training split."""
    train = load_dataset(data_dir).train()
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.permutation(len(train))[:max_phrases])
    toks, styles = train.tokens[idx], train.style[idx]
    # unconditioned encodings keep each phrase's style in z: attribute vectors and the
    # per-style means that restyle moves between live in that space
    z = encode_all(ml, toks, np.zeros_like(styles))
    drums = ml.representation.name == "drums"
    if drums:    # drum attributes under the same names, and the velocity profile drum files are written with
        from musiclatent.data.drums import velocity_profile
        from musiclatent.generation.drums import drum_attributes

    attrs = drum_attributes(toks) if drums else compute_attributes(toks)
    extras = {f"attr.{k}": v for k, v in attribute_vectors(z, attrs).items()}
    if drums:
        extras.update(velocity_profile(data_dir))
    for sid, name in enumerate(ml.styles):
        if sid == 0:
            continue
        mask = styles == sid
        if mask.any():
            extras[f"style_mean.{name}"] = z[mask].mean(0).astype(np.float32)
    return extras


def write_extras(ml: MusicLatent, data_dir: str | Path, out_dir: str | Path) -> Path:
    """(Re)compute attribute vectors and style means of a model folder from its data."""
    extras = compute_extras(ml, data_dir)
    path = Path(out_dir) / "extras.safetensors"
    save_file({k: torch.from_numpy(v).half() for k, v in extras.items()}, str(path))
    return path


def lend_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> dict[str, dict]:
    """Drop from ``weights`` (fp16) what the model can read from another folder unchanged (a
    latent-sequence model's frozen base); returns config.json's ``lent`` record of each."""
    lent = {}
    for prefix, path in getattr(model, "lent_weights", dict)().items():
        there = load_tensors(path)
        names = [k for k in weights if k.startswith(prefix)]
        if sorted(k[len(prefix):] for k in names) == sorted(there) and all(
                torch.equal(weights[prefix + k], v.half()) for k, v in there.items()):
            for k in names:
                del weights[k]
            lent[prefix] = {"from": Path(path).parent.name, "sha256": file_digest(path)}
    return lent


def export_model(run_dir: str | Path, data_dir: str | Path, out_dir: str | Path, card: str = "",
                 extras: bool = True, prior: bool = True, chord_strength: float | None = None,
                 int8: bool = False, refine: RefineSettings | None = None) -> Path:
    """Write a shippable model folder from a run's latest checkpoint (``extras``: attribute vectors
    and style means, which a scorer does not need; ``prior``: with them, the style prior that
    sampling and restyle draw z from, :mod:`musiclatent.training.prior_fit`; ``chord_strength``:
    the chord-tone head's default strength, stored as ``config.json``'s ``sampling``; ``int8``:
    large matrices stored as int8 with a scale per row, :mod:`musiclatent.training.packing`; ``refine``:
    how ``encode`` refines the encoder's latents, stored as ``config.json``'s ``encoding``,
    :mod:`musiclatent.models.refine`).

    A frozen base the model reads unchanged from its own folder is not copied (``config.json``'s
    ``lent`` holds its sha256), and lower-triangular factors are stored packed."""
    ckpt = find_checkpoint(run_dir)
    if ckpt is None:
        raise FileNotFoundError(f"no checkpoint in {run_dir}")
    ml = MusicLatent.from_checkpoint(ckpt)
    extra_arrays = compute_extras(ml, data_dir) if extras else {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = read_config(ckpt)
    state = json.loads((ckpt / "state.json").read_text())
    config["trained"] = {"step": state["step"], "wall_s": state.get("wall_s"), "metrics": state.get("metrics", {})}
    if chord_strength is not None:
        if not ml.takes_chords or not ml.cfg.chord_tones:
            raise ValueError("chord_strength is for chord models with a chord-tone head (chord_tones)")
        config["sampling"] = {"chord_strength": check_chord_strength(chord_strength)}
    if refine is not None and refine.steps:
        config["encoding"] = refine.to_dict()
    chain = init_chain(config.get("init_from"))
    if chain:   # a fine-tune: keep the record of the runs it started from
        config["trained"]["init_chain"] = chain
    weights = {k: v.half().contiguous() for k, v in ml.model.state_dict().items()}
    lent = lend_weights(ml.model, weights)
    if lent:
        config["lent"] = lent
    weights = to_packed(weights, int8_min=INT8_MIN if int8 else 0, triangular=getattr(ml.model, "TRIANGULAR", ()))
    tmp = out_dir / "model.safetensors.tmp"
    save_file(weights, str(tmp))
    os.replace(tmp, out_dir / "model.safetensors")
    if extra_arrays:
        save_file({k: torch.from_numpy(v).half() for k, v in extra_arrays.items()}, str(out_dir / "extras.safetensors"))
        if prior:
            write_model_prior(ml, data_dir, out_dir, strict=False)   # where each style's latents live
    (out_dir / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    if card:
        (out_dir / "README.md").write_text(card)
    return out_dir


def init_chain(init_from: str | None, limit: int = 16) -> list[dict]:
    """The runs a fine-tune started from, first run first: [{"from", "step", "wall_s"}, ...].

    Follows each run's ``init_from``; an exported model folder (or a pretrained name) brings the
    chain recorded in its config. Stops at a run trained from scratch or one no longer on disk.
    """
    chain: list[dict] = []
    while init_from and len(chain) < limit:
        ckpt = find_checkpoint(init_from)
        if ckpt is None or not (ckpt / "state.json").is_file():
            folder = Path(init_from) if Path(init_from).is_dir() else PRETRAINED_DIR / str(init_from)
            trained = read_config(folder).get("trained") if (folder / "config.json").is_file() else None
            if trained:
                chain[:0] = list(trained.get("init_chain", [])) + [
                    {"from": str(init_from), "step": trained.get("step", 0), "wall_s": trained.get("wall_s")}]
            break
        state = json.loads((ckpt / "state.json").read_text())
        chain.insert(0, {"from": str(init_from), "step": state["step"], "wall_s": state.get("wall_s")})
        init_from = read_config(ckpt).get("init_from")
    return chain


def scorer_heldout(ml: MusicLatent, data_dir: str | Path, max_phrases: int = 2000, seed: int = 0) -> dict:
    """Mean negative ELBO per step (nats) of validation phrases, overall and per style; a scorer
    that hears chords scores them over their chords."""
    from musiclatent.evaluation.evaluate import model_style_ids
    from musiclatent.latent.scoring import batched_scores

    val = load_dataset(data_dir).validation()
    pick = np.sort(np.random.default_rng(seed).permutation(len(val))[:max_phrases])
    val = val.subset(pick)
    styles = model_style_ids(ml, val)
    elbo = batched_scores(ml, val.tokens.astype(np.int64), styles, 256,
                          chords=val.chords.astype(np.int64) if ml.takes_chords else None)
    per_style = {ml.styles[i]: float(elbo[styles == i].mean()) for i in np.unique(styles)}
    return {"phrases": int(len(val)), "elbo_per_step": float(elbo.mean()), "per_style": per_style}
