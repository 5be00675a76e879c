"""Musical attributes of token phrases, and latent attribute vectors.

All functions are pure numpy over token arrays of shape (n, steps) using the
130-class convention.
"""

from __future__ import annotations

import numpy as np

from musiclatent.representations.pianoroll import tokens_to_notes
from musiclatent.representations import MELODY

ATTRIBUTES = ("note_density", "pitch_range", "avg_interval", "syncopation")


def note_density(tokens: np.ndarray) -> np.ndarray:
    """Note onsets per quarter note; (n, T) -> (n,) float."""
    tokens = np.atleast_2d(tokens)
    return (tokens >= MELODY.pitch_offset).sum(1) / (tokens.shape[1] / MELODY.steps_per_quarter)


def pitch_range(tokens: np.ndarray) -> np.ndarray:
    """Highest minus lowest pitch in semitones (0 without notes); (n, T) -> (n,)."""
    tokens = np.atleast_2d(tokens)
    is_note = tokens >= MELODY.pitch_offset
    p = tokens.astype(np.int64) - MELODY.pitch_offset
    hi = np.where(is_note, p, -1).max(1)
    lo = np.where(is_note, p, 999).min(1)
    return np.where(is_note.any(1), hi - lo, 0).astype(float)


def avg_interval(tokens: np.ndarray) -> np.ndarray:
    """Mean absolute interval between consecutive notes, semitones; (n, T) -> (n,)."""
    out = []
    for row in np.atleast_2d(tokens):
        p = row[row >= MELODY.pitch_offset].astype(np.int64)
        out.append(float(np.abs(np.diff(p)).mean()) if len(p) > 1 else 0.0)
    return np.asarray(out)


def syncopation(tokens: np.ndarray) -> np.ndarray:
    """Share of onsets off the beat (not on a quarter-note step); (n, T) -> (n,)."""
    tokens = np.atleast_2d(tokens)
    on = tokens >= MELODY.pitch_offset
    off_beat = on & (np.arange(tokens.shape[1]) % MELODY.steps_per_quarter != 0)[None, :]
    n = on.sum(1)
    return np.where(n > 0, off_beat.sum(1) / np.maximum(n, 1), 0.0)


def compute_attributes(tokens: np.ndarray) -> dict[str, np.ndarray]:
    """All attributes: name -> (n,) float array."""
    return {
        "note_density": note_density(tokens),
        "pitch_range": pitch_range(tokens),
        "avg_interval": avg_interval(tokens),
        "syncopation": syncopation(tokens),
    }


def attribute_vectors(z: np.ndarray, attrs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Latent attribute vectors: mean z of the top quartile minus mean z of the bottom quartile.

    z : (n, Z) float ; attrs : name -> (n,) ; returns name -> (Z,) float32.
    """
    out = {}
    for name, values in attrs.items():
        lo, hi = np.quantile(values, [0.25, 0.75])
        top, bottom = values >= hi, values <= lo
        if top.sum() == 0 or bottom.sum() == 0 or hi == lo:
            top, bottom = values > np.median(values), values <= np.median(values)
        out[name] = (z[top].mean(0) - z[bottom].mean(0)).astype(np.float32)
    return out


def phrase_notes_count(tokens: np.ndarray) -> np.ndarray:
    """Number of notes per phrase; (n, T) -> (n,) int."""
    return np.asarray([len(tokens_to_notes(r)) for r in np.atleast_2d(tokens)])
