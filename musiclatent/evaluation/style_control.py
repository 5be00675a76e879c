"""Style control, measured: does a conditioned sample or a restyled phrase land in the style?

Two judges of different kinds (a generator could learn to fool one): the CNN
style classifier shipped beside a model (:mod:`musiclatent.evaluation.classifier`)
and softmax regression on hand-made features trained on the training split
(:mod:`musiclatent.evaluation.feature_classifier`). For each style:

* ``conditioned``: share of conditioned prior samples each judge calls the
  asked style, and its ratio to the judge's balanced accuracy on held-out real
  phrases (``ratio``; 1 means samples are as recognisable as real music);
* ``diversity``: mean pairwise distance among one style's samples over that
  among its held-out real phrases, in the feature judge's standardised feature
  space (1: as varied as the real thing; near 0: one prototype);
* ``overlap``: MGEval mean overlap area of the style's samples with its real phrases;
* ``restyled``: held-out phrases of other styles restyled to it at strength 1:
  share judged the target style, and what of the source is kept, onset
  agreement (F1 of the onset steps) and contour correlation (Pearson
  correlation of the sounding pitch per step).

The pure measures come first; :func:`style_control` runs them on a model.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from musiclatent.constants import NOTE_ON_OFFSET
from musiclatent.evaluation import metrics
from musiclatent.evaluation.feature_classifier import FeatureClassifier, style_features

Judge = Callable[[np.ndarray], np.ndarray]   # tokens (n, T) -> model style id of each (n,)


# --------------------------------------------------------------------------- pure measures

def onset_agreement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """F1 of the onset steps of b against those of a, per row; (n, T), (n, T) -> (n,).

    1 when both phrases start notes on the same steps (the rhythm is kept),
    whatever the pitches; two phrases without notes agree fully.
    """
    oa, ob = np.asarray(a) >= NOTE_ON_OFFSET, np.asarray(b) >= NOTE_ON_OFFSET
    both = (oa & ob).sum(-1)
    total = oa.sum(-1) + ob.sum(-1)
    return np.where(total > 0, 2.0 * both / np.maximum(total, 1), 1.0)


def sounding_pitch(tokens: np.ndarray) -> np.ndarray:
    """The latest note-on pitch at each step, carried through holds and rests (NaN before the first);
    (n, T) -> (n, T) float."""
    tok = np.atleast_2d(np.asarray(tokens, np.int64))
    on = tok >= NOTE_ON_OFFSET
    idx = np.maximum.accumulate(np.where(on, np.arange(tok.shape[1])[None], -1), axis=1)
    pitch = np.take_along_axis(tok, np.maximum(idx, 0), 1) - NOTE_ON_OFFSET
    return np.where(idx >= 0, pitch, np.nan).astype(np.float64)


def contour_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of the sounding pitch per step of a and b, per row; (n, T), (n, T) -> (n,).

    Counted over steps where both have begun a note; NaN where either line is
    flat there (a correlation needs movement on both sides).
    """
    pa, pb = sounding_pitch(a), sounding_pitch(b)
    ok = ~np.isnan(pa) & ~np.isnan(pb)
    cnt = ok.sum(1)
    out = np.full(len(pa), np.nan)
    for i in np.flatnonzero(cnt > 2):
        x, y = pa[i, ok[i]], pb[i, ok[i]]
        x, y = x - x.mean(), y - y.mean()
        den = np.sqrt((x * x).sum() * (y * y).sum())
        if den > 0:
            out[i] = float((x * y).sum() / den)
    return out


def mean_pairwise_distance(features: np.ndarray, max_pairs: int = 20_000, seed: int = 0) -> float:
    """Mean Euclidean distance between distinct rows of (n, F) features (a random ``max_pairs`` of them)."""
    d = metrics.intra_set_distances(features, max_pairs, np.random.default_rng(seed))
    return float(d.mean()) if len(d) else float("nan")


def diversity_ratio(samples: np.ndarray, real: np.ndarray, judge: FeatureClassifier) -> float:
    """Mean pairwise feature distance among samples over that among real phrases; (n, T), (m, T) -> float."""
    gen = mean_pairwise_distance(judge.standardise(style_features(samples)))
    ref = mean_pairwise_distance(judge.standardise(style_features(real)))
    return gen / ref if ref > 0 else float("nan")


def mean_overlap(real: np.ndarray, samples: np.ndarray, seed: int = 0) -> float:
    """MGEval mean overlap area (over its seven features) of samples with real phrases; (m, T), (n, T) -> float."""
    feats = metrics.realism_metrics(real, samples, max_pairs=20_000, seed=seed)
    return float(np.nanmean([f["overlap_area"] for f in feats.values()]))


def _mean(x) -> float:
    x = np.asarray(x, np.float64)
    x = x[~np.isnan(x)]
    return float(x.mean()) if len(x) else float("nan")


def _stat(per_style: dict[str, float]) -> dict:
    """Mean and minimum over styles (NaNs left out) with the per-style values."""
    vals = np.asarray(list(per_style.values()), np.float64)
    vals = vals[~np.isnan(vals)]
    return {"mean": float(vals.mean()) if len(vals) else float("nan"),
            "min": float(vals.min()) if len(vals) else float("nan"), "per_style": per_style}


# --------------------------------------------------------------------------- on a model

def style_control(ml, judges: dict[str, Judge], feature_judge: FeatureClassifier | None, held: np.ndarray,
                  held_styles: np.ndarray, style_ids: list[int], samples: int, restyle_phrases: int,
                  temperature: float, seed: int, decode_batch: int = 256) -> dict:
    """All style-control figures of one model; JSON-ready.

    Parameters
    ----------
    ml : MusicLatent
    judges : name -> judge (tokens (n, T) -> model style ids (n,))
    feature_judge : the feature classifier, whose feature space diversity is measured in (None: skipped)
    held : np.ndarray, shape (n, T), int ; held_styles : np.ndarray, shape (n,), model style ids
        Held-out real phrases.
    style_ids : the model style ids to measure (each known to every judge)
    samples : conditioned prior samples per style ; restyle_phrases : held-out phrases restyled in all
    """
    rng = np.random.default_rng(seed)
    names = {sid: ml.styles[sid] for sid in style_ids}
    out: dict = {"samples_per_style": int(samples), "temperature": float(temperature),
                 "prior": ml.prior_description(), "judges": {}}
    real_pred = {j: fn(held) for j, fn in judges.items()}
    gen: dict[int, np.ndarray] = {}
    for k, sid in enumerate(style_ids):
        toks = [ml.sample(min(decode_batch, samples - i), style=sid, temperature=temperature, seed=seed + 7919 * k + i)
                for i in range(0, samples, decode_batch)]
        gen[sid] = np.concatenate(toks) if toks else np.zeros((0, ml.steps), np.int64)
    # restyle: held-out phrases to another style, strength 1, one facade call per (source, target) pair
    pick = rng.permutation(len(held))[:restyle_phrases]
    targets = np.asarray([rng.choice([t for t in style_ids if t != held_styles[i]]) for i in pick], np.int64)
    restyled = np.zeros((len(pick), ml.steps), np.int64)
    for src, tgt in sorted(set(zip(held_styles[pick].tolist(), targets.tolist()))):
        rows = np.flatnonzero((held_styles[pick] == src) & (targets == tgt))
        for i in range(0, len(rows), decode_batch):
            r = rows[i:i + decode_batch]
            restyled[r] = ml.restyle(held[pick[r]], int(tgt), 1.0, source_style=int(src))
    for j, fn in judges.items():
        pred = real_pred[j]
        real = {names[s]: float((pred[held_styles == s] == s).mean()) for s in style_ids if (held_styles == s).any()}
        bal = _mean(list(real.values()))
        cond = {names[s]: float((fn(gen[s]) == s).mean()) for s in style_ids}
        rest_ok = fn(restyled) == targets if len(pick) else np.zeros(0, bool)
        rest = {names[s]: float(rest_ok[targets == s].mean()) for s in style_ids if (targets == s).any()}
        out["judges"][j] = {
            "real_balanced_accuracy": bal, "real": real,
            "conditioned": _stat(cond),
            "ratio": _mean(list(cond.values())) / bal if bal > 0 else float("nan"),
            "ratio_per_style": {s: cond[s] / real[s] if real.get(s) else float("nan") for s in cond},
            "restyled": {"accuracy": float(rest_ok.mean()) if len(rest_ok) else float("nan"), "per_style": rest},
        }
    if feature_judge is not None:
        div = {}
        for sid in style_ids:
            ref = held[held_styles == sid]
            ref = ref[rng.permutation(len(ref))[:max(samples, 2)]]
            div[names[sid]] = diversity_ratio(gen[sid], ref, feature_judge) if len(ref) > 1 else float("nan")
        out["diversity"] = _stat(div)
    ov = {}
    for sid in style_ids:
        ref = held[held_styles == sid]
        ref = ref[rng.permutation(len(ref))[:max(samples, 2)]]
        ov[names[sid]] = mean_overlap(ref, gen[sid], seed) if len(ref) > 1 and len(gen[sid]) > 1 else float("nan")
    out["overlap"] = _stat(ov)
    onset, contour = onset_agreement(held[pick], restyled), contour_correlation(held[pick], restyled)
    out["restyle_kept"] = {
        "phrases": int(len(pick)), "strength": 1.0,
        "onset_agreement": _stat({names[s]: _mean(onset[targets == s]) for s in style_ids if (targets == s).any()}),
        "contour_correlation": _stat({names[s]: _mean(contour[targets == s]) for s in style_ids
                                      if (targets == s).any()}),
    }
    out["restyle_kept"]["onset_agreement"]["mean"] = _mean(onset)
    out["restyle_kept"]["contour_correlation"]["mean"] = _mean(contour)
    return out
