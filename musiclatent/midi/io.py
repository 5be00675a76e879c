"""Reading and writing music files: the only module that touches them on disk.

``read_*`` / ``write_*`` touch the disk; the ``from_*`` / ``to_*`` converters
they call work in memory (:mod:`~musiclatent.midi.midifile` for MIDI,
:mod:`~musiclatent.midi.notation` for scores through music21). Every reader
turns untrusted input it cannot read into :class:`MusicReadError` with a
readable reason; an exception of another kind is a bug in musiclatent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from musiclatent.constants import MAX_FILE_BYTES, STEPS_PER_QUARTER
from musiclatent.midi.formats import MUSIC_EXTENSIONS, MusicReadError, count_abc_tunes, sniff_format, split_abc_tunes
from musiclatent.midi.guards import MAX_TUNES_TRIED
from musiclatent.midi.chords import ChordReading, chords_from_midi_bytes, chords_from_score
from musiclatent.midi.melody import Melody
from musiclatent.midi.meter import meter_problem, with_meter
from musiclatent.midi.midifile import from_midi_bytes, to_pretty_midi
from musiclatent.midi.notation import first_score, from_abc_text, from_music21, parse_score
from musiclatent.midi.repeats import abc_repeat_signs, expand_repeats

__all__ = [
    "MusicReadError",
    "MUSIC_EXTENSIONS",
    "sniff_format",
    "from_midi_bytes",
    "from_music21",
    "from_abc_text",
    "split_abc_tunes",
    "count_abc_tunes",
    "read_melodies",
    "read_leadsheets",
    "read_melody",
    "to_pretty_midi",
    "write_midi",
    "find_music_files",
]


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """A music file's bytes, refusing one over ``MAX_FILE_BYTES`` before reading it; every failure
    is a MusicReadError."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MusicReadError(f"file too large ({size / 1e6:.1f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
        return path.read_bytes()
    except OSError as err:
        raise MusicReadError(f"cannot read file: {err.strerror or err}") from None


def read_melodies(path: str | os.PathLike, track: str | int | None = None, style: str = "",
                  steps_per_quarter: int = STEPS_PER_QUARTER, data: bytes | None = None,
                  tune_range: tuple[int, int] | None = None, name: str | None = None,
                  meter: tuple[int, int] | None = None, strict: bool = False,
                  expand: bool = False) -> list[tuple[str, Melody | MusicReadError]]:
    """Read every piece of a file: an ABC book yields one melody per tune.

    ``tune_range`` (start, stop) limits an ABC book to some of its tunes;
    ``name`` replaces the path in piece ids and sources. ``meter`` forces the bars
    (:func:`~musiclatent.midi.meter.with_meter`; a long opening is then no error); ``strict``
    refuses a piece whose meter changes at most bar lines (:func:`~musiclatent.midi.meter.meter_problem`).
    ``expand`` reads a score (ABC, MusicXML, **kern; not MIDI, which has no repeat signs) as
    played: repeats and first/second endings written out, the bars they split joined
    (:mod:`musiclatent.midi.repeats`; a score it cannot expand is read as written), and
    ``melody.track["repeats"]`` says which.

    Returns a list of ``(piece id, Melody or MusicReadError)`` so one bad tune
    never hides the others; raises MusicReadError when the file itself is bad.
    """
    return [(pid, mel) for pid, mel, _ in _read_pieces(path, track, style, steps_per_quarter, data, tune_range,
                                                       name, False, meter, strict, expand)]


def read_leadsheets(path: str | os.PathLike, track: str | int | None = None, style: str = "",
                    steps_per_quarter: int = STEPS_PER_QUARTER, data: bytes | None = None,
                    tune_range: tuple[int, int] | None = None, name: str | None = None,
                    meter: tuple[int, int] | None = None, strict: bool = False,
                    expand: bool = False) -> list[tuple[str, Melody | MusicReadError, ChordReading | None]]:
    """:func:`read_melodies`, plus the chords of every piece that has a melody.

    Scores give their chord symbols (else their other parts' chords, one per beat); MIDI files
    their accompaniment tracks' chords, one per half bar (:mod:`musiclatent.midi.chords`).
    With ``expand`` the chords are read from the same expanded score as the melody, so they
    stay on its bars. Returns ``(piece id, Melody or MusicReadError, ChordReading or None)`` triples.
    """
    return _read_pieces(path, track, style, steps_per_quarter, data, tune_range, name, True, meter, strict, expand)


def _with_meter(mel: Melody, meter: tuple[int, int] | None, strict: bool) -> Melody:
    """The melody re-barred in a forced ``meter``; with ``strict``, a MusicReadError for one whose
    meter changes at most bar lines."""
    if meter is not None:
        return with_meter(mel, meter)
    problem = meter_problem(mel.bars, mel.time_signature) if strict else None
    if problem:
        raise MusicReadError(problem)
    return mel


def _read_pieces(path, track, style, steps_per_quarter, data, tune_range, name, with_chords: bool,
                 meter: tuple[int, int] | None = None, strict: bool = False, expand: bool = False):
    path = Path(path)
    if data is None:
        data = read_file_bytes(path)
    if len(data) > MAX_FILE_BYTES:
        raise MusicReadError(f"file too large ({len(data) / 1e6:.1f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
    fmt = sniff_format(data, path.name)
    kw = dict(track=track, style=style, steps_per_quarter=steps_per_quarter)
    label = name if name is not None else str(path)
    if fmt == "midi":
        mel = _with_meter(from_midi_bytes(data, source=label, **kw), meter, strict)
        return [(label, mel, chords_from_midi_bytes(data, mel, steps_per_quarter) if with_chords else None)]

    def melody_of(score, pid: str, join_bars: bool) -> Melody:
        return _with_meter(from_music21(score, source=pid, strict_pickup=meter is None, join_bars=join_bars, **kw),
                           meter, strict)

    def one(pid: str, text_or_bytes, fmt_: str):
        try:
            if expand and fmt_ == "abc":
                text_or_bytes = abc_repeat_signs(text_or_bytes)
            score = first_score(parse_score(text_or_bytes, fmt_))
            if not expand:
                mel = melody_of(score, pid, False)
            else:   # as played; a score whose played music we cannot read is read as written
                played = expand_repeats(score)
                try:
                    mel = melody_of(played.score, pid, True)
                    score, status, why = played.score, played.status, played.reason
                except MusicReadError as err:
                    if played.score is score:
                        raise
                    mel, status, why = melody_of(score, pid, True), "unexpandable", f"as played: {err}"
                mel.track.update({"repeats": status, **({"repeats_reason": why} if why else {})})
        except MusicReadError as err:
            return pid, err, None
        return pid, mel, chords_from_score(score, mel, steps_per_quarter) if with_chords else None

    if fmt == "abc":
        header, tunes = split_abc_tunes(data.decode("utf-8", errors="replace"))
        if not tunes:
            raise MusicReadError("ABC file holds no tune (no X: line)")
        first, stop = tune_range if tune_range else (0, len(tunes))
        return [one(f"{label}#{i}", header + tunes[i], "abc") for i in range(first, min(stop, len(tunes)))]
    result = one(label, data, fmt)
    if isinstance(result[1], MusicReadError):
        raise result[1]
    return [result]


def read_melody(path: str | os.PathLike, track: str | int | None = None, style: str = "",
                steps_per_quarter: int = STEPS_PER_QUARTER, data: bytes | None = None,
                meter: tuple[int, int] | None = None) -> Melody:
    """Read the melody of a file (for an ABC book, its first readable tune among the first few);
    ``meter`` forces its bars."""
    errors = []
    for _, result in read_melodies(path, track=track, style=style, steps_per_quarter=steps_per_quarter, data=data,
                                   tune_range=(0, MAX_TUNES_TRIED), meter=meter, strict=True):
        if isinstance(result, Melody):
            return result
        errors.append(str(result))
    raise MusicReadError(errors[0] if errors else "no music found")


def read_song(path: str | os.PathLike, track: str | int | None = None, meter: tuple[int, int] | None = None,
              data: bytes | None = None, expand: bool = True) -> Melody:
    """A song for the generation commands: :func:`read_melody` (strict about meters) plus its
    chords in ``melody.chords`` when it has readable ones (chord symbols, a score's other parts or
    MIDI accompaniment; how they were read is in ``melody.track["chords"]``). A score is read as
    played (``expand``: repeats and first/second endings written out, as ``prepare`` reads
    training tunes); ``expand=False`` reads it as written."""
    errors = []
    for _, result, reading in read_leadsheets(path, track=track, data=data, tune_range=(0, MAX_TUNES_TRIED),
                                              meter=meter, strict=True, expand=expand):
        if isinstance(result, Melody):
            return attach_chords(result, reading)
        errors.append(str(result))
    raise MusicReadError(errors[0] if errors else "no music found")


def attach_chords(mel: Melody, reading: ChordReading | None) -> Melody:
    """Put a piece's chords in ``mel.chords`` (and how they were read in ``mel.track["chords"]``)
    when the reading is trusted and holds a chord (a drone is no chords); returns ``mel``."""
    events = np.asarray(reading.events if reading is not None else np.zeros((0, 2)), np.int64).reshape(-1, 2)
    if reading is not None and reading.trusted and (events[:, 1] > 0).any():
        mel.chords = np.asarray(reading.events, np.int32)
        mel.track["chords"] = reading.meta()
    return mel


def find_music_files(paths: list[str | os.PathLike]) -> list[tuple[Path, str]]:
    """Expand files and folders into ``(file, style)`` pairs, sorted.

    In a folder, the first sub-folder name is the style; files directly in the
    folder take the folder's own name as their (single) style.
    """
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in MUSIC_EXTENSIONS:
                    rel = f.relative_to(p).parts
                    out.append((f, rel[0] if len(rel) > 1 else (p.resolve().name or "default")))
        elif p.exists():
            out.append((p, p.resolve().parent.name or "default"))
        else:
            raise MusicReadError(f"no such file or folder: {p}")
    return out


def write_midi(path: str | os.PathLike, pm) -> Path:
    """Write a PrettyMIDI object to ``path`` atomically (type-1 MIDI)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    pm.write(str(tmp))
    os.replace(tmp, path)
    return path
