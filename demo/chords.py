"""Chords in the app: the Generate tab's progression, and the chords read from a song.

A progression typed on the Generate tab (``"C G Am F"``) is read by
:func:`~musiclatent.representations.chords.parse_progression` and repeated over
the bars, one chord a bar or two; the melodies are played over it by the shipped
chord model of the served model's family
(:meth:`~demo.generator.Generator.for_sampling`), and every MIDI file gets a
block-chord track. Chords sound on half bars of 4/4, so they go with 4/4 only.

Songs picked on the Interpolate and Restyle tabs are read with their chords
(:func:`~musiclatent.midi.io.read_song`); :func:`song_chords_line` says where
they came from and how they start, before a run.
"""

from __future__ import annotations

import re

import numpy as np

from musiclatent.generation.meters import meter_text
from musiclatent.generation.songs import count
from musiclatent.midi.melody import Melody
from musiclatent.representations.chords import NO_CHORD, ChordError, chord_name, parse_progression

from .workspace import InputError

CHORDS_PER_BAR = (1, 2)
CHORD_METER = (4, 4)          # chords sound on half bars of 4/4
MAX_PROGRESSION = 64          # chords one progression may hold
MAX_PROGRESSION_CHARS = 400   # characters of the chords box
SHOWN_CHORDS = 8              # chord changes a song's line names before "…"
SOURCES = {"chord symbols": "chord symbols", "other parts": "the score's other parts",
           "accompaniment": "the accompaniment"}
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()'+,:#/♭♯-]+")


def chord_text(text: str) -> str:
    """User text inside a chord message, made safe to show (chord spellings kept: ``F#m7b5``, ``C/E``)."""
    return _UNSAFE.sub("_", str(text)).replace("'", "’")


def progression_choice(text) -> list[int] | None:
    """The Generate tab's chords box -> chord ids; empty -> None (no chords).

    Raises
    ------
    InputError
        Naming the first symbol that is no chord, and its position.
    """
    if text is None or not str(text).strip():
        return None
    if len(str(text)) > MAX_PROGRESSION_CHARS:
        raise InputError(f"Chords: at most {MAX_PROGRESSION_CHARS} characters, please")
    try:
        ids = parse_progression(str(text))
    except ChordError as err:
        raise InputError(f"Chords: {chord_text(err)}") from None
    if len(ids) > MAX_PROGRESSION:
        raise InputError(f"Chords: a progression holds at most {MAX_PROGRESSION} chords, not {len(ids)}")
    return ids


def chords_per_bar_choice(value) -> int:
    """1 or 2 from the page (None: 1)."""
    if value in (None, ""):
        return CHORDS_PER_BAR[0]
    try:
        per_bar = float(value)
    except (TypeError, ValueError):
        per_bar = float("nan")
    if per_bar not in CHORDS_PER_BAR:
        raise InputError(f"chords per bar must be {' or '.join(map(str, CHORDS_PER_BAR))}")
    return int(per_bar)


def check_chord_meter(meter) -> None:
    """Chords sound on half bars of 4/4: another meter with chords is an InputError."""
    if meter is not None and tuple(meter) != CHORD_METER:
        raise InputError(f"Chords are played in {meter_text(CHORD_METER)} only: pick {meter_text(CHORD_METER)} "
                         f"for a progression, or clear the chords box to sample {meter_text(meter)}")


def progression_names(ids) -> str:
    """Chord ids -> their names, normalised: ``"C G Am F"``."""
    return " ".join(chord_name(int(c)) for c in ids)


def progression_line(ids, per_bar: int, bars: int) -> str:
    """What the status says about a progression: 'over C G Am F (a chord a bar)', and when the
    bars hold only part of it, which part."""
    how = "a chord a bar" if per_bar == 1 else "two chords a bar"
    line = f"over {progression_names(ids)} ({how}, repeated over the bars)"
    fit = bars * per_bar
    if len(ids) > fit:
        line += f"; {count(bars, 'bar')} hold only its first {count(fit, 'chord')}"
    return line


# --------------------------------------------------------------------------- chords read from songs

def has_chords(melody: Melody) -> bool:
    """True when a song was read with chords and at least one of them is a chord (not all 'no chord')."""
    events = getattr(melody, "chords", None)
    return events is not None and bool((np.asarray(events).reshape(-1, 2)[:, 1] != NO_CHORD).any())


def song_changes(melody: Melody) -> list[int]:
    """A song's chord changes in order, without the 'no chord' after its music ends."""
    ids = [int(c) for c in np.asarray(melody.chords).reshape(-1, 2)[:, 1]]
    while ids and ids[-1] == NO_CHORD:
        ids.pop()
    return ids


def song_chords_line(melody: Melody, which: str = "Song") -> str:
    """'**Song A** chords from the accompaniment (track “Chords”, confidence 0.86): C G7 C F …'
    ('' for a song without chords)."""
    if not has_chords(melody):
        return ""
    info = (melody.track or {}).get("chords") or {}
    source = str(info.get("source", ""))
    details = []
    if info.get("tracks"):
        tracks = [f"“{chord_text(t)[:40]}”" for t in info["tracks"]]
        details.append(("track " if len(tracks) == 1 else "tracks ") + ", ".join(tracks))
    if info.get("mean_confidence") is not None and source != "chord symbols":
        details.append(f"confidence {float(info['mean_confidence']):.2f}")
    if info.get("unparsed"):
        details.append(f"{info['unparsed']} of {info.get('symbols', '?')} symbols unreadable")
    changes = song_changes(melody)
    names = progression_names(changes[:SHOWN_CHORDS]) + (" …" if len(changes) > SHOWN_CHORDS else "")
    where = SOURCES.get(source, chord_text(source) or "the file")
    return (f"**{which}** chords from {where}" + (f" ({', '.join(details)})" if details else "") +
            f": {names} · {count(len(changes), 'change')}")


def chords_left_out(result, *melodies: Melody) -> list[str]:
    """A remark when songs were read with chords but the result has no chord track (a model
    measured in other bars than 4/4 ran them)."""
    if result.chords or not any(has_chords(m) for m in melodies):
        return []
    return ["the chords read are left out: chord tracks go with melodies in 4/4 bars only"]
