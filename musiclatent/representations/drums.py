"""The drum representation: a reduced 9-piece kit, one token per 16th step.

Each step holds the *set* of kit classes hit on it, written as a 9-bit number:
bit ``k`` is set when class ``k`` is hit, so there are ``2 ** 9 = 512`` tokens
and ``0`` is a silent step. This follows MusicVAE's reduced drum kit
(magenta's ``DrumsConverter`` with its 9-class pitch map).

The General MIDI drum notes each class takes (every other note is dropped):

=====  ===============  ========  ==============================================
class  name             written   General MIDI notes read as it
=====  ===============  ========  ==============================================
0      kick             36        35, 36
1      snare            38        37, 38, 39, 40 (side stick, clap, electric), 27,
                                  28, 31, 32, 33, 34, 56, 65, 66, 75, 85
2      closed hi-hat    42        42, 44 (pedal), 22 (edge), 54, 68, 69, 70, 71,
                                  73, 78, 80
3      open hi-hat      46        46, 26 (edge), 67, 72, 74, 79, 81
4      low tom          45        41, 43, 45, 29, 58 (floor tom rim), 61, 64, 84
5      mid tom          48        47, 48, 60, 63, 77, 86, 87
6      high tom         50        50, 30, 62, 76, 83
7      crash            49        49, 52, 55, 57
8      ride             51        51, 53 (bell), 59 (edge), 82
=====  ===============  ========  ==============================================

Velocity travels beside the tokens as a side channel: per step and class one
of :data:`VELOCITY_LEVELS` (0 = not hit). Notes here are ``(pitch, start,
end)`` int32 rows in steps, as everywhere; drum hits last one step.
Round trips are exact on quantized input written with the kit's own notes
(one hit per class and step, one-step notes, velocities at the level values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musiclatent.representations.base import Representation

DRUM_CLASS_NAMES = ("kick", "snare", "closed hi-hat", "open hi-hat", "low tom", "mid tom", "high tom",
                    "crash", "ride")
N_DRUM_CLASSES = len(DRUM_CLASS_NAMES)
N_DRUM_TOKENS = 1 << N_DRUM_CLASSES  # 512
# the General MIDI note each class is written as
DRUM_CLASS_PITCHES = (36, 38, 42, 46, 45, 48, 50, 49, 51)
# General MIDI drum notes read as each class (the table in the module docstring)
DRUM_PITCH_GROUPS = (
    (35, 36),
    (37, 38, 39, 40, 27, 28, 31, 32, 33, 34, 56, 65, 66, 75, 85),
    (42, 44, 22, 54, 68, 69, 70, 71, 73, 78, 80),
    (46, 26, 67, 72, 74, 79, 81),
    (41, 43, 45, 29, 58, 61, 64, 84),
    (47, 48, 60, 63, 77, 86, 87),
    (50, 30, 62, 76, 83),
    (49, 52, 55, 57),
    (51, 53, 59, 82),
)
# pitch -> class, -1 for notes outside the kit
PITCH_TO_CLASS = np.full(128, -1, np.int64)
for _k, _group in enumerate(DRUM_PITCH_GROUPS):
    PITCH_TO_CLASS[list(_group)] = _k

# velocity side channel: level l (1..4) is written as VELOCITY_LEVELS[l]; 0 = no hit
VELOCITY_LEVELS = (0, 40, 70, 100, 120)
_VELOCITY_EDGES = (55, 85, 110)  # MIDI velocity -> level 1 below 55, 2 below 85, 3 below 110, else 4


def tokens_to_hits(tokens: np.ndarray) -> np.ndarray:
    """Tokens (..., T) int -> hits (..., T, 9) bool: which kit classes sound on each step."""
    tokens = np.asarray(tokens, np.int64)
    return ((tokens[..., None] >> np.arange(N_DRUM_CLASSES)) & 1).astype(bool)


def hits_to_tokens(hits: np.ndarray) -> np.ndarray:
    """Hits (..., T, 9) bool -> tokens (..., T) int64; the inverse of :func:`tokens_to_hits`."""
    hits = np.asarray(hits, bool)
    return (hits.astype(np.int64) << np.arange(N_DRUM_CLASSES)).sum(-1)


# the kit's two layers for the layer-mix augmentation: cymbals (hi-hats, crash, ride) keep time,
# drums (kick, snare, toms) carry the pattern; a drummer can pair most of one with most of the other
CYMBAL_MASK = sum(1 << k for k in (2, 3, 7, 8))


def mix_layers(drums_from, cymbals_from):
    """Tokens (..., T) of two grooves -> (..., T): the kick, snare and toms of ``drums_from`` under
    the hi-hats, crash and ride of ``cymbals_from`` (numpy or torch integer arrays)."""
    return (drums_from & ~CYMBAL_MASK) | (cymbals_from & CYMBAL_MASK)


def velocity_to_level(velocity: np.ndarray) -> np.ndarray:
    """MIDI velocities (1..127) -> levels 1..4 (uint8), same shape."""
    return (np.searchsorted(_VELOCITY_EDGES, np.asarray(velocity), side="right") + 1).astype(np.uint8)


def level_to_velocity(levels: np.ndarray) -> np.ndarray:
    """Levels 0..4 -> MIDI velocities (0 for no hit), int64, same shape."""
    return np.asarray(VELOCITY_LEVELS, np.int64)[np.asarray(levels, np.int64)]


@dataclass(frozen=True)
class DrumRepresentation(Representation):
    """A 9-class drum kit; a token is the set of classes hit on a step (512 classes)."""

    name = "drums"
    n_classes = N_DRUM_TOKENS
    meters = ((4, 4),)
    class_names = DRUM_CLASS_NAMES
    class_pitches = DRUM_CLASS_PITCHES
    is_drum = True

    def to_levels(self, notes: np.ndarray, velocities: np.ndarray, n_steps: int) -> np.ndarray:
        """Drum notes (n, 3) with velocities (n,) -> levels (n_steps, 9) uint8 (0 = no hit).

        Notes outside the kit or the window are dropped; two hits of one class on one step keep
        the louder.
        """
        levels = np.zeros((n_steps, N_DRUM_CLASSES), np.uint8)
        notes = np.asarray(notes, np.int64).reshape(-1, 3)
        if not len(notes):
            return levels
        cls = PITCH_TO_CLASS[np.clip(notes[:, 0], 0, 127)]
        start = notes[:, 1]
        keep = (cls >= 0) & (start >= 0) & (start < n_steps) & (notes[:, 0] >= 0) & (notes[:, 0] < 128)
        lev = velocity_to_level(np.asarray(velocities).reshape(-1)[keep])
        np.maximum.at(levels, (start[keep], cls[keep]), lev)
        return levels

    def to_tokens(self, notes: np.ndarray, n_steps: int) -> np.ndarray:
        """Drum notes (n, 3) -> tokens (n_steps,) int64; notes outside the kit or window are dropped."""
        notes = np.asarray(notes, np.int64).reshape(-1, 3)
        return self.levels_to_tokens(self.to_levels(notes, np.full(len(notes), 100), n_steps))

    @staticmethod
    def levels_to_tokens(levels: np.ndarray) -> np.ndarray:
        """Levels (..., T, 9) -> tokens (..., T) int64."""
        return hits_to_tokens(np.asarray(levels) > 0)

    def from_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens (T,) -> notes (n, 3) int32 ``(pitch, step, step + 1)``, ordered by step then class."""
        hits = tokens_to_hits(self.check_tokens(tokens))
        step, cls = np.nonzero(hits)
        pitch = np.asarray(DRUM_CLASS_PITCHES, np.int64)[cls]
        return np.stack([pitch, step, step + 1], 1).astype(np.int32).reshape(-1, 3)

    def from_levels(self, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Levels (T, 9) -> notes (n, 3) int32 and their velocities (n,) int64 (inverse of :meth:`to_levels`)."""
        levels = np.asarray(levels)
        step, cls = np.nonzero(levels)
        pitch = np.asarray(DRUM_CLASS_PITCHES, np.int64)[cls]
        notes = np.stack([pitch, step, step + 1], 1).astype(np.int32).reshape(-1, 3)
        return notes, level_to_velocity(levels[step, cls])

    def onsets(self, tokens: np.ndarray) -> np.ndarray:
        """(..., T) -> bool (..., T): steps where anything is hit."""
        return np.asarray(tokens) > 0

    def hits(self, tokens: np.ndarray) -> np.ndarray:
        """(..., T) -> bool (..., T, 9): the classes hit on each step."""
        return tokens_to_hits(tokens)

    def describe(self, tokens: np.ndarray) -> str:
        h = tokens_to_hits(tokens).reshape(-1, N_DRUM_CLASSES).sum(0)
        if not h.any():
            return "silence"
        parts = [f"{int(n)} {DRUM_CLASS_NAMES[k]}" for k, n in enumerate(h) if n]
        return ", ".join(parts[:4]) + (", ..." if len(parts) > 4 else "")


DRUMS = DrumRepresentation()
