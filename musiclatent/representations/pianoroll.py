"""Pure numpy conversions between quantized notes, piano rolls and event tokens.

Units: every time here is in *steps* (``STEPS_PER_QUARTER`` steps per quarter
note). A set of quantized notes is an ``int32`` array of shape ``(n, 3)`` whose
columns are ``(pitch, start, end)`` with ``end`` exclusive and ``end > start``.

Nothing here touches the disk. Every ``to_``/``from_`` pair round-trips exactly
on quantized input: ``tokens_to_notes(notes_to_tokens(n, s)) == n`` for any
monophonic ``n`` inside ``[0, s)``, and likewise for piano rolls.
"""

from __future__ import annotations

import numpy as np

from musiclatent.constants import (
    HOLD,
    NOTE_ON_OFFSET,
    NUM_CLASSES,
    NUM_PITCHES,
    REST,
    ROLL_ONSET,
    ROLL_SUSTAIN,
)

__all__ = [
    "empty_notes",
    "sort_notes",
    "skyline",
    "notes_to_pianoroll",
    "pianoroll_to_notes",
    "notes_to_tokens",
    "tokens_to_notes",
    "pianoroll_to_tokens",
    "tokens_to_pianoroll",
    "canonicalize_tokens",
]


def empty_notes() -> np.ndarray:
    """Return an empty note array, shape (0, 3), int32."""
    return np.zeros((0, 3), dtype=np.int32)


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """Sort notes by start, then pitch (ascending); shape (n, 3) kept."""
    notes = np.asarray(notes, dtype=np.int32).reshape(-1, 3)
    if len(notes) == 0:
        return empty_notes()
    order = np.lexsort((notes[:, 0], notes[:, 1]))
    return notes[order]


def skyline(notes: np.ndarray) -> np.ndarray:
    """Reduce polyphonic notes to one voice by keeping the highest note.

    At each onset the highest starting pitch wins. A new note that is higher
    than the one sounding cuts it; a lower note that starts while a higher one
    sounds is dropped. The result never overlaps.

    Parameters
    ----------
    notes : np.ndarray, shape (n, 3), int
        ``(pitch, start, end)`` in steps.

    Returns
    -------
    np.ndarray, shape (m, 3), int32, sorted by start, non-overlapping.
    """
    notes = sort_notes(notes)
    if len(notes) == 0:
        return notes
    # keep the highest pitch per onset step (the last of each start group after lexsort)
    last_of_group = np.r_[notes[1:, 1] != notes[:-1, 1], True]
    notes = notes[last_of_group]
    kept: list[list[int]] = []
    for pitch, start, end in notes.tolist():
        if kept and start < kept[-1][2]:
            if pitch > kept[-1][0]:
                kept[-1][2] = start  # higher note cuts the sounding one
            else:
                continue  # lower note under a sounding higher one: dropped
        kept.append([pitch, start, end])
    out = np.asarray(kept, dtype=np.int32).reshape(-1, 3)
    return out[out[:, 2] > out[:, 1]]


def notes_to_pianoroll(notes: np.ndarray, n_steps: int) -> np.ndarray:
    """Render notes as a piano roll that keeps onsets.

    Parameters
    ----------
    notes : np.ndarray, shape (n, 3), int
        ``(pitch, start, end)`` in steps; parts outside ``[0, n_steps)`` are cut.
    n_steps : int

    Returns
    -------
    np.ndarray, shape (n_steps, 128), uint8
        ``ROLL_ONSET`` (2) where a note starts, ``ROLL_SUSTAIN`` (1) where it
        continues, 0 elsewhere. Repeated notes of one pitch stay distinct.
    """
    roll = np.zeros((n_steps, NUM_PITCHES), dtype=np.uint8)
    for pitch, start, end in np.asarray(notes, dtype=np.int64).reshape(-1, 3).tolist():
        s, e = max(start, 0), min(end, n_steps)
        if e <= s:
            continue
        roll[s:e, pitch] = np.maximum(roll[s:e, pitch], ROLL_SUSTAIN)
        if start >= 0:
            roll[start, pitch] = ROLL_ONSET
    return roll


def pianoroll_to_notes(roll: np.ndarray) -> np.ndarray:
    """Inverse of :func:`notes_to_pianoroll`.

    Parameters
    ----------
    roll : np.ndarray, shape (steps, 128), uint8
        Cells 0 (off), 1 (sustain) or 2 (onset). A sustain with no onset before
        it starts a note too.

    Returns
    -------
    np.ndarray, shape (n, 3), int32, sorted by start then pitch.
    """
    roll = np.asarray(roll)
    n_steps = roll.shape[0]
    if n_steps == 0 or not roll.any():
        return empty_notes()
    on = roll > 0
    prev = np.vstack([np.zeros((1, roll.shape[1]), bool), on[:-1]])
    starts = (roll == ROLL_ONSET) | (on & ~prev)
    notes = []
    for pitch in np.flatnonzero(on.any(axis=0)):
        col_on, col_start = on[:, pitch], starts[:, pitch]
        for s in np.flatnonzero(col_start):
            e = s + 1
            while e < n_steps and col_on[e] and not col_start[e]:
                e += 1
            notes.append((pitch, s, e))
    return sort_notes(np.asarray(notes, dtype=np.int32))


def notes_to_tokens(notes: np.ndarray, n_steps: int) -> np.ndarray:
    """Encode monophonic notes as event tokens (the 130-class convention).

    Notes must not overlap (use :func:`skyline` first). Notes starting before
    step 0 are dropped (the window starts in silence); notes are cut at
    ``n_steps``.

    Parameters
    ----------
    notes : np.ndarray, shape (n, 3), int
    n_steps : int

    Returns
    -------
    np.ndarray, shape (n_steps,), int64 in ``[0, 130)``
    """
    tokens = np.full(n_steps, HOLD, dtype=np.int64)
    notes = sort_notes(notes)
    notes = notes[(notes[:, 1] >= 0) & (notes[:, 1] < n_steps)]
    if len(notes) == 0:
        return tokens
    if np.any(notes[1:, 1] < notes[:-1, 2]):
        raise ValueError("notes overlap; reduce them to one voice with skyline() first")
    ends = np.minimum(notes[:, 2], n_steps)
    # a rest token where a note ends and the next one does not start right there
    rest_at = ends[ends < n_steps]
    tokens[rest_at] = REST
    tokens[notes[:, 1]] = NOTE_ON_OFFSET + notes[:, 0]
    return tokens


def tokens_to_notes(tokens: np.ndarray) -> np.ndarray:
    """Decode event tokens into monophonic notes.

    Parameters
    ----------
    tokens : np.ndarray, shape (steps,), int in ``[0, 130)``

    Returns
    -------
    np.ndarray, shape (n, 3), int32. A note lasts until the next note-on or
    rest, or the end of the sequence. A rest during silence changes nothing.
    """
    tokens = np.asarray(tokens).reshape(-1)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= NUM_CLASSES):
        raise ValueError(f"tokens must lie in [0, {NUM_CLASSES}); got {tokens.min()}..{tokens.max()}")
    events = np.flatnonzero(tokens != HOLD)
    notes = []
    for i, step in enumerate(events):
        tok = int(tokens[step])
        if tok < NOTE_ON_OFFSET:
            continue
        end = int(events[i + 1]) if i + 1 < len(events) else len(tokens)
        notes.append((tok - NOTE_ON_OFFSET, int(step), end))
    return np.asarray(notes, dtype=np.int32).reshape(-1, 3)


def canonicalize_tokens(tokens: np.ndarray) -> np.ndarray:
    """Rewrite a token sequence to the unique form that encodes the same notes.

    A rest during silence becomes a hold. Works on any leading shape: ``(..., steps)``.
    """
    tokens = np.asarray(tokens)
    flat = tokens.reshape(-1, tokens.shape[-1])
    out = np.empty_like(flat)
    for i, row in enumerate(flat):
        out[i] = notes_to_tokens(tokens_to_notes(row), len(row))
    return out.reshape(tokens.shape)


def pianoroll_to_tokens(roll: np.ndarray) -> np.ndarray:
    """Piano roll (steps, 128) -> tokens (steps,), keeping the highest voice."""
    roll = np.asarray(roll)
    return notes_to_tokens(skyline(pianoroll_to_notes(roll)), roll.shape[0])


def tokens_to_pianoroll(tokens: np.ndarray) -> np.ndarray:
    """Tokens (steps,) -> piano roll (steps, 128), uint8 with onsets."""
    tokens = np.asarray(tokens).reshape(-1)
    return notes_to_pianoroll(tokens_to_notes(tokens), len(tokens))
