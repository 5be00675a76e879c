"""Melodies: melody-track choice, quantization, bars and phrase windows.

Pure functions over in-memory values; nothing here opens a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from musiclatent.constants import (
    DEFAULT_PROGRAM,
    DEFAULT_QPM,
    DEFAULT_TIME_SIGNATURE,
    DEFAULT_VELOCITY,
    MAX_BAR_STEPS,
    MELODY_NAME_HINTS,
    MIN_NOTES_PER_PHRASE,
    MIN_SOUNDING_FRACTION,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
)
from musiclatent.representations.pianoroll import empty_notes, notes_to_tokens, skyline

__all__ = [
    "Track",
    "Melody",
    "choose_melody_track",
    "quantize_quarters",
    "bars_from_time_signatures",
    "is_duple_bar",
    "melody_windows",
    "meter_windows",
    "model_meter_for",
    "MODEL_METERS",
    "WindowResult",
]

# A model measured in bars of the key meter reads pieces in the listed meters: their bars are its
# bars (3/4), pairs of them (3/8 -> one 6/8 bar) or halves of them (12/8 -> two 6/8 bars).
MODEL_METERS: dict[tuple[int, int], tuple[tuple[int, int], ...]] = {
    (4, 4): ((4, 4), (2, 2), (2, 4), (4, 2)),
    (3, 4): ((3, 4),),
    (6, 8): ((6, 8), (3, 8), (12, 8)),
    (9, 8): ((9, 8),),
}


def model_meter_for(meter: tuple[int, int]) -> tuple[int, int] | None:
    """The model meter whose bars a piece in ``meter`` is read in (None: no such model meter)."""
    meter = (int(meter[0]), int(meter[1]))
    for model_meter, takes in MODEL_METERS.items():
        if meter in takes:
            return model_meter
    return None


@dataclass
class Track:
    """One candidate track of a piece: a MIDI (track, channel) or a score part.

    ``notes`` is an int32 array (n, 3) of ``(pitch, start, end)`` in steps,
    possibly polyphonic; ``velocities`` is (n,) with the same order.
    """

    index: int
    name: str
    notes: np.ndarray
    velocities: np.ndarray | None = None
    program: int = DEFAULT_PROGRAM
    is_drum: bool = False


@dataclass
class Melody:
    """A monophonic melody with everything export needs to restore it.

    Attributes
    ----------
    notes : np.ndarray, shape (n, 3), int32
        ``(pitch, start, end)`` in steps, non-overlapping.
    bars : np.ndarray, shape (b, 2), int32
        ``(start_step, length_steps)`` of every *full* bar (pickups excluded).
    """

    notes: np.ndarray
    bars: np.ndarray
    qpm: float = DEFAULT_QPM
    time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE
    key: str = ""
    program: int = DEFAULT_PROGRAM
    velocity: int = DEFAULT_VELOCITY
    source: str = ""
    style: str = ""
    track: dict = field(default_factory=dict)
    steps_per_quarter: int = STEPS_PER_QUARTER
    chords: np.ndarray | None = None   # (k, 2) int32 chord events (start step, chord id), when read with chords

    def meta(self) -> dict:
        """JSON-ready description (everything but the arrays)."""
        return {
            "source": self.source,
            "style": self.style,
            "qpm": round(float(self.qpm), 3),
            "time_signature": list(self.time_signature),
            "key": self.key,
            "program": int(self.program),
            "velocity": int(self.velocity),
            "track": self.track,
            "n_bars": int(len(self.bars)),
        }


def _track_stats(track: Track) -> tuple[float, float, int]:
    """(monophony fraction, mean pitch, note count) of a track."""
    notes = track.notes
    if len(notes) == 0:
        return 0.0, 0.0, 0
    mono = len(skyline(notes)) / len(notes)
    return float(mono), float(notes[:, 0].mean()), int(len(notes))


def choose_melody_track(tracks: list[Track], force: str | int | None = None) -> tuple[int, str]:
    """Pick the melody track and explain why.

    Order of evidence: a forced track (index or case-insensitive name), a name
    that says "melody" (vocal, lead, soprano, ...), then a score mixing
    monophony, register and note count. Drum tracks are never picked.

    Returns
    -------
    (position in ``tracks``, reason) ; raises ``ValueError`` if none fits.
    """
    if force is not None and str(force) != "":
        f = str(force)
        for i, t in enumerate(tracks):
            if f.isdigit() and t.index == int(f):
                return i, f"forced by --track {f}"
        for i, t in enumerate(tracks):
            if t.name.strip().lower() == f.strip().lower():
                return i, f"forced by --track {f!r}"
        names = ", ".join(f"{t.index}:{t.name or '(unnamed)'}" for t in tracks) or "none"
        raise ValueError(f"no track {f!r}; tracks are {names}")
    candidates = [i for i, t in enumerate(tracks) if not t.is_drum and len(t.notes) > 0]
    if not candidates:
        if any(t.is_drum and len(t.notes) for t in tracks):
            raise ValueError("only drum tracks: no melody to extract")
        raise ValueError("no notes")
    for i in candidates:
        name = tracks[i].name.lower()
        hint = next((h for h in MELODY_NAME_HINTS if h in name), None)
        if hint:
            return i, f"track name {tracks[i].name!r} contains {hint!r}"
    if len(candidates) == 1:
        return candidates[0], "the only non-drum track with notes"
    stats = {i: _track_stats(tracks[i]) for i in candidates}
    most = max(s[2] for s in stats.values())

    def score(i: int) -> float:
        mono, pitch, count = stats[i]
        # monophony matters most, then register; very sparse tracks are penalised
        return 2.0 * mono + pitch / 64.0 + 0.5 * min(1.0, count / (0.25 * most))

    best = max(candidates, key=lambda i: (score(i), -i))
    mono, pitch, _ = stats[best]
    return best, (
        f"best of {len(candidates)} non-drum tracks by monophony ({mono:.2f}) "
        f"and register (mean pitch {pitch:.0f})"
    )


def quantize_quarters(starts_q: np.ndarray, ends_q: np.ndarray, pitches: np.ndarray,
                      steps_per_quarter: int = STEPS_PER_QUARTER) -> np.ndarray:
    """Quantize note times given in quarter notes to steps.

    Parameters
    ----------
    starts_q, ends_q : np.ndarray, shape (n,), float
    pitches : np.ndarray, shape (n,), int

    Returns
    -------
    np.ndarray, shape (n, 3), int32; every note lasts at least one step.
    """
    if len(pitches) == 0:
        return empty_notes()
    s = np.round(np.asarray(starts_q, float) * steps_per_quarter).astype(np.int64)
    e = np.round(np.asarray(ends_q, float) * steps_per_quarter).astype(np.int64)
    e = np.maximum(e, s + 1)
    return np.stack([np.asarray(pitches, np.int64), s, e], axis=1).astype(np.int32)


def bars_from_time_signatures(changes: list[tuple[float, int, int]], end_quarter: float,
                              steps_per_quarter: int = STEPS_PER_QUARTER) -> np.ndarray:
    """Bar lines from time-signature changes.

    Parameters
    ----------
    changes : list of (quarter offset, numerator, denominator), sorted; empty = 4/4.
    end_quarter : float
        Bars are produced until they cover this point.

    Returns
    -------
    np.ndarray, shape (b, 2), int32 of ``(start_step, length_steps)``.
    """
    if not changes or changes[0][0] > 0:
        changes = [(0.0, *DEFAULT_TIME_SIGNATURE)] + list(changes)
    bars = []
    for k, (off, num, den) in enumerate(changes):
        if num <= 0 or den <= 0:
            continue
        length = int(round(num * 4.0 / den * steps_per_quarter))
        if length <= 0:
            continue
        start = int(round(off * steps_per_quarter))
        stop = changes[k + 1][0] * steps_per_quarter if k + 1 < len(changes) else end_quarter * steps_per_quarter
        while start < stop and len(bars) < 1_000_000:
            bars.append((start, length))
            start += length
    return np.asarray(bars, dtype=np.int32).reshape(-1, 2)


def is_duple_bar(length_steps: int, steps_per_quarter: int = STEPS_PER_QUARTER) -> bool:
    """True for bars the 16-step models can tile: 2/4 (8 steps) and 4/4 or 2/2 (16)."""
    return length_steps * STEPS_PER_QUARTER in (8 * steps_per_quarter, 16 * steps_per_quarter)


@dataclass
class WindowResult:
    """Phrase windows of one melody.

    tokens : (n, steps) uint8 ; start_bars : (n,) int32 index into ``melody.bars``;
    ``reason`` says why nothing came out when n == 0.
    """

    tokens: np.ndarray
    start_bars: np.ndarray
    reason: str = ""


def melody_windows(melody: Melody, n_bars: int, all_meters: bool = False) -> WindowResult:
    """Slide windows of ``n_bars`` model bars (16 steps each) over a melody.

    Windows start on bar lines of contiguous duple-meter regions, with a hop of
    one model bar (one 4/4 bar, or two 2/4 bars). With ``all_meters``, regions of
    bars of any other whole length (3/4, 6/8, 9/8, ...) give windows too: they
    start on the region's bar lines, a whole number of its bars apart (at least a
    model bar), and run across its bar lines as one stream, as songs are read.
    Windows that are mostly silence are dropped. Duplicates are *not* dropped
    here (see the dataset).
    """
    steps = n_bars * STEPS_PER_BAR * melody.steps_per_quarter // STEPS_PER_QUARTER
    hop = steps // n_bars
    bars = melody.bars
    toks, starts = [], []
    n_duple_bars = 0
    n_silent = 0
    i = 0
    model_bar = steps // n_bars
    while i < len(bars):
        duple = is_duple_bar(int(bars[i, 1]), melody.steps_per_quarter)
        if not duple and not all_meters:
            i += 1
            continue
        j = i  # region of contiguous duple bars [i, j] (or of bars of one other length)
        while (j + 1 < len(bars) and bars[j + 1, 0] == bars[j, 0] + bars[j, 1]
               and (is_duple_bar(int(bars[j + 1, 1]), melody.steps_per_quarter) if duple
                    else bars[j + 1, 1] == bars[i, 1])):
            j += 1
        n_duple_bars += j - i + 1
        region_start = int(bars[i, 0])
        region_end = int(bars[j, 0] + bars[j, 1])
        line_set = set(bars[i:j + 1, 0].tolist()) | {region_end}
        own = int(bars[i, 1])
        region_hop = hop if duple else own * -(-model_bar // own)
        for b in range(i, j + 1):
            s = int(bars[b, 0])
            if (s - region_start) % region_hop or s + steps > region_end or (duple and (s + steps) not in line_set):
                continue
            notes = melody.notes
            inside = notes[(notes[:, 1] >= s) & (notes[:, 1] < s + steps)]
            shifted = inside - np.array([0, s, s], dtype=np.int32)
            tok = notes_to_tokens(shifted, steps)
            sounding = np.minimum(shifted[:, 2], steps) - shifted[:, 1]
            if len(inside) < MIN_NOTES_PER_PHRASE or sounding.sum() < MIN_SOUNDING_FRACTION * steps:
                n_silent += 1
                continue
            toks.append(tok.astype(np.uint8))
            starts.append(b)
        i = j + 1
    reason = ""
    if not toks:
        if len(bars) == 0 or len(melody.notes) == 0:
            reason = "no notes"
        elif n_duple_bars == 0:
            num, den = melody.time_signature
            reason = (f"meter {num}/{den}: datasets keep duple meters (2/4, 4/4, 2/2) unless prepared with "
                      f"--all-meters")
        elif n_silent:
            reason = f"all {n_silent} windows of {n_bars} bars are mostly silence"
        else:
            reason = f"too short: fewer than {n_bars} contiguous duple bars"
    return WindowResult(
        np.asarray(toks, dtype=np.uint8).reshape(-1, steps),
        np.asarray(starts, dtype=np.int32),
        reason,
    )


def meter_windows(melody: Melody, n_bars: int, meter: tuple[int, int]) -> WindowResult:
    """Windows of ``n_bars`` bars of a triple or compound ``meter`` (3/4, 6/8, 9/8), on its bar lines.

    Only pieces whose meter a model of ``meter`` reads (:data:`MODEL_METERS`) give windows: a
    6/8 model reads 6/8, 3/8 (two bars are one of its bars) and 12/8 (one bar is two). Windows
    start on the model's bar lines inside a run of the piece's own bars, with a hop of one model
    bar, and never cross a meter change. tokens : (n, n_bars * bar) uint8.
    """
    meter = (int(meter[0]), int(meter[1]))
    if meter not in MODEL_METERS or meter == (4, 4):
        raise ValueError(f"meter_windows takes {', '.join(f'{n}/{d}' for n, d in MODEL_METERS if (n, d) != (4, 4))}"
                         f", not {meter[0]}/{meter[1]}")
    model_bar = meter[0] * 4 * melody.steps_per_quarter // meter[1]
    steps = n_bars * model_bar
    empty = np.zeros((0, steps), np.uint8)
    ts = (int(melody.time_signature[0]), int(melody.time_signature[1]))
    if ts not in MODEL_METERS[meter]:
        return WindowResult(empty, np.zeros(0, np.int32),
                            f"meter {ts[0]}/{ts[1]}: not read by a {meter[0]}/{meter[1]} model")
    own = ts[0] * 4 * melody.steps_per_quarter // ts[1]
    bars, notes = melody.bars, melody.notes
    toks, starts, n_silent = [], [], 0
    i = 0
    while i < len(bars):
        if int(bars[i, 1]) != own:
            i += 1
            continue
        j = i
        while j + 1 < len(bars) and bars[j + 1, 0] == bars[j, 0] + bars[j, 1] and bars[j + 1, 1] == own:
            j += 1
        region_start, region_end = int(bars[i, 0]), int(bars[j, 0] + bars[j, 1])
        for s in range(region_start, region_end - steps + 1, model_bar):
            inside = notes[(notes[:, 1] >= s) & (notes[:, 1] < s + steps)]
            shifted = inside - np.array([0, s, s], dtype=np.int32)
            sounding = np.minimum(shifted[:, 2], steps) - shifted[:, 1]
            if len(inside) < MIN_NOTES_PER_PHRASE or sounding.sum() < MIN_SOUNDING_FRACTION * steps:
                n_silent += 1
                continue
            toks.append(notes_to_tokens(shifted, steps).astype(np.uint8))
            starts.append(i + (s - region_start) // own)
        i = j + 1
    reason = ""
    if not toks:
        reason = (f"all {n_silent} windows of {n_bars} bars are mostly silence" if n_silent
                  else "no notes" if len(notes) == 0 else f"too short: fewer than {n_bars} bars of {meter[0]}/{meter[1]}")
    return WindowResult(np.asarray(toks, np.uint8).reshape(-1, steps), np.asarray(starts, np.int32), reason)


def clip_bars(bars: np.ndarray, steps_per_quarter: int = STEPS_PER_QUARTER) -> np.ndarray:
    """Normalize bar lines; shape (b, 2) in, (b', 2) int32 out.

    Bars with absurd lengths (> MAX_BAR_STEPS) are dropped, and long duple
    bars (4/2, 2/1, 4/1: 2 or 4 model bars) are split into 4/4-sized bars.
    """
    bars = np.asarray(bars, dtype=np.int32).reshape(-1, 2)
    bars = bars[(bars[:, 1] > 0) & (bars[:, 1] <= MAX_BAR_STEPS)]
    model_bar = 4 * steps_per_quarter
    out = []
    for start, length in bars.tolist():
        if length in (2 * model_bar, 4 * model_bar):
            out += [(start + k * model_bar, model_bar) for k in range(length // model_bar)]
        else:
            out.append((start, length))
    return np.asarray(out, dtype=np.int32).reshape(-1, 2)
