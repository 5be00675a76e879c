"""A second style judge of another kind: softmax regression on hand-made features.

The shipped style classifier is a CNN over tokens; a generator tuned against it
could learn to fool it. This one sees only musical summaries a listener could
name (which pitch classes, which intervals, which note lengths, where in the
bar notes start, how busy, how high and how wide), so agreeing with both is
harder to fake. It trains on a training split in seconds and is never shipped:
``musiclatent evaluate`` fits it on the training split of ``--data``.

Everything is numpy over token arrays (n, T) in the 130-class convention,
except the fit, which uses torch's L-BFGS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from musiclatent.constants import NOTE_ON_OFFSET, REST, STEPS_PER_BAR, STEPS_PER_QUARTER

NOTE_LENGTHS = (1, 2, 3, 4, 6, 8, 12, 16)   # steps; longer notes fall in the last class
MAX_INTERVAL = 12                            # interval classes -12..12 plus one each side for larger leaps
# Krumhansl-Kessler key profiles (major, minor), for the key-relative pitch-class histogram
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _row_hist(rows: np.ndarray, values: np.ndarray, weights: np.ndarray, n_rows: int, n_bins: int) -> np.ndarray:
    """Weighted histogram per row: (m,) row ids, (m,) bins, (m,) weights -> (n_rows, n_bins)."""
    flat = np.bincount(rows * n_bins + values, weights, n_rows * n_bins)
    return flat.reshape(n_rows, n_bins)


def _normalise(h: np.ndarray) -> np.ndarray:
    return h / np.maximum(h.sum(1, keepdims=True), 1e-9)


def style_features(tokens: np.ndarray) -> np.ndarray:
    """Hand-made features of each phrase; (n, T) int -> (n, F) float64.

    Shares of notes per pitch class (absolute and relative to the estimated
    key, duration-weighted), per melodic interval (-12..12, larger leaps
    pooled each side), per note length and per onset position in the bar (16
    steps); then note density, silent share, off-beat share, pitch range,
    register (mean, lowest, highest, spread), distinct pitches, mean absolute
    interval, step share, repeated-note share and mode (major-minor
    correlation). A phrase without notes has zeros for its note features.
    """
    tok = np.atleast_2d(np.asarray(tokens, np.int64))
    n, t = tok.shape
    onset = tok >= NOTE_ON_OFFSET
    event = tok > 0
    steps = np.arange(t)
    # next event (onset or rest) after each step: a note lasts until then
    nxt = np.where(event, steps[None], t)
    nxt = np.minimum.accumulate(nxt[:, ::-1], axis=1)[:, ::-1]
    nxt = np.concatenate([nxt[:, 1:], np.full((n, 1), t)], 1)
    # most recent event at or before each step: sounding while it is an onset
    last = np.maximum.accumulate(np.where(event, steps[None], -1), axis=1)
    last_tok = np.take_along_axis(tok, np.maximum(last, 0), 1)
    sounding = (last >= 0) & (last_tok >= NOTE_ON_OFFSET)

    rows, cols = np.nonzero(onset)
    pitch = tok[rows, cols] - NOTE_ON_OFFSET
    dur = nxt[rows, cols] - cols
    count = onset.sum(1).astype(np.float64)
    ones = np.ones(len(rows))
    pc = _normalise(_row_hist(rows, pitch % 12, dur.astype(np.float64), n, 12))
    keyed = np.zeros_like(pc)
    mode = np.zeros(n)
    if len(rows):
        profiles = np.stack([np.roll(_MAJOR, k) for k in range(12)] + [np.roll(_MINOR, k) for k in range(12)])
        prof = (profiles - profiles.mean(1, keepdims=True)) / profiles.std(1, keepdims=True)
        centred = pc - pc.mean(1, keepdims=True)
        corr = centred @ prof.T / (np.linalg.norm(centred, axis=1, keepdims=True) * np.sqrt(12) + 1e-9)
        tonic = corr.argmax(1) % 12
        keyed = np.take_along_axis(pc, (np.arange(12)[None] + tonic[:, None]) % 12, 1)
        mode = corr[:, :12].max(1) - corr[:, 12:].max(1)
    length_class = np.searchsorted(np.asarray(NOTE_LENGTHS), dur, side="right") - 1
    lengths = _normalise(_row_hist(rows, np.clip(length_class, 0, len(NOTE_LENGTHS) - 1), ones, n, len(NOTE_LENGTHS)))
    position = _normalise(_row_hist(rows, cols % STEPS_PER_BAR, ones, n, STEPS_PER_BAR))
    # intervals between consecutive onsets of a row
    same_row = np.zeros(len(rows), bool)
    same_row[1:] = rows[1:] == rows[:-1]
    iv = np.diff(pitch, prepend=0)[same_row]
    iv_rows = rows[same_row]
    iv_class = np.clip(iv, -MAX_INTERVAL - 1, MAX_INTERVAL + 1) + MAX_INTERVAL + 1
    n_iv = np.bincount(iv_rows, minlength=n).astype(np.float64)
    intervals = _normalise(_row_hist(iv_rows, iv_class, np.ones(len(iv)), n, 2 * MAX_INTERVAL + 3))

    def per_row(values: np.ndarray, ids: np.ndarray, how) -> np.ndarray:
        out = np.zeros(n)
        if len(ids):
            order = np.argsort(ids, kind="stable")
            uniq, start = np.unique(ids[order], return_index=True)
            out[uniq] = how.reduceat(values[order].astype(np.float64), start)
        return out

    has = count > 0
    hi = np.where(has, per_row(pitch, rows, np.maximum), 0.0)
    lo = np.where(has, -per_row(-pitch, rows, np.maximum), 0.0)
    mean_p = per_row(pitch, rows, np.add) / np.maximum(count, 1)
    sq = per_row(pitch.astype(np.float64) ** 2, rows, np.add) / np.maximum(count, 1)
    distinct = (_row_hist(rows, pitch, ones, n, 128) > 0).sum(1).astype(np.float64)
    abs_iv = per_row(np.abs(iv), iv_rows, np.add) / np.maximum(n_iv, 1)
    step_share = per_row((np.abs(iv) <= 2) & (iv != 0), iv_rows, np.add) / np.maximum(n_iv, 1)
    repeat_share = per_row(iv == 0, iv_rows, np.add) / np.maximum(n_iv, 1)
    off_beat = per_row(cols % STEPS_PER_QUARTER != 0, rows, np.add) / np.maximum(count, 1)
    scalars = np.stack([
        count / t * STEPS_PER_QUARTER,                 # onsets per quarter note
        1.0 - sounding.mean(1),                        # silent share
        (tok == REST).sum(1) / np.maximum(count, 1),   # rests per note
        off_beat, (hi - lo) / 12.0, mean_p / 12.0, lo / 12.0, hi / 12.0,
        np.sqrt(np.maximum(sq - mean_p ** 2, 0.0)) / 12.0, distinct / 12.0,
        abs_iv / 12.0, step_share, repeat_share, mode,
    ], 1)
    return np.concatenate([pc, keyed, intervals, lengths, position, scalars], 1)


@dataclass
class FeatureClassifier:
    """Softmax regression on standardised :func:`style_features`.

    mean, scale : (F,) ; weight : (C, F) ; bias : (C,) ; styles : class names.
    """

    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    styles: tuple[str, ...]

    def standardise(self, features: np.ndarray) -> np.ndarray:
        """(n, F) raw features -> (n, F) standardised with the training statistics."""
        return (features - self.mean) / self.scale

    def logits(self, tokens: np.ndarray) -> np.ndarray:
        """(n, T) tokens -> (n, C) class scores."""
        return self.standardise(style_features(tokens)) @ self.weight.T + self.bias

    def predict(self, tokens: np.ndarray) -> np.ndarray:
        """(n, T) tokens -> (n,) int64 class index."""
        if not len(tokens):
            return np.zeros(0, np.int64)
        return self.logits(tokens).argmax(1).astype(np.int64)


def train_feature_classifier(tokens: np.ndarray, labels: np.ndarray, styles: tuple[str, ...],
                             l2: float = 1e-3, iterations: int = 200) -> FeatureClassifier:
    """Fit class-balanced softmax regression with an L2 penalty (full-batch L-BFGS).

    Parameters
    ----------
    tokens : np.ndarray, shape (n, T), int
        Real training phrases.
    labels : np.ndarray, shape (n,), int
        Class index into ``styles``.
    styles : tuple of str
    l2 : float
        Weight of the squared-weight penalty on the mean loss.
    iterations : int
        L-BFGS iterations.
    """
    labels = np.asarray(labels, np.int64)
    if len(np.unique(labels)) < 2:
        raise ValueError("a style classifier needs training phrases of at least two styles")
    feats = style_features(tokens)
    mean, scale = feats.mean(0), feats.std(0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    x = torch.from_numpy((feats - mean) / scale).float()
    y = torch.from_numpy(labels)
    counts = np.bincount(labels, minlength=len(styles)).astype(np.float64)
    class_w = torch.from_numpy(np.where(counts > 0, len(labels) / (len(styles) * np.maximum(counts, 1)), 0.0)).float()
    w = torch.zeros(len(styles), x.shape[1], requires_grad=True)
    b = torch.zeros(len(styles), requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x @ w.T + b, y, weight=class_w) + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return FeatureClassifier(mean, scale, w.detach().double().numpy(), b.detach().double().numpy(), tuple(styles))
