"""Song-level work: whole melodies in, phrase tokens through the model, notes out.

A song is tiled into consecutive phrases of the model's length, starting on
its first duple bar line (or its first bar, for other meters, which are read as
a stream of 4/4 bars). A song shorter than one phrase is padded with silence,
so any input with notes works: there is no "exactly one example" rule and no
4-bar cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from musiclatent.constants import DEFAULT_TIME_SIGNATURE
from musiclatent.midi.melody import Melody, is_duple_bar
from musiclatent.representations.pianoroll import notes_to_tokens, tokens_to_notes
from musiclatent.representations import MELODY


@dataclass
class Song:
    """A melody cut into model phrases.

    phrases : (n, T) int64 ; offset : step of the first phrase in the melody.
    """

    melody: Melody
    phrases: np.ndarray
    offset: int
    notes: list[str] = field(default_factory=list)

    @property
    def meter_for_export(self) -> tuple[int, int]:
        num, den = self.melody.time_signature
        return (num, den) if (num, den) in ((4, 4), (2, 4), (2, 2)) else DEFAULT_TIME_SIGNATURE


def song_phrases(melody: Melody, steps: int, max_phrases: int = 64) -> Song:
    """Tile a melody into consecutive phrases of ``steps`` steps; (n, steps) tokens."""
    notes = melody.notes
    remarks = []
    bars = melody.bars
    duple = [i for i in range(len(bars)) if is_duple_bar(int(bars[i, 1]))]
    if duple:
        start = int(bars[duple[0], 0])
    elif len(bars):
        start = int(bars[0, 0])
        num, den = melody.time_signature
        remarks.append(f"meter {num}/{den} is read as a stream of 4/4 bars")
    else:
        start = 0
    if len(notes) and notes[0, 1] < start:
        # keep a pickup: start one model bar earlier (a whole phrase's bar grid stays aligned)
        start -= int(np.ceil((start - notes[0, 1]) / MELODY.steps_per_bar())) * MELODY.steps_per_bar()
    end = int(notes[:, 2].max()) if len(notes) else start + steps
    n = max(1, int(np.ceil((end - start) / steps)))
    if n > max_phrases:
        remarks.append(f"cut to the first {max_phrases} phrases of {n}")
        n = max_phrases
    shifted = notes - np.array([0, start, start], dtype=np.int32)
    total = notes_to_tokens(shifted[(shifted[:, 1] >= 0)], n * steps)
    phrases = total.reshape(n, steps)
    return Song(melody, phrases.astype(np.int64), start, remarks)


def align_phrases(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Give two songs the same number of phrases: the shorter one is extended by
    repeating its phrases from its start. Returns (a', b', explanation)."""
    na, nb = len(a), len(b)
    if na == nb:
        return a, b, f"both songs have {na} phrases"
    n = max(na, nb)
    if na < nb:
        return np.resize(a, (n, a.shape[1])), b, f"A ({na} phrases) is extended to B's {nb} by repeating A from its start"
    return a, np.resize(b, (n, b.shape[1])), f"B ({nb} phrases) is extended to A's {na} by repeating B from its start"


def join_phrases(phrases: np.ndarray) -> np.ndarray:
    """Concatenate phrases (n, T) into notes (m, 3) on one timeline."""
    phrases = np.asarray(phrases).reshape(-1, np.asarray(phrases).shape[-1])
    steps = phrases.shape[1]
    parts = []
    for i, row in enumerate(phrases):
        n = tokens_to_notes(row)
        if len(n):
            parts.append(n + np.array([0, i * steps, i * steps], dtype=np.int32))
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros((0, 3), np.int32)


def morph_layout(n_phrases: int, n_steps: int) -> list[int]:
    """Which song phrase each interpolation step contributes to the morph: the
    walk across the latent path also moves across the song, opening to ending."""
    if n_steps <= 1:
        return [0] * n_steps
    return [int(round(k * (n_phrases - 1) / (n_steps - 1))) for k in range(n_steps)]
