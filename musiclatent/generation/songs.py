"""Song-level work: whole melodies in, phrase tokens through the model, notes out.

A song is tiled into consecutive phrases of the model's length, starting on
its first duple bar line. Other meters (3/4, 6/8, 9/8, ...) are tiled from their
first bar line as one stream: the model's 4/4-sized phrases run across their bar
lines, but the notes keep their places, so the output is written back in the
song's own meter with its bars where they were. A song shorter than one phrase is padded with silence,
so any input with notes works: there is no "exactly one example" rule and no
4-bar cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from musiclatent.constants import DEFAULT_TIME_SIGNATURE
from musiclatent.midi.melody import Melody, is_duple_bar, model_meter_for
from musiclatent.generation.stream import stream_notes
from musiclatent.representations.pianoroll import notes_to_tokens
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
        return export_meter(self.melody)


def export_meter(melody: Melody) -> tuple[int, int]:
    """The meter a song's results are written in: its own, whenever its bar is a whole number of
    steps (4/4, 3/4, 6/8, 9/8, 5/4, ...); else 4/4."""
    num, den = (int(v) for v in melody.time_signature)
    try:
        MELODY.steps_per_bar((num, den))
    except ValueError:
        return DEFAULT_TIME_SIGNATURE
    return (num, den)


def song_phrases(melody: Melody, steps: int, max_phrases: int = 64, intro: bool = True,
                 align: str = "start", outro: bool = False, meter: tuple[int, int] = (4, 4)) -> Song:
    """Tile a melody into consecutive phrases of ``steps`` steps; (n, steps) tokens.

    ``intro=False`` skips leading silence (an instrumental intro): the first
    phrase starts on the model bar line at or before the first note.
    ``align="end"`` makes the last phrase end on the model bar line at or after
    the last note (padding silence before the first phrase instead of after the
    last); ``outro=True`` extends that end to the song's last bar line.
    ``meter`` is the model's: a 3/4 or 6/8 model tiles the bars of the songs it reads
    (:data:`~musiclatent.midi.melody.MODEL_METERS`) from their first bar line.
    """
    if align not in ("start", "end"):
        raise ValueError(f"align must be 'start' or 'end', not {align!r}")
    notes = melody.notes
    remarks = []
    bars = melody.bars
    bar = MELODY.steps_per_bar(meter)   # the model's bar; songs in other meters step in their own bars
    if tuple(meter) == (4, 4):
        # the song's own bar first (a 2/4 pickup bar before 4/4 is a pickup, not the first bar line)
        own = MELODY.steps_per_bar(melody.time_signature) if tuple(melody.time_signature) in ((4, 4), (2, 2)) else 0
        duple = ([i for i in range(len(bars)) if int(bars[i, 1]) == own]
                 or [i for i in range(len(bars)) if is_duple_bar(int(bars[i, 1]))])
    else:
        own = MELODY.steps_per_bar(melody.time_signature) if model_meter_for(melody.time_signature) == tuple(meter) else 0
        duple = [i for i in range(len(bars)) if own and int(bars[i, 1]) == own]
    if duple:
        start = int(bars[duple[0], 0])
    elif len(bars):
        start, bar = int(bars[0, 0]), int(bars[0, 1])
        num, den = melody.time_signature
        remarks.append(f"meter {num}/{den}: the model's {steps}-step phrases run across its bar lines, "
                       f"and the result keeps {num}/{den} with its bars in place")
    else:
        start = 0
    if len(notes) and notes[0, 1] < start:
        # keep a pickup: start a whole bar earlier (the bar grid stays aligned)
        start -= int(np.ceil((start - notes[0, 1]) / bar)) * bar
    if not intro and len(notes) and notes[0, 1] - start >= bar:
        skipped = int(notes[0, 1] - start) // bar * bar
        remarks.append(f"starts where its melody starts, in bar {bar_number(melody, int(notes[0, 1]))} "
                       f"(the intro before it is skipped)")
        start += skipped
    end = int(notes[:, 2].max()) if len(notes) else start + steps
    if align == "end":
        end = start + int(np.ceil((end - start) / bar)) * bar
        if outro and len(bars):
            end = max(end, start + int(np.ceil((int(bars[-1].sum()) - start) / bar)) * bar)
    n = max(1, int(np.ceil((end - start) / steps)))
    if align == "end":
        start = end - n * steps
    if n > max_phrases:
        which = "first" if align == "start" else "last"
        remarks.append(f"cut to the {which} {max_phrases} phrases of {n}")
        if align == "end":
            start += (n - max_phrases) * steps
        n = max_phrases
    shifted = notes - np.array([0, start, start], dtype=np.int32)
    total = notes_to_tokens(shifted[(shifted[:, 1] >= 0)], n * steps)  # one stream, cut into phrases
    phrases = total.reshape(n, steps)
    return Song(melody, phrases.astype(np.int64), start, remarks)


def align_index(na: int, nb: int, b_ends: bool = False) -> tuple[np.ndarray, np.ndarray, str]:
    """Phrase indices that give two songs the same number of phrases.

    The shorter song is extended by repeating its phrases from its start; with
    ``b_ends``, a shorter B is repeated so that it still ends with its last phrase.
    Returns (indices into A, indices into B, explanation).
    """
    n = max(na, nb)
    ia, ib = np.arange(n) % na, np.arange(n) % nb
    if na == nb:
        return ia, ib, f"both songs have {count(na, 'phrase')}"
    if na < nb:
        return ia, ib, f"A ({count(na, 'phrase')}) is extended to B's {nb} by repeating A from its start"
    if b_ends:
        ib = (nb - 1 - np.arange(n)[::-1]) % nb
        return ia, ib, (f"B ({count(nb, 'phrase')}) is extended to A's {na} by repeating it, "
                        f"ending with its last phrase")
    return ia, ib, f"B ({count(nb, 'phrase')}) is extended to A's {na} by repeating B from its start"


def align_phrases(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Give two songs the same number of phrases: the shorter one is extended by
    repeating its phrases from its start. Returns (a', b', explanation)."""
    ia, ib, how = align_index(len(a), len(b))
    return a[ia], b[ib], how


def join_phrases(phrases: np.ndarray) -> np.ndarray:
    """Consecutive phrases (n, T) as notes (m, 3) on one timeline, read as one stream:
    a phrase that opens with holds continues the note the phrase before it ended on."""
    return stream_notes([np.asarray(phrases)])


def morph_layout(n_phrases: int, n_steps: int) -> list[int]:
    """Which song phrase each interpolation step contributes to the morph: the
    walk across the latent path also moves across the song, opening to ending."""
    if n_steps <= 1:
        return [0] * n_steps
    return [int(round(k * (n_phrases - 1) / (n_steps - 1))) for k in range(n_steps)]


def bar_number(melody: Melody, step: int) -> int:
    """The number of the bar that holds ``step``, in the file's own numbering: its first full
    bar is bar 1, a pickup before it is bar 0. Steps past the last bar go on counting in its length."""
    bars = melody.bars
    if not len(bars):
        return 1 + int(step) // MELODY.steps_per_bar()
    k = int(np.searchsorted(bars[:, 0], int(step), side="right")) - 1
    if k < 0:
        return 0
    start, length = (int(v) for v in bars[k])
    return k + 1 + max(0, int(step) - start) // max(1, length) if k == len(bars) - 1 else k + 1


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 phrase', '3 phrases' (``plural`` for irregular nouns)."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"
