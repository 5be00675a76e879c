"""Scores (ABC, MusicXML, MXL, Humdrum **kern) -> melodies, in memory, through music21.

Only music21's own failures become :class:`MusicReadError` wholesale: its
parsers (:func:`parse_score`) and the walks over the objects they build. Our
conversion code around them raises normally, so the fuzz tests see its bugs.
"""

from __future__ import annotations

import os

import numpy as np

from musiclatent.constants import DEFAULT_PROGRAM, DEFAULT_QPM, DEFAULT_TIME_SIGNATURE, DEFAULT_VELOCITY, STEPS_PER_QUARTER
from musiclatent.midi.formats import MusicReadError, split_abc_tunes
from musiclatent.midi.guards import MAX_ABC_MUSIC_CHARS, MAX_UNZIPPED_BYTES, abc_music_chars, unzipped_size
from musiclatent.midi.melody import Melody, Track, bars_from_time_signatures, choose_melody_track, clip_bars, quantize_quarters
from musiclatent.midi.repeats import join_split_bars
from musiclatent.representations.pianoroll import skyline

__all__ = ["from_music21", "from_abc_text", "parse_score", "first_score", "part_notes"]


def part_notes(part, steps_per_quarter: int) -> tuple[np.ndarray, list[int]]:
    """Quantized notes (n, 3) of a music21 part with ties merged; chords -> top note."""
    starts, ends, pitches = [], [], []
    open_tie: dict[int, int] = {}
    for el in part.flatten().notes:
        ql = float(el.quarterLength)
        if ql <= 0:  # grace notes
            continue
        off = float(el.offset)
        if el.isChord:
            if not el.pitches:
                continue
            midi = max(p.midi for p in el.pitches)
        else:
            midi = el.pitch.midi
        tie = el.tie.type if el.tie is not None else None
        if tie in ("stop", "continue") and midi in open_tie:
            k = open_tie[midi]
            ends[k] = off + ql
            if tie == "stop":
                del open_tie[midi]
            continue
        starts.append(off)
        ends.append(off + ql)
        pitches.append(midi)
        if tie == "start":
            open_tie[midi] = len(starts) - 1
    notes = quantize_quarters(np.asarray(starts), np.asarray(ends), np.asarray(pitches, dtype=np.int64), steps_per_quarter)
    return notes, pitches


def from_music21(score, track: str | int | None = None, source: str = "", style: str = "",
                 steps_per_quarter: int = STEPS_PER_QUARTER, strict_pickup: bool = True,
                 join_bars: bool = False) -> Melody:
    """Extract the melody of a parsed music21 score.

    Notes come straight from music21's offsets and durations (never through
    its MIDI writer). Bars come from the measures; an incomplete first
    measure (a pickup) is not a full bar, so windows start after it. With
    ``join_bars``, a bar split in two short measures (a section's last bar and
    the pickup into the next, as repeats write it) is one bar
    (:func:`~musiclatent.midi.repeats.join_split_bars`).
    """
    from music21 import meter, tempo as m21tempo, key as m21key

    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    tracks = []
    for i, part in enumerate(parts):
        notes, _ = part_notes(part, steps_per_quarter)
        name = str(getattr(part, "partName", None) or f"part {i}")
        tracks.append(Track(index=i, name=name, notes=notes))
    # scores list the top voice first: prefer it unless a name says otherwise
    named = [i for i, t in enumerate(tracks) if any(h in t.name.lower() for h in ("melody", "soprano", "vocal", "voice"))]
    pick, reason = (named[0], f"part name {tracks[named[0]].name!r}") if named else (0, "top part of the score")
    if len(tracks) == 1 or track not in (None, "") or len(tracks[pick].notes) == 0:
        try:  # a forced part, a lone part, or a preferred part without notes: the usual choice
            pick, reason = choose_melody_track(tracks, force=track)
        except ValueError as err:  # no such part, only drums, no notes anywhere
            raise MusicReadError(str(err)) from None
    part = parts[pick]
    notes = skyline(tracks[pick].notes)
    if len(notes) == 0:
        raise MusicReadError("no notes in the score")
    bars = []
    measures = list(part.getElementsByClass("Measure"))
    if strict_pickup and len(measures) > 2:
        check_opening(measures)
    spans = [(float(m.offset), float(m.duration.quarterLength), float(m.barDuration.quarterLength)) for m in measures]
    if join_bars:
        spans = join_split_bars(spans)
    for k, (offset_q, length_q, bar_q) in enumerate(spans):
        if length_q + 1e-6 < bar_q and k == 0:
            continue  # pickup
        bars.append((int(round(offset_q * steps_per_quarter)), int(round(bar_q * steps_per_quarter))))
    if not measures:
        end_q = float(notes[:, 2].max()) / steps_per_quarter
        ts_list = [(float(t.offset), t.numerator, t.denominator) for t in part.flatten().getElementsByClass(meter.TimeSignature)]
        bars_arr = bars_from_time_signatures(ts_list, end_q, steps_per_quarter)
    else:
        bars_arr = np.asarray(bars, dtype=np.int32).reshape(-1, 2)
    flat = part.flatten()
    ts = None
    for m in measures[:2]:
        ts = ts or m.timeSignature or m.getContextByClass(meter.TimeSignature)
    ts = ts or next(iter(flat.getElementsByClass(meter.TimeSignature)), None)
    mm = next(iter(score.flatten().getElementsByClass(m21tempo.MetronomeMark)), None)
    ks = next(iter(flat.getElementsByClass(m21key.KeySignature)), None)
    qpm = DEFAULT_QPM
    if mm is not None:
        try:
            qpm = float(mm.getQuarterBPM() or DEFAULT_QPM)
        except Exception:
            qpm = DEFAULT_QPM
    key_name = ""
    if ks is not None:
        try:
            key_name = str(ks.asKey()) if not isinstance(ks, m21key.Key) else str(ks)
        except Exception:
            key_name = f"{ks.sharps} sharps"
    return Melody(
        notes=notes, bars=clip_bars(bars_arr, steps_per_quarter),
        qpm=float(min(max(qpm, 10.0), 400.0)),
        time_signature=(ts.numerator, ts.denominator) if ts is not None else DEFAULT_TIME_SIGNATURE,
        key=key_name, program=DEFAULT_PROGRAM, velocity=DEFAULT_VELOCITY, source=source, style=style,
        track={"index": pick, "name": tracks[pick].name, "reason": reason, "candidates": [t.name for t in tracks]},
        steps_per_quarter=steps_per_quarter,
    )


def _check_mxl_size(data: bytes) -> None:
    """Refuse compressed MusicXML that would unzip past MAX_UNZIPPED_BYTES (a zip bomb)."""
    import zipfile

    try:
        total = unzipped_size(data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
        raise MusicReadError(f"corrupt MXL file ({err})") from None
    if total > MAX_UNZIPPED_BYTES:
        raise MusicReadError(f"MXL file unzips to {total / 1e6:.0f} MB (over {MAX_UNZIPPED_BYTES / 1e6:.0f} MB)")


def _music21_parse(fmt: str, parse, *args, **kwargs):
    """Run one music21 parser; any failure in it is a MusicReadError (it raises many kinds on bad input)."""
    try:
        return parse(*args, **kwargs)
    except Exception as err:  # music21's parsers: IndexError, KeyError, its own exceptions, ...
        raise MusicReadError(f"could not parse {fmt.upper()} ({type(err).__name__}: {str(err)[:200]})") from None


def parse_score(data: bytes | str, fmt: str):
    """Parse score text or MXL bytes with music21; never a path, URL or music21's pickle cache.

    ``fmt`` is ``"abc"``, ``"musicxml"``, ``"krn"`` (text or UTF-8 bytes) or
    ``"mxl"`` (zip bytes). Returns what music21 returns: a Score, or an Opus of
    scores for an ABC book (see :func:`first_score`).
    """
    import tempfile

    from music21 import converter

    if fmt == "mxl":
        _check_mxl_size(data)
        with tempfile.NamedTemporaryFile(suffix=".mxl", delete=False) as fh:
            fh.write(data)  # music21 reads compressed MusicXML only from a path
            tmp = fh.name
        try:  # forceSource/storePickle: no pickle is written to, or loaded from, music21's scratch folder
            return _music21_parse(fmt, converter.parseFile, tmp, format="musicxml", forceSource=True,
                                  storePickle=False)
        finally:
            os.unlink(tmp)
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if fmt == "abc" and abc_music_chars(text) > MAX_ABC_MUSIC_CHARS:
        raise MusicReadError(f"ABC tune too long ({abc_music_chars(text):,} characters of music > "
                             f"{MAX_ABC_MUSIC_CHARS:,}); music21's ABC parser slows down quadratically")
    # parseData, not parse: parse() would open text that looks like a path and fetch one that looks like a URL
    return _music21_parse(fmt, converter.parseData, text,
                          format={"musicxml": "musicxml", "abc": "abc", "krn": "humdrum"}[fmt])


def first_score(parsed):
    """The first score of what :func:`parse_score` returned (an ABC book parses to an Opus)."""
    if not hasattr(parsed, "scores"):
        return parsed
    scores = list(parsed.scores)
    if not scores:
        raise MusicReadError("no tune in the file")
    return scores[0]


def from_abc_text(text: str, **kwargs) -> Melody:
    """Melody of one ABC tune given as text (the first tune if several)."""
    _, tunes = split_abc_tunes(text)
    return from_music21(first_score(parse_score(tunes[0] if tunes else text, "abc")), **kwargs)


def check_opening(measures) -> None:
    """A clear error for a pickup longer than a bar: a first measure longer than the declared bar,
    or (how music21 reads an overfull ABC opening) a full first bar followed by a short one."""
    bar_q = float(measures[0].barDuration.quarterLength)
    first, second = (float(m.duration.quarterLength) for m in measures[:2])
    third = float(measures[2].duration.quarterLength)
    opening = first if first > bar_q + 1e-6 else first + second
    if first > bar_q + 1e-6 or (abs(first - bar_q) < 1e-6 and second + 1e-6 < bar_q and abs(third - bar_q) < 1e-6):
        raise MusicReadError(f"the opening before the first full bar lasts {opening:g} quarter notes, longer than "
                             f"a bar of {bar_q:g}: a pickup cannot be longer than a bar (fix the first measure, or "
                             "give --meter N/D to lay bars from the first note)")
