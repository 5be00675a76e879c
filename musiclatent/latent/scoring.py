"""Typicality scores of phrases under a model's scorer, in batches, and whose scores they are.

A model folder may ship a ``scorer/`` (a density-trained twin, see
:mod:`musiclatent.latent.index`); :func:`scoring_model` picks it, and
:func:`model_fingerprint` names the weights that made an index's scores, and
:func:`known_scores` takes an earlier index's scores when they were made by the same scorer.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from musiclatent.constants import STYLE_ANY
from musiclatent.latent.typicality import local_scores, near_variants

__all__ = ["SCORE_BATCH", "model_fingerprint", "scoring_model", "check_scores_comparable", "batched_scores",
           "batched_local_scores", "known_scores", "score_rows"]

SCORE_BATCH = 256


def model_fingerprint(ml) -> str:
    """First 16 hex digits of the SHA-256 of the model's weights file ("" when unknown); cached per
    model object and file modification time."""
    folder = getattr(ml, "folder", None)
    weights = Path(folder) / "model.safetensors" if folder else None
    if weights is None or not weights.exists():
        return ""
    key = (str(weights), weights.stat().st_mtime_ns)
    cache = ml.__dict__.setdefault("_fingerprint", {}) if hasattr(ml, "__dict__") else {}
    if key not in cache:
        cache.clear()
        cache[key] = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    return cache[key]


def scoring_model(ml):
    """The model that typicality scores come from: ``ml.scorer`` (a density-trained model when the
    model folder ships one), else ``ml`` itself."""
    return getattr(ml, "scorer", ml)


def check_scores_comparable(ml, index) -> None:
    """Raise ValueError when the reference scores of ``index`` (a LatentIndex) were made by another
    scoring model."""
    want = index.meta.get("score_model_fingerprint", index.meta.get("model_fingerprint", ""))
    have = model_fingerprint(scoring_model(ml))
    if want and have and want != have:
        raise ValueError("the index's reference scores were computed by another scoring model than this "
                         "model's; rebuild it with `musiclatent index DATASET_OR_FOLDER --model MODEL --out "
                         "MODEL/index`")


def _rows(chords, i: int, j: int):
    return None if chords is None else np.asarray(chords)[i:j]


def batched_scores(ml, tokens: np.ndarray, styles, batch: int = SCORE_BATCH, chords=None) -> np.ndarray:
    """Negative ELBO per step in batches: (n, T), style or (n,) styles -> (n,) float32; over the
    phrases' ``chords`` (n, K) when given (a model that hears chords uses them, others ignore them)."""
    tokens = np.asarray(tokens, np.int64)
    per_row = isinstance(styles, (list, tuple, np.ndarray))
    out = [ml.score(tokens[i:i + batch], list(styles[i:i + batch]) if per_row else styles,
                    chords=_rows(chords, i, i + batch))
           for i in range(0, len(tokens), batch)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def batched_local_scores(ml, tokens: np.ndarray, styles, scores: np.ndarray, batch: int = SCORE_BATCH,
                         chords=None) -> np.ndarray:
    """Local scores (:func:`local_scores`) of phrases (n, T) with these ``scores`` under a style or
    (n,) ``styles``: the phrases' near variants are scored the same way, over the same ``chords``
    (n, K) if given; (n,) float32."""
    per_row = isinstance(styles, (list, tuple, np.ndarray))
    out = []
    for i in range(0, len(tokens), batch):
        style = list(styles[i:i + batch]) if per_row else styles
        variants = near_variants(np.asarray(tokens[i:i + batch]), n_classes=ml.cfg.n_classes)
        c = _rows(chords, i, i + batch)
        out.append(local_scores(scores[i:i + batch], np.stack([batched_scores(ml, v, style, chords=c)
                                                               for v in variants])))
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def known_scores(old, corpus, scorer) -> np.ndarray:
    """Scores (n, 4) -- any, style, local any, local style -- of corpus phrases that ``old`` already
    holds, scored by the same scorer (same file, bar and tokens); NaN rows are still to score."""
    out = np.full((len(corpus), 4), np.nan, np.float32)
    if old is None or old.meta.get("score_model_fingerprint") != model_fingerprint(scorer):
        return out
    rows = {(str(f), int(b)): i for i, (f, b) in enumerate(zip(old.file, old.bar))}
    for i, (f, b) in enumerate(zip(corpus.file, corpus.bar)):
        j = rows.get((str(f), int(b)))
        if j is not None and np.array_equal(old.tokens[j].astype(np.int64), corpus.tokens[i].astype(np.int64)):
            out[i] = (old.score_any[j], old.score_style[j], old.local_any[j], old.local_style[j])
    return out


def score_rows(scorer, t: np.ndarray, styles: np.ndarray, known: np.ndarray, chords) -> np.ndarray:
    """Scores (m, 4) of phrases (m, T): under "any", and under their own style where the model knows it."""
    out = np.full((len(t), 4), np.nan, np.float32)
    out[:, 0] = scorer.score(t, STYLE_ANY, chords=chords)
    out[:, 2] = batched_local_scores(scorer, t, STYLE_ANY, out[:, 0], chords=chords)
    if known.any():          # phrases of a style the model knows: scored under it
        cm = None if chords is None else chords[known]
        out[known, 1] = scorer.score(t[known], list(styles[known]), chords=cm)
        out[known, 3] = batched_local_scores(scorer, t[known], list(styles[known]), out[known, 1], chords=cm)
    return out
