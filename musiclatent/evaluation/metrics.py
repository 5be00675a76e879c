"""Pure evaluation metrics over token arrays and latent means (numpy only).

Nothing here loads a model or touches disk; :mod:`musiclatent.evaluate` feeds
these functions. Token arrays use the 130-class convention, shape (n, T).

* Reconstruction: per-phrase token accuracy, optionally on note-on steps only.
* Realism (MGEval-style, Yang & Lerch 2018): seven features per phrase, the
  intra-set and inter-set distance distributions, and the overlap area and KL
  divergence of their Gaussian KDEs. Unlike the original code, both densities
  are evaluated on **one shared grid**, so the overlap area is symmetric.
* Interpolation: monotonicity, largest jump and linearity of the Hamming
  distance to the start phrase along a path; a data-space baseline path.
* Latent use: active dimensions (Cov_x[mu] above a threshold).
"""

from __future__ import annotations

import numpy as np

from musiclatent.generation.attributes import avg_interval, pitch_range
from musiclatent.representations.pianoroll import tokens_to_notes
from musiclatent.representations import MELODY

# Note-length classes in steps (4 per quarter): 16th, 8th, dotted 8th, quarter,
# dotted quarter, half, dotted half, whole, dotted whole, two bars. Triplets do
# not exist on this grid, so MGEval's triplet classes are dropped.
NOTE_LENGTH_CLASSES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
FEATURES = ("pitch_count", "pitch_class_histogram", "pitch_range", "avg_pitch_interval", "note_count",
            "avg_ioi", "note_length_histogram")
KDE_POINTS = 1024
ACTIVE_DIM_THRESHOLD = 0.01


# --------------------------------------------------------------------------- accuracy

def row_correct(pred: np.ndarray, target: np.ndarray, notes_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Correct predictions and counted steps per phrase.

    Parameters
    ----------
    pred, target : np.ndarray, shape (n, T), int
    notes_only : bool
        Count only steps whose target is a note-on (``>= MELODY.pitch_offset``).

    Returns
    -------
    correct, counted : np.ndarray, shape (n,), int64
    """
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred {pred.shape} and target {target.shape} differ in shape")
    mask = target >= MELODY.pitch_offset if notes_only else np.ones(target.shape, bool)
    return ((pred == target) & mask).sum(-1).astype(np.int64), mask.sum(-1).astype(np.int64)


def token_accuracy(pred: np.ndarray, target: np.ndarray, notes_only: bool = False) -> float:
    """Pooled per-step accuracy of (n, T) predictions; NaN when no step counts."""
    correct, counted = row_correct(pred, target, notes_only)
    return float(correct.sum() / counted.sum()) if counted.sum() else float("nan")


def pooled_by_group(correct: np.ndarray, counted: np.ndarray, groups: np.ndarray,
                    names: dict[int, str]) -> dict[str, float]:
    """Pooled ratio sum(correct) / sum(counted) per group.

    correct, counted, groups : (n,) ; names : group id -> label. Groups with
    nothing counted are left out.
    """
    out = {}
    for gid, name in names.items():
        m = groups == gid
        if counted[m].sum():
            out[name] = float(correct[m].sum() / counted[m].sum())
    return out


def balanced_accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``target``; (n,), (n,) -> float."""
    pred, target = np.asarray(pred), np.asarray(target)
    classes = np.unique(target)
    if not len(classes):
        return float("nan")
    return float(np.mean([(pred[target == c] == c).mean() for c in classes]))


# --------------------------------------------------------------------------- MGEval-style features

def _nearest_class(lengths: np.ndarray) -> np.ndarray:
    classes = np.asarray(NOTE_LENGTH_CLASSES)
    return np.abs(lengths[:, None] - classes[None, :]).argmin(1)


def phrase_features(tokens: np.ndarray) -> dict[str, np.ndarray]:
    """MGEval's per-phrase features, in steps and semitones.

    Parameters
    ----------
    tokens : np.ndarray, shape (n, T), int

    Returns
    -------
    dict name -> np.ndarray, float64: ``pitch_count`` (n,) distinct pitches;
    ``pitch_class_histogram`` (n, 12) share of notes per pitch class;
    ``pitch_range`` (n,) semitones; ``avg_pitch_interval`` (n,) mean absolute
    interval; ``note_count`` (n,); ``avg_ioi`` (n,) mean inter-onset interval
    in steps; ``note_length_histogram`` (n, 10) share of notes per class of
    :data:`NOTE_LENGTH_CLASSES` (nearest class). A phrase without notes gets
    zeros everywhere.
    """
    tokens = np.atleast_2d(np.asarray(tokens))
    n = len(tokens)
    pc_count = np.zeros(n)
    pch = np.zeros((n, 12))
    ioi = np.zeros(n)
    nlh = np.zeros((n, len(NOTE_LENGTH_CLASSES)))
    count = np.zeros(n)
    for i, row in enumerate(tokens):
        notes = tokens_to_notes(row)
        if not len(notes):
            continue
        count[i] = len(notes)
        pc_count[i] = len(np.unique(notes[:, 0]))
        pch[i] = np.bincount(notes[:, 0] % 12, minlength=12) / len(notes)
        nlh[i] = np.bincount(_nearest_class(notes[:, 2] - notes[:, 1]), minlength=len(NOTE_LENGTH_CLASSES)) / len(notes)
        if len(notes) > 1:
            ioi[i] = np.diff(notes[:, 1]).mean()
    return {
        "pitch_count": pc_count,
        "pitch_class_histogram": pch,
        "pitch_range": pitch_range(tokens).astype(float) if n else np.zeros(0),
        "avg_pitch_interval": avg_interval(tokens).astype(float) if n else np.zeros(0),
        "note_count": count,
        "avg_ioi": ioi,
        "note_length_histogram": nlh,
    }


def _as_vectors(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x[:, None] if x.ndim == 1 else x


def intra_set_distances(x: np.ndarray, max_pairs: int | None = None, rng=None) -> np.ndarray:
    """Euclidean distances between distinct members of one set.

    x : (n,) or (n, d) features -> (n (n - 1) / 2,) distances (or a random
    ``max_pairs`` of them).
    """
    x = _as_vectors(x)
    i, j = np.triu_indices(len(x), k=1)
    if max_pairs is not None and len(i) > max_pairs:
        pick = (rng or np.random.default_rng(0)).choice(len(i), max_pairs, replace=False)
        i, j = i[pick], j[pick]
    return np.linalg.norm(x[i] - x[j], axis=-1)


def inter_set_distances(x: np.ndarray, y: np.ndarray, max_pairs: int | None = None, rng=None) -> np.ndarray:
    """Euclidean distances between every member of x and every member of y.

    x : (n,) or (n, d) ; y : (m,) or (m, d) -> (n m,) distances (or a random ``max_pairs``).
    """
    x, y = _as_vectors(x), _as_vectors(y)
    i, j = np.meshgrid(np.arange(len(x)), np.arange(len(y)), indexing="ij")
    i, j = i.ravel(), j.ravel()
    if max_pairs is not None and len(i) > max_pairs:
        pick = (rng or np.random.default_rng(0)).choice(len(i), max_pairs, replace=False)
        i, j = i[pick], j[pick]
    return np.linalg.norm(x[i] - y[j], axis=-1)


# --------------------------------------------------------------------------- KDE on one grid

def scott_bandwidth(x: np.ndarray, floor: float) -> float:
    """Scott's rule (scipy's ``gaussian_kde`` default): std * n^(-1/5), at least ``floor``."""
    x = np.asarray(x, np.float64)
    std = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    return max(std * len(x) ** (-0.2), floor)


def shared_grid(*samples: np.ndarray, bandwidths: tuple[float, ...], points: int = KDE_POINTS) -> np.ndarray:
    """One evaluation grid covering every sample plus 4 of the widest bandwidth each side; (points,)."""
    lo = min(float(np.min(s)) for s in samples)
    hi = max(float(np.max(s)) for s in samples)
    pad = 4.0 * max(bandwidths)
    return np.linspace(lo - pad, hi + pad, points)


def kde_on_grid(x: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian KDE of samples x (n,) evaluated on an even grid (G,), normalised to integrate to 1.

    Linear binning onto the grid, then an FFT convolution with the Gaussian
    kernel: exact up to the binning, O(n + G log G).
    """
    x = np.asarray(x, np.float64)
    g = len(grid)
    step = float(grid[1] - grid[0])
    pos = (x - grid[0]) / step
    i = np.clip(np.floor(pos).astype(np.int64), 0, g - 2)
    frac = np.clip(pos - i, 0.0, 1.0)
    weights = np.bincount(i, 1.0 - frac, g) + np.bincount(i + 1, frac, g)
    sigma = bandwidth / step
    half = int(min(np.ceil(5.0 * sigma), g - 1))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / max(sigma, 1e-12)) ** 2)
    size = g + len(kernel) - 1
    dens = np.fft.irfft(np.fft.rfft(weights, size) * np.fft.rfft(kernel, size), size)[half:half + g]
    dens = np.clip(dens, 0.0, None)
    return dens / (dens.sum() * step)


def compare_distributions(p_samples: np.ndarray, q_samples: np.ndarray,
                          points: int = KDE_POINTS) -> dict[str, float]:
    """Overlap area and KL(P || Q) of two Gaussian KDEs evaluated on one shared grid.

    Both KDEs use one bandwidth, the larger of the two Scott's-rule values, so
    a difference in sample count alone does not change the shapes (distances
    of count features are integers, and their KDEs are peaky).

    Parameters
    ----------
    p_samples, q_samples : np.ndarray, shape (n,), (m,), float

    Returns
    -------
    dict with ``overlap_area`` in [0, 1] (integral of min(p, q); symmetric)
    and ``kl`` in nats (q is floored at 1e-12 of its peak, so it stays finite).
    """
    p_samples, q_samples = np.asarray(p_samples, np.float64), np.asarray(q_samples, np.float64)
    if not len(p_samples) or not len(q_samples):
        return {"overlap_area": float("nan"), "kl": float("nan")}
    pooled = np.concatenate([p_samples, q_samples])
    floor = 0.01 * max(float(pooled.max() - pooled.min()), 1.0)
    bw = max(scott_bandwidth(p_samples, floor), scott_bandwidth(q_samples, floor))
    grid = shared_grid(p_samples, q_samples, bandwidths=(bw,), points=points)
    step = float(grid[1] - grid[0])
    p, q = kde_on_grid(p_samples, grid, bw), kde_on_grid(q_samples, grid, bw)
    overlap = float(np.minimum(p, q).sum() * step)
    q_safe = np.maximum(q, 1e-12 * q.max())
    m = p > 0
    kl = float(np.sum(p[m] * np.log(p[m] / q_safe[m])) * step)
    return {"overlap_area": min(max(overlap, 0.0), 1.0), "kl": max(kl, 0.0)}


def realism_metrics(real: np.ndarray, generated: np.ndarray, max_pairs: int = 200_000,
                    seed: int = 0) -> dict[str, dict[str, float]]:
    """MGEval-style relative metrics between real and generated phrases.

    For each feature: ``overlap_area`` / ``kl`` compare the real set's
    intra-set distances with the inter-set distances (the dataset is the
    reference, as in Yang & Lerch); ``overlap_area_generated`` /
    ``kl_generated`` compare the generated set's intra-set distances with the
    same inter-set distances (this one also catches mode collapse).

    real : (n, T) tokens ; generated : (m, T) tokens -> feature -> metrics.
    """
    rng = np.random.default_rng(seed)
    fr, fg = phrase_features(real), phrase_features(generated)
    out = {}
    for name in FEATURES:
        intra_r = intra_set_distances(fr[name], max_pairs, rng)
        intra_g = intra_set_distances(fg[name], max_pairs, rng)
        inter = inter_set_distances(fr[name], fg[name], max_pairs, rng)
        ref, gen = compare_distributions(intra_r, inter), compare_distributions(intra_g, inter)
        out[name] = {"overlap_area": ref["overlap_area"], "kl": ref["kl"],
                     "overlap_area_generated": gen["overlap_area"], "kl_generated": gen["kl"]}
    return out


# --------------------------------------------------------------------------- interpolation

def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of steps that differ; (..., T), (..., T) -> (...) float."""
    return (np.asarray(a) != np.asarray(b)).mean(-1)


def interpolation_metrics(path: np.ndarray, start: np.ndarray) -> dict[str, float]:
    """Smoothness of interpolation paths, after MusicVAE's Hamming-distance analysis.

    Parameters
    ----------
    path : np.ndarray, shape (K + 1, n, T), int
        Point k of n paths, endpoints included (K >= 1).
    start : np.ndarray, shape (n, T), int
        Phrase A each path starts from; d_A(k) is the Hamming distance of point k to it.

    Returns
    -------
    dict with ``monotonicity`` (share of the K n steps where d_A does not
    decrease), ``max_jump`` (the largest step-to-step Hamming distance of a
    path, as a share of T, averaged over paths), ``max_jump_worst`` (its
    maximum over paths) and ``linearity_error`` (mean over k and paths of
    |d_A(k) / d_A(K) - k / K|, over paths whose end differs from A).
    """
    path, start = np.asarray(path), np.asarray(start)
    if path.ndim != 3 or path.shape[0] < 2 or path.shape[1:] != start.shape:
        raise ValueError(f"path must be (K + 1 >= 2, n, T) matching start {start.shape}; got {path.shape}")
    k = path.shape[0] - 1
    d = hamming(path, start[None])                     # (K + 1, n)
    jumps = hamming(path[1:], path[:-1])               # (K, n)
    ok = d[-1] > 0
    ratio = d[:, ok] / d[-1, ok]
    lin = np.abs(ratio - (np.arange(k + 1) / k)[:, None])
    return {
        "monotonicity": float((np.diff(d, axis=0) >= 0).mean()),
        "max_jump": float(jumps.max(0).mean()),
        "max_jump_worst": float(jumps.max()),
        "linearity_error": float(lin.mean()) if ok.any() else float("nan"),
    }


def data_space_paths(a: np.ndarray, b: np.ndarray, steps: int, rng: np.random.Generator) -> np.ndarray:
    """The data-space baseline (MusicVAE): mix the steps of A and B.

    Each time step of a pair gets one uniform draw u; point k takes B's token
    where u < k / K and A's token elsewhere, so more of B shows up as k grows.

    a, b : (n, T) int ; steps : K + 1 points, endpoints included -> (K + 1, n, T).
    """
    a, b = np.asarray(a), np.asarray(b)
    u = rng.random(a.shape)
    ts = np.linspace(0.0, 1.0, int(steps))
    return np.stack([np.where(u < t, b, a) for t in ts])  # u in [0, 1): t = 0 gives A, t = 1 gives B


# --------------------------------------------------------------------------- latent use

def active_dims(mu: np.ndarray, threshold: float = ACTIVE_DIM_THRESHOLD) -> int:
    """Latent dimensions whose posterior mean varies across the data: Var_x[mu_j] > threshold.

    mu : (n, Z) float -> int (0 when n < 2).
    """
    mu = np.asarray(mu, np.float64)
    if len(mu) < 2:
        return 0
    return int((mu.var(0, ddof=1) > threshold).sum())
