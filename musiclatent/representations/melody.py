"""The melody representation: one voice, 130 event classes per step.

``0`` hold (the previous note sustains, or silence continues), ``1`` rest
(note-off), ``2 + p`` note-on of MIDI pitch ``p``. This convention is part of
the public API; the conversions are the pure functions of
:mod:`musiclatent.representations.pianoroll`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musiclatent.constants import HOLD, NOTE_ON_OFFSET, NUM_CLASSES, NUM_PITCHES, REST
from musiclatent.representations.base import Representation
from musiclatent.representations.pianoroll import notes_to_tokens, tokens_to_notes


@dataclass(frozen=True)
class MelodyRepresentation(Representation):
    """Monophonic melody tokens (magenta's ``OneHotMelodyConverter``, with a hold class)."""

    name = "melody"
    n_classes = NUM_CLASSES
    hold = HOLD
    rest = REST
    pitch_offset = NOTE_ON_OFFSET   # class of MIDI pitch 0
    n_pitches = NUM_PITCHES
    # meters a model's bars may follow: 4/4 (with 2/2 and 2/4 read in it), and the triple and compound
    # meters of the waltz, jig and slip-jig models; other meters are read in the nearest of these
    meters = ((4, 4), (2, 2), (2, 4), (3, 4), (6, 8), (9, 8))

    def to_tokens(self, notes: np.ndarray, n_steps: int) -> np.ndarray:
        """Monophonic notes (n, 3) -> tokens (n_steps,) int64; notes before step 0 are dropped."""
        return notes_to_tokens(notes, n_steps)

    def from_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens (steps,) -> notes (n, 3) int32."""
        return tokens_to_notes(tokens)

    def onsets(self, tokens: np.ndarray) -> np.ndarray:
        """(..., T) -> bool (..., T): note-on steps."""
        return np.asarray(tokens) >= self.pitch_offset

    def pitches(self, tokens: np.ndarray) -> np.ndarray:
        """(..., T) -> int64 (..., T): the MIDI pitch of each note-on step, -1 elsewhere."""
        tokens = np.asarray(tokens, np.int64)
        return np.where(tokens >= self.pitch_offset, tokens - self.pitch_offset, -1)

    def note_on(self, pitch: np.ndarray | int) -> np.ndarray | int:
        """MIDI pitch(es) -> note-on token(s)."""
        return np.asarray(pitch) + self.pitch_offset if not isinstance(pitch, int) else pitch + self.pitch_offset

    def describe(self, tokens: np.ndarray) -> str:
        p = self.pitches(tokens)
        p = p[p >= 0]
        if not p.size:
            return "silence"
        names = "C C# D D# E F F# G G# A A# B".split()
        lo, hi = int(p.min()), int(p.max())
        name = lambda m: f"{names[m % 12]}{m // 12 - 1}"  # noqa: E731
        return f"{p.size} note{'s' if p.size != 1 else ''}, {name(lo)}-{name(hi)}"


MELODY = MelodyRepresentation()
