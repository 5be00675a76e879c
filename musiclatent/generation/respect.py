"""Outputs that respect their input: rests where the input rests, the input's register.

Restyle and vary rewrite a melody phrase by phrase from a latent code, which
knows nothing of where the song has silences or which octave it sits in. These
pure functions post-process the output's note stream against the input's:

* :func:`keep_rests` cuts the output's notes to the steps where the input
  sounds (a note that began in a rest starts where the input's note starts);
* :func:`keep_register` moves the output by whole octaves so that its pitch
  centre is nearest the input's, then folds single notes that leave the input's
  range (plus a small margin) back by octaves, and while the pitch centres
  still differ by more than 4 semitones, moves a pitch by an octave toward
  the input's centre. Pitch classes, hence the key, never change.

:func:`respect_measures` reports what a musician would check: the share of the
input's rest steps that stay silent, and the differences of pitch centre and range.
"""

from __future__ import annotations

import numpy as np

from musiclatent.representations.pianoroll import empty_notes, notes_to_tokens
from musiclatent.generation.stream import stream_notes

__all__ = ["sounding", "keep_rests", "pitch_centre", "pitch_range", "keep_register", "respect_input",
           "respect_measures", "REGISTER_MARGIN"]

REGISTER_MARGIN = 2   # semitones a note may lie beyond the input's range before it is folded back
CENTRE_TOLERANCE = 4  # semitones the output's pitch centre may differ from the input's
OCTAVE = 12


def sounding(notes: np.ndarray, n_steps: int) -> np.ndarray:
    """Steps where some note sounds: notes (n, 3) -> bool (n_steps,)."""
    mask = np.zeros(int(n_steps), bool)
    for _, s, e in np.asarray(notes).reshape(-1, 3).tolist():
        mask[max(0, s):max(0, min(e, n_steps))] = True
    return mask


def _runs(mask: np.ndarray) -> np.ndarray:
    """Maximal runs of True in a bool (n,) array as (k, 2) [start, end)."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], 1)


def keep_rests(notes: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Cut notes (n, 3) to the steps where ``mask`` (steps,) is True.

    A note that spans a rest of the mask becomes one note per sounding run it
    covers; a part that would begin inside a run begins where the run begins.
    Returns non-overlapping notes (m, 3) int32 when the input notes do not overlap.
    """
    notes = np.asarray(notes, np.int32).reshape(-1, 3)
    runs = _runs(np.asarray(mask, bool))
    out = []
    for pitch, s, e in notes.tolist():
        for rs, re in runs[(runs[:, 0] < e) & (runs[:, 1] > s)].tolist():
            out.append((pitch, max(s, rs), min(e, re)))
    return np.asarray(out, np.int32).reshape(-1, 3) if out else empty_notes()


def pitch_centre(notes: np.ndarray) -> float:
    """Duration-weighted mean MIDI pitch of notes (n, 3); NaN when there are none."""
    notes = np.asarray(notes).reshape(-1, 3)
    if not len(notes):
        return float("nan")
    return float(np.average(notes[:, 0], weights=np.maximum(1, notes[:, 2] - notes[:, 1])))


def pitch_range(notes: np.ndarray) -> int:
    """Highest minus lowest pitch of notes (n, 3), in semitones (0 when there are none)."""
    notes = np.asarray(notes).reshape(-1, 3)
    return int(notes[:, 0].max() - notes[:, 0].min()) if len(notes) else 0


def keep_register(notes: np.ndarray, reference: np.ndarray, margin: int = REGISTER_MARGIN,
                  tolerance: float = CENTRE_TOLERANCE) -> np.ndarray:
    """Move notes (n, 3) by octaves into the register of ``reference`` (m, 3).

    First the whole line moves by the number of octaves that brings its pitch
    centre nearest the reference's; then each note still more than ``margin``
    semitones outside the reference's range moves by the octaves that bring it
    nearest that range. Octaves alone leave the centres up to 6 semitones
    apart, so while they differ by more than ``tolerance``, every note of one
    pitch (the one whose move brings the centres closest) moves an octave
    toward the reference's centre, if it stays inside the range (plus
    margin). Times never change;
    pitches stay in 0..127.
    """
    notes = np.array(notes, np.int32).reshape(-1, 3)
    reference = np.asarray(reference).reshape(-1, 3)
    if not len(notes) or not len(reference):
        return notes
    octaves = np.round((pitch_centre(reference) - pitch_centre(notes)) / OCTAVE)
    notes[:, 0] += int(octaves) * OCTAVE
    lo, hi = int(reference[:, 0].min()) - margin, int(reference[:, 0].max()) + margin
    p = notes[:, 0]
    out = (p < lo) | (p > hi)
    base = lo + (p - lo) % OCTAVE          # the pitch class's lowest place at or above lo
    above = base - hi                      # > 0 when the range is narrower than an octave
    below = lo - (base - OCTAVE)
    p[out] = np.where((above <= 0) | (above <= below), base, base - OCTAVE)[out]
    while (p < 0).any() or (p > 127).any():
        p[p < 0] += OCTAVE
        p[p > 127] -= OCTAVE
    return _pull_centre(notes, reference, lo, hi, tolerance)


def _pull_centre(notes: np.ndarray, reference: np.ndarray, lo: int, hi: int, tolerance: float) -> np.ndarray:
    """While the pitch centres differ by more than ``tolerance``, move every note of one pitch by an
    octave toward the reference's centre: the pitch whose move brings the centres closest, as long
    as a move brings them closer and the pitch stays within [lo, hi]."""
    target = pitch_centre(reference)
    weights = np.maximum(1, notes[:, 2] - notes[:, 1]).astype(np.float64)
    total = weights.sum()
    for _ in range(len(np.unique(notes[:, 0]))):
        diff = pitch_centre(notes) - target
        if abs(diff) <= tolerance:
            break
        step = -OCTAVE if diff > 0 else OCTAVE
        best, best_new = None, abs(diff)
        for q in np.unique(notes[:, 0]).tolist():
            if lo <= q + step <= hi:
                new = abs(diff + step * weights[notes[:, 0] == q].sum() / total)
                if new < best_new:
                    best, best_new = q, new
        if best is None:
            break
        notes[notes[:, 0] == best, 0] += step
    return notes


def respect_input(output: np.ndarray, source: np.ndarray, rests: bool = True, register: bool = True) -> np.ndarray:
    """An output stream made to rest where ``source`` rests and sit in its register.

    Parameters
    ----------
    output, source : np.ndarray, shape (n, T), int
        Output phrases and the input phrases they were made from (one stream each).
    rests, register : bool
        Apply :func:`keep_rests` / :func:`keep_register`.

    Returns
    -------
    np.ndarray, shape (n, T), int64: the output, as one stream cut into phrases.
    """
    output = np.asarray(output)
    if not (rests or register) or not output.size:
        return output.astype(np.int64)
    n_steps = output.size
    notes, ref = stream_notes([output]), stream_notes([source])
    if rests:  # first: the register is judged on the notes that remain
        notes = keep_rests(notes, sounding(ref, n_steps))
    if register:
        notes = keep_register(notes, ref)
    return notes_to_tokens(notes, n_steps).reshape(output.shape)


def respect_measures(output: np.ndarray, source: np.ndarray) -> dict[str, float]:
    """How well an output respects its input; both (n, T) token streams of the same length.

    Returns ``rests_kept`` (share of the input's silent steps where the output
    is silent too; 1.0 when the input never rests), ``centre_diff`` (output
    minus input pitch centre, semitones) and ``range_diff`` (output minus input
    range, semitones).
    """
    n_steps = np.asarray(source).size
    out, ref = stream_notes([output]), stream_notes([source])
    rest = ~sounding(ref, n_steps)
    kept = float((~sounding(out, n_steps) & rest).sum() / rest.sum()) if rest.any() else 1.0
    return {"rests_kept": kept, "centre_diff": pitch_centre(out) - pitch_centre(ref),
            "range_diff": float(pitch_range(out) - pitch_range(ref))}
