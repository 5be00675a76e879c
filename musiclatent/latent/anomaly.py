"""Validating a typicality score: AUROC and deliberately corrupted phrases.

Pure numpy. A corrupted phrase should score higher (less typical) than a real
one; :func:`auroc` measures how well a score separates them.
"""

from __future__ import annotations

import numpy as np

from musiclatent.representations import MELODY



def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank; (n,) -> (n,) float64."""
    v = np.asarray(values, np.float64).ravel()
    order = np.argsort(v, kind="mergesort")
    sv = v[order]
    starts = np.flatnonzero(np.r_[True, sv[1:] != sv[:-1]])
    ends = np.r_[starts[1:], len(sv)]
    ranks = np.empty(len(v))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def auroc(negatives, positives) -> float:
    """Area under the ROC curve of a score where positives (anomalies) should be higher.

    Equals P(positive > negative) + P(tie) / 2 (Mann-Whitney U / (n_pos n_neg)).
    """
    neg, pos = np.asarray(negatives, np.float64).ravel(), np.asarray(positives, np.float64).ravel()
    if len(neg) == 0 or len(pos) == 0:
        raise ValueError("AUROC needs at least one negative and one positive score")
    if not (np.isfinite(neg).all() and np.isfinite(pos).all()):
        raise ValueError("AUROC scores must be finite")
    ranks = average_ranks(np.concatenate([neg, pos]))
    u = ranks[len(neg):].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u / (len(pos) * len(neg)))


def shuffle_pitches(tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Permute the pitches of each phrase's notes, keeping its rhythm; (n, T) -> (n, T)."""
    out = np.array(tokens, copy=True)
    for row in out:
        on = np.flatnonzero(row >= MELODY.pitch_offset)
        row[on] = rng.permutation(row[on])
    return out


def random_pitches(tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replace each note's pitch by a uniform one inside the phrase's own range; rhythm kept."""
    out = np.array(tokens, copy=True)
    for row in out:
        on = np.flatnonzero(row >= MELODY.pitch_offset)
        if len(on):
            lo, hi = int(row[on].min()), int(row[on].max())
            row[on] = rng.integers(lo, hi + 1, len(on))
    return out


def move_notes(tokens: np.ndarray, rng: np.random.Generator, low: int = 3, high: int = 6,
               share: float = 0.25) -> np.ndarray:
    """Wrong notes: move about ``share`` of each phrase's notes (at least one) up or down by
    ``low``..``high`` semitones, keeping the rhythm and every pitch inside MIDI; (n, T) -> (n, T)."""
    out = np.array(tokens, copy=True)
    lo_id, hi_id = MELODY.pitch_offset, MELODY.pitch_offset + 127
    for row in out:
        on = np.flatnonzero((row >= lo_id) & (row <= hi_id))
        if not len(on):
            continue
        picked = on[rng.random(len(on)) < share]
        if not len(picked):
            picked = rng.choice(on, 1)
        shift = rng.integers(low, high + 1, len(picked)) * rng.choice([-1, 1], len(picked))
        moved = row[picked] + shift
        moved = np.where((moved < lo_id) | (moved > hi_id), row[picked] - shift, moved)
        row[picked] = moved
    return out


def random_tokens(n: int, steps: int, rng: np.random.Generator, n_classes: int = MELODY.n_classes) -> np.ndarray:
    """Uniformly random event tokens, shape (n, steps) int64."""
    return rng.integers(0, n_classes, (int(n), int(steps)), dtype=np.int64)


def shuffle_durations(tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Permute how long each event (a note or a rest) lasts, keeping the order of pitches and rests;
    (n, T) -> (n, T). Steps before the first event (a note held over) stay. A rhythm corruption: a
    score that only looked at pitches would miss it."""
    out = np.array(tokens, copy=True)
    for row in out:
        heads = np.flatnonzero(row != MELODY.hold)
        if len(heads) < 2:
            continue
        lengths = rng.permutation(np.diff(np.r_[heads, len(row)]))
        starts = heads[0] + np.r_[0, np.cumsum(lengths)[:-1]]
        events = row[heads].copy()
        row[heads[0]:] = MELODY.hold
        row[starts] = events
    return out


# The corruptions the typicality AUROC is validated on (``benchmarks/anomaly_auroc.py``): pitch
# corruptions that keep the rhythm, mixed with uniformly random tokens.
CORRUPTIONS = {
    "pitch shuffle": shuffle_pitches,
    "random pitches": random_pitches,
}

# Reported beside the mix, not in it: a rhythm corruption that keeps the pitches.
RHYTHM_CORRUPTIONS = {
    "duration shuffle": shuffle_durations,
}
