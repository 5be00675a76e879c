"""Which bars of a song the app uses: the whole song, or the bars the user picks.

Bars are numbered as in the file: its first full bar is bar 1, a pickup
before it bar 0. ``from_bar`` and ``n_bars`` come from the page; 0 bars means
"to the end". The page shows :func:`describe_selection` before anything runs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from musiclatent.generation.songs import count
from musiclatent.midi.melody import Melody
from musiclatent.representations.chords import NO_CHORD

from .workspace import InputError

WHOLE = (1, 0)  # from bar 1, to the end


def bar_choice(from_bar, n_bars, which: str = "Song") -> tuple[int, int]:
    """(first bar, number of bars) from the page's fields; empty fields mean the whole song."""
    try:
        first = 1 if from_bar in (None, "") else int(round(float(from_bar)))
        count_ = 0 if n_bars in (None, "") else int(round(float(n_bars)))
    except (TypeError, ValueError):
        raise InputError(f"{which}: the bars to use must be whole numbers") from None
    if first < 0 or count_ < 0:
        raise InputError(f"{which}: the first bar and the number of bars cannot be negative")
    return max(first, 0), count_


def _span(melody: Melody, first: int, n_bars: int) -> tuple[int, int, int]:
    """(start step, end step, bars in the song) of a choice; raises InputError outside the song."""
    bars = melody.bars
    total = len(bars)
    song_end = max(int(melody.notes[:, 2].max()) if len(melody.notes) else 0, int(bars[-1].sum()) if total else 0)
    if first > max(total, 1):
        raise InputError(f"the song has {count(total, 'bar')}; start at bar {max(total, 1)} or earlier")
    start = 0 if first <= 1 or not total else int(bars[first - 1, 0])
    last = (first if first >= 1 else 1) - 1 + n_bars
    end = song_end if n_bars == 0 or last >= total else int(bars[last, 0])
    return start, end, total


def chords_between(events: np.ndarray | None, start: int, end: int) -> np.ndarray | None:
    """Chord events (k, 2) ``(start step, chord id)`` of the steps ``[start, end)``, moved to start
    at step 0: the chord sounding at ``start`` opens them, 'no chord' follows ``end`` when the song
    goes on. None when no chord sounds there."""
    if events is None:
        return None
    events = np.asarray(events, np.int32).reshape(-1, 2)
    sounding = events[events[:, 0] <= start][-1:]
    inside = events[(events[:, 0] > start) & (events[:, 0] < end)]
    out = np.concatenate([sounding, inside]) - [start, 0]
    out[:, 0] = np.maximum(out[:, 0], 0)
    if (events[:, 0] >= end).any():
        out = np.concatenate([out, [[end - start, NO_CHORD]]])
    return out.astype(np.int32) if (out[:, 1] != NO_CHORD).any() else None


def select_bars(melody: Melody, first: int = 1, n_bars: int = 0) -> tuple[Melody, str]:
    """The chosen bars of a melody, moved to start at step 0, and a remark ('' for the whole song).

    Notes that start inside the bars are kept and cut at their end; from bar 1
    (or 0) a pickup is kept.
    """
    if (max(first, 1), n_bars) == WHOLE:
        return melody, ""
    start, end, total = _span(melody, first, n_bars)
    notes = melody.notes[(melody.notes[:, 1] >= start) & (melody.notes[:, 1] < end)].copy()
    notes[:, 2] = np.minimum(notes[:, 2], end)
    if not len(notes):
        raise InputError(f"bars {first}–{first + max(n_bars, 1) - 1} of the song have no melody notes")
    bars = melody.bars[(melody.bars[:, 0] >= start) & (melody.bars[:, 0] < end)]
    shift = np.array([0, start, start], np.int32)
    chosen = replace(melody, notes=(notes - shift).astype(np.int32), bars=(bars - [start, 0]).astype(np.int32),
                     chords=chords_between(melody.chords, start, end))
    return chosen, f"uses bars {max(first, 1)}–{max(first, 1) + len(bars) - 1} of {total}"


def describe_selection(melody: Melody, first: int = 1, n_bars: int = 0) -> str:
    """What will be used, said before the run: 'Uses the whole song: 145 bars, 422 notes.'"""
    total = len(melody.bars)
    if (max(first, 1), n_bars) == WHOLE:
        return f"Uses the whole song: {count(total, 'bar')}, {count(len(melody.notes), 'note')}."
    chosen, remark = select_bars(melody, first, n_bars)
    return f"{remark[0].upper()}{remark[1:]}: {count(len(chosen.bars), 'bar')}, {count(len(chosen.notes), 'note')}."
