"""Reconstruction: encode real phrases, decode them back, and count what came back.

:func:`reconstruction_outputs` encodes as the model's ``encode`` does (the encoder's mean, refined
when the model folder says so, :mod:`musiclatent.models.refine`) and decodes teacher-forced and fed
with its own argmax outputs; :func:`reconstruction_section` turns that into the evaluation's keys.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from musiclatent.evaluation import metrics
from musiclatent.models.refine import RefineSettings, refine_latents


def _chunks(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(i + size, n))


@torch.no_grad()
def reconstruction_outputs(model, tokens: np.ndarray, styles: np.ndarray, batch: int,
                           chords: np.ndarray | None = None, chord_strength: float = 1.0,
                           refine: RefineSettings | None = None) -> dict[str, np.ndarray]:
    """Encode with mu (refined as ``refine`` says, as the model's ``encode`` does), then decode
    teacher-forced and fed with own argmax outputs.

    Parameters
    ----------
    model : MusicVAE (or anything with ``encode``, ``logits`` and ``sample`` like it)
    tokens : np.ndarray, shape (n, T), int ; styles : np.ndarray, shape (n,), model style ids
    chords : np.ndarray, shape (n, K), optional: the phrases' chords, for a chord model
    chord_strength : the chord-tone head's strength in the sampled decode (teacher-forced: as trained)

    Returns
    -------
    dict: ``teacher_forced`` (n, T) and ``sampled`` (n, T) predicted tokens,
    ``nll`` (n,) nats per step (at the encoder's mean), ``kl`` (n,) nats, ``mu`` (n, Z); with
    refinement also ``sampled_encoder`` and ``teacher_forced_encoder`` (n, T), decoded from the
    encoder's means as they are.
    """
    refine = refine or RefineSettings()
    keys = ["teacher_forced", "sampled", "nll", "kl", "mu"] + (
        ["sampled_encoder", "teacher_forced_encoder"] if refine.steps else [])
    parts: dict[str, list] = {k: [] for k in keys}
    for s in _chunks(len(tokens), batch):
        x = torch.as_tensor(np.asarray(tokens[s], np.int64))
        st = torch.as_tensor(np.asarray(styles[s], np.int64))
        kw = {"chords": torch.as_tensor(np.asarray(chords[s], np.int64))} if chords is not None else {}
        mu, logvar = model.encode(x, st)
        logits = model.logits(mu, st, x, **kw).float()
        ce = F.cross_entropy(logits.transpose(1, 2), x, reduction="none")
        strength = {"chord_strength": chord_strength} if kw else {}   # as the app decodes
        if refine.steps:
            parts["teacher_forced_encoder"].append(logits.argmax(-1).numpy())
            parts["sampled_encoder"].append(model.sample(mu, st, temperature=0.0, **kw, **strength).numpy())
            z = refine_latents(model, x, st, mu, refine, kw.get("chords"), chord_strength)
            parts["teacher_forced"].append(model.logits(z, st, x, **kw).float().argmax(-1).numpy())
            parts["sampled"].append(model.sample(z, st, temperature=0.0, **kw, **strength).numpy())
        else:
            parts["teacher_forced"].append(logits.argmax(-1).numpy())
            parts["sampled"].append(model.sample(mu, st, temperature=0.0, **kw, **strength).numpy())
        parts["nll"].append(ce.mean(1).numpy())
        parts["kl"].append((0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)).numpy())
        parts["mu"].append(mu.numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def _overall_and_per_style(pred, target, styles, names, notes_only=False) -> dict:
    correct, counted = metrics.row_correct(pred, target, notes_only)
    overall = float(correct.sum() / counted.sum()) if counted.sum() else float("nan")
    return {"overall": overall, "per_style": metrics.pooled_by_group(correct, counted, styles, names)}


def encoder_only(out: dict, tokens: np.ndarray, styles: np.ndarray, names: dict, refine: RefineSettings) -> dict:
    """With refinement, the same figures from the encoder's means as they are, and the settings."""
    if "sampled_encoder" not in out:
        return {}
    return {"refine": refine.to_dict(),
            "recon_accuracy_sampled_encoder_only": _overall_and_per_style(out["sampled_encoder"], tokens, styles, names),
            "recon_accuracy_teacher_forced_encoder_only": _overall_and_per_style(out["teacher_forced_encoder"], tokens,
                                                                                 styles, names)}


def reconstruction_section(model, tokens: np.ndarray, styles: np.ndarray, style_names: list[str],
                           batch: int, chords: np.ndarray | None = None, chord_strength: float = 1.0,
                           refine: RefineSettings | None = None) -> dict:
    """The reconstruction keys of the result; tokens (n, T), styles (n,) model ids, chords (n, K) for
    a chord model (None: no chord) decoded at ``chord_strength``, encodings refined by ``refine``."""
    out = reconstruction_outputs(model, tokens, styles, batch, chords, chord_strength, refine)
    names = {i: n for i, n in enumerate(style_names) if (styles == i).any()}
    return {
        "recon_accuracy_teacher_forced": _overall_and_per_style(out["teacher_forced"], tokens, styles, names),
        "recon_accuracy_sampled": _overall_and_per_style(out["sampled"], tokens, styles, names),
        "recon_accuracy_sampled_notes": _overall_and_per_style(out["sampled"], tokens, styles, names, True),
        "nll_per_step": float(out["nll"].mean()),
        "kl_bits": float(out["kl"].mean() / np.log(2.0)),
        "active_dims": metrics.active_dims(out["mu"]),
        **encoder_only(out, tokens, styles, names, refine or RefineSettings()),
    }
