"""Reading and writing music files: the only module that touches them on disk.

``read_*`` / ``write_*`` touch the disk; ``from_*`` / ``to_*`` convert in memory.
Every reader raises :class:`MusicReadError` with a readable reason, or succeeds:
no other exception escapes (malformed files are untrusted input).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np

from musiclatent.constants import (
    DEFAULT_PROGRAM,
    DEFAULT_QPM,
    DEFAULT_RESOLUTION,
    DEFAULT_TIME_SIGNATURE,
    DEFAULT_VELOCITY,
    MAX_FILE_BYTES,
    MAX_NOTES,
    MAX_QUARTERS,
    MAX_TICKS,
    STEPS_PER_QUARTER,
)
from musiclatent.midi.guards import (MAX_ABC_MUSIC_CHARS, MAX_EVENTS, MAX_TUNES_TRIED, MAX_UNZIPPED_BYTES, abc_music_chars,
                                     count_midi_events, unzipped_size)
from musiclatent.midi.melody import Melody, Track, bars_from_time_signatures, choose_melody_track, clip_bars, quantize_quarters
from musiclatent.representations.pianoroll import skyline

__all__ = [
    "MusicReadError",
    "MUSIC_EXTENSIONS",
    "sniff_format",
    "from_midi_bytes",
    "from_music21",
    "from_abc_text",
    "split_abc_tunes",
    "read_melodies",
    "read_melody",
    "to_pretty_midi",
    "write_midi",
    "find_music_files",
]

MUSIC_EXTENSIONS = (".mid", ".midi", ".abc", ".xml", ".mxl", ".musicxml", ".krn")

class MusicReadError(ValueError):
    """A music file could not be turned into a melody; ``str(err)`` says why."""


# --------------------------------------------------------------------------- formats

def sniff_format(data: bytes, name: str = "") -> str:
    """Guess the format from content first, the extension second.

    Returns one of ``"midi"``, ``"mxl"``, ``"musicxml"``, ``"abc"``, ``"krn"``;
    raises MusicReadError for anything else.
    """
    if not data:
        raise MusicReadError("empty file")
    if data[:4] == b"MThd":
        return "midi"
    if data[:4] == b"RIFF" and b"MThd" in data[:64]:
        return "midi"
    if data[:2] == b"PK":
        return "mxl"
    head = data[:4096]
    if b"\x00" in head:
        raise MusicReadError("not a music file (binary data that is not MIDI or MXL)")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<?xml") or "<score-partwise" in text or "<score-timewise" in text:
        if "score-partwise" in text or "score-timewise" in text or name.lower().endswith((".xml", ".musicxml")):
            return "musicxml"
        raise MusicReadError("XML file that is not MusicXML")
    if re.search(r"^\*\*kern", text, re.M):
        return "krn"
    if re.search(r"^X:\s*\d*", text, re.M) or (re.search(r"^K:", text, re.M) and name.lower().endswith(".abc")):
        return "abc"
    raise MusicReadError("not a music file (expected MIDI, ABC, MusicXML or Humdrum **kern)")


# --------------------------------------------------------------------------- MIDI

def _parse_midi_events(data: bytes):
    """Parse MIDI bytes with mido; returns (ticks_per_beat, tracks, tempos, time_sigs).

    Tracks are keyed by (track index, channel) with lists of
    (start_tick, end_tick, pitch, velocity), plus program and name.
    """
    import mido

    # every event takes 2 bytes or more, so only larger files can hold too many
    if len(data) > 2 * MAX_EVENTS and count_midi_events(data, MAX_EVENTS) > MAX_EVENTS:
        raise MusicReadError(f"too many MIDI events (over {MAX_EVENTS:,}); refusing the file")
    try:
        mid = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except EOFError:
        raise MusicReadError("corrupt MIDI file: it ends too early (truncated?)") from None
    except Exception as err:  # mido raises many kinds on corrupt data
        raise MusicReadError(f"corrupt MIDI file ({type(err).__name__}: {err})") from None
    tpb = mid.ticks_per_beat
    if not tpb or tpb <= 0:
        raise MusicReadError("corrupt MIDI file: zero ticks per beat" if not tpb else
                             "MIDI files with SMPTE time division (frames, not beats) are not supported")
    if mid.type == 2:
        raise MusicReadError("MIDI type 2 (independent patterns) is not supported")
    tempos: list[tuple[int, float]] = []
    time_sigs: list[tuple[int, int, int]] = []
    groups: dict[tuple[int, int], dict] = {}
    n_notes = 0
    for ti, track in enumerate(mid.tracks):
        tick = 0
        name = ""
        programs: dict[int, int] = {}
        open_notes: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for msg in track:
            tick += msg.time
            if tick > MAX_TICKS:
                raise MusicReadError(f"MIDI file too long: events past tick {MAX_TICKS:,}")
            kind = msg.type
            if kind == "track_name":
                name = name or str(msg.name)
            elif kind == "set_tempo":
                if msg.tempo > 0:
                    tempos.append((tick, 60_000_000.0 / msg.tempo))
            elif kind == "time_signature":
                time_sigs.append((tick, msg.numerator, msg.denominator))
            elif kind == "program_change":
                programs[msg.channel] = msg.program
            elif kind == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif kind in ("note_off", "note_on"):
                stack = open_notes.get((msg.channel, msg.note))
                if stack:
                    start, vel = stack.pop(0)
                    g = groups.setdefault((ti, msg.channel), {"notes": [], "name": name, "program": None})
                    if tick > start:
                        g["notes"].append((start, tick, msg.note, vel))
                        n_notes += 1
                        if n_notes > MAX_NOTES:
                            raise MusicReadError(f"too many notes (over {MAX_NOTES:,}); refusing the file")
        for (ti2, ch), g in groups.items():
            if ti2 == ti:
                g["name"] = g["name"] or name
                g["program"] = programs.get(ch, g["program"])
    return tpb, groups, sorted(tempos), sorted(time_sigs)


def from_midi_bytes(data: bytes, track: str | int | None = None, source: str = "",
                    style: str = "", steps_per_quarter: int = STEPS_PER_QUARTER) -> Melody:
    """Extract the melody of a MIDI file held in memory.

    Tempo changes do not move notes: times are converted through ticks to
    quarter notes, then quantized to ``steps_per_quarter``.
    """
    if not data:
        raise MusicReadError("empty file")
    if len(data) > MAX_FILE_BYTES:
        raise MusicReadError(f"file too large ({len(data) / 1e6:.1f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
    tpb, groups, tempos, time_sigs = _parse_midi_events(data)
    tracks, n_cut = [], []
    for k, ((ti, ch), g) in enumerate(sorted(groups.items())):
        if not g["notes"]:
            continue
        arr = np.asarray(g["notes"], dtype=np.float64)
        kept = arr[:, 0] / tpb < MAX_QUARTERS
        arr = arr[kept]
        n_cut.append(int(np.sum(~kept)))
        notes = quantize_quarters(arr[:, 0] / tpb, np.minimum(arr[:, 1] / tpb, MAX_QUARTERS), arr[:, 2], steps_per_quarter)
        tracks.append(Track(index=len(tracks), name=g["name"] or f"track {ti} ch {ch + 1}", notes=notes,
                            velocities=arr[:, 3].astype(np.int32),
                            program=g["program"] if g["program"] is not None else DEFAULT_PROGRAM,
                            is_drum=(ch == 9)))
    if not tracks:
        raise MusicReadError("no notes in the MIDI file")
    try:
        pick, reason = choose_melody_track(tracks, force=track)
    except ValueError as err:
        raise MusicReadError(str(err)) from None
    chosen = tracks[pick]
    notes = skyline(chosen.notes)
    if len(notes) == 0:
        raise MusicReadError("the melody track has no notes")
    end_q = float(notes[:, 2].max()) / steps_per_quarter
    ts = [(t / tpb, n, d) for t, n, d in time_sigs if t / tpb < end_q]
    bars = clip_bars(bars_from_time_signatures(ts, end_q, steps_per_quarter), steps_per_quarter)
    qpm = next((q for t, q in tempos if t <= notes[0, 1] * tpb / steps_per_quarter), tempos[0][1] if tempos else DEFAULT_QPM)
    first_ts = (ts[0][1], ts[0][2]) if ts and ts[0][0] <= 0 else DEFAULT_TIME_SIGNATURE
    vel = int(np.median(chosen.velocities)) if chosen.velocities is not None and len(chosen.velocities) else DEFAULT_VELOCITY
    track_info = {"index": chosen.index, "name": chosen.name, "reason": reason,
                  "candidates": [t.name for t in tracks]}
    if n_cut[pick]:
        track_info["cut"] = f"song cut after {MAX_QUARTERS:,} quarter notes: {n_cut[pick]:,} later notes dropped"
    return Melody(
        notes=notes, bars=bars, qpm=float(min(max(qpm, 10.0), 400.0)), time_signature=first_ts,
        program=int(chosen.program), velocity=vel, source=source, style=style, track=track_info,
        steps_per_quarter=steps_per_quarter,
    )


# --------------------------------------------------------------------------- scores (music21)

def _part_notes(part, steps_per_quarter: int) -> tuple[np.ndarray, list[int]]:
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
                 steps_per_quarter: int = STEPS_PER_QUARTER) -> Melody:
    """Extract the melody of a parsed music21 score.

    Notes come straight from music21's offsets and durations (never through
    its MIDI writer). Bars come from the measures; an incomplete first
    measure (a pickup) is not a full bar, so windows start after it.
    """
    from music21 import meter, tempo as m21tempo, key as m21key

    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    tracks = []
    for i, part in enumerate(parts):
        notes, _ = _part_notes(part, steps_per_quarter)
        name = str(getattr(part, "partName", None) or f"part {i}")
        tracks.append(Track(index=i, name=name, notes=notes))
    if len(tracks) > 1 and track in (None, ""):
        # scores list the top voice first: prefer it unless a name says otherwise
        named = [i for i, t in enumerate(tracks) if any(h in t.name.lower() for h in ("melody", "soprano", "vocal", "voice"))]
        pick, reason = (named[0], f"part name {tracks[named[0]].name!r}") if named else (0, "top part of the score")
        if len(tracks[pick].notes) == 0:
            pick, reason = choose_melody_track(tracks)
    else:
        try:
            pick, reason = choose_melody_track(tracks, force=track)
        except ValueError as err:
            raise MusicReadError(str(err)) from None
    part = parts[pick]
    notes = skyline(tracks[pick].notes)
    if len(notes) == 0:
        raise MusicReadError("no notes in the score")
    bars = []
    measures = list(part.getElementsByClass("Measure"))
    for m in measures:
        bar_q = float(m.barDuration.quarterLength)
        if float(m.duration.quarterLength) + 1e-6 < bar_q and m is measures[0]:
            continue  # pickup
        bars.append((int(round(float(m.offset) * steps_per_quarter)), int(round(bar_q * steps_per_quarter))))
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


def split_abc_tunes(text: str) -> tuple[str, list[str]]:
    """Split an ABC book into (file header, [tune texts]) at ``X:`` lines."""
    chunks = re.split(r"(?m)^(?=X:)", text)
    header = chunks[0] if chunks and not chunks[0].startswith("X:") else ""
    tunes = [c for c in chunks if c.startswith("X:")]
    return header, tunes


def _check_mxl_size(data: bytes) -> None:
    """Refuse compressed MusicXML that would unzip past MAX_UNZIPPED_BYTES (a zip bomb)."""
    import zipfile

    try:
        total = unzipped_size(data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
        raise MusicReadError(f"corrupt MXL file ({err})") from None
    if total > MAX_UNZIPPED_BYTES:
        raise MusicReadError(f"MXL file unzips to {total / 1e6:.0f} MB (over {MAX_UNZIPPED_BYTES / 1e6:.0f} MB)")


def _parse_with_music21(data: bytes | str, fmt: str):
    """Parse score text or MXL bytes; never a path, URL or music21's pickle cache."""
    from music21 import converter

    try:
        if fmt == "mxl":
            import tempfile

            _check_mxl_size(data)
            with tempfile.NamedTemporaryFile(suffix=".mxl", delete=False) as fh:
                fh.write(data)  # music21 reads compressed MusicXML only from a path
                tmp = fh.name
            try:  # forceSource/storePickle: no pickle is written to, or loaded from, music21's scratch folder
                return converter.parseFile(tmp, format="musicxml", forceSource=True, storePickle=False)
            finally:
                os.unlink(tmp)
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        if fmt == "abc" and abc_music_chars(text) > MAX_ABC_MUSIC_CHARS:
            raise MusicReadError(f"ABC tune too long ({abc_music_chars(text):,} characters of music > "
                                 f"{MAX_ABC_MUSIC_CHARS:,}); music21's ABC parser slows down quadratically")
        # parseData, not parse: parse() would open text that looks like a path and fetch one that looks like a URL
        return converter.parseData(text, format={"musicxml": "musicxml", "abc": "abc", "krn": "humdrum"}[fmt])
    except MusicReadError:
        raise
    except Exception as err:
        raise MusicReadError(f"could not parse {fmt.upper()} ({type(err).__name__}: {str(err)[:200]})") from None


def from_abc_text(text: str, **kwargs) -> Melody:
    """Melody of one ABC tune given as text (the first tune if several)."""
    _, tunes = split_abc_tunes(text)
    score = _parse_with_music21(tunes[0] if tunes else text, "abc")
    if hasattr(score, "scores"):
        scores = list(score.scores)
        if not scores:
            raise MusicReadError("ABC file holds no tune")
        score = scores[0]
    return _guard(lambda: from_music21(score, **kwargs))


def _guard(fn):
    try:
        return fn()
    except MusicReadError:
        raise
    except Exception as err:
        raise MusicReadError(f"could not read the music ({type(err).__name__}: {str(err)[:200]})") from None


def read_melodies(path: str | os.PathLike, track: str | int | None = None, style: str = "",
                  steps_per_quarter: int = STEPS_PER_QUARTER, data: bytes | None = None,
                  tune_range: tuple[int, int] | None = None, name: str | None = None) -> list[tuple[str, Melody | MusicReadError]]:
    """Read every piece of a file: an ABC book yields one melody per tune.

    ``tune_range`` (start, stop) limits an ABC book to some of its tunes;
    ``name`` replaces the path in piece ids and sources.

    Returns a list of ``(piece id, Melody or MusicReadError)`` so one bad tune
    never hides the others; raises MusicReadError when the file itself is bad.
    """
    path = Path(path)
    try:
        if data is None:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise MusicReadError(f"file too large ({size / 1e6:.1f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
            data = path.read_bytes()
    except OSError as err:
        raise MusicReadError(f"cannot read file: {err.strerror or err}") from None
    if len(data) > MAX_FILE_BYTES:
        raise MusicReadError(f"file too large ({len(data) / 1e6:.1f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
    fmt = sniff_format(data, path.name)
    kw = dict(track=track, style=style, steps_per_quarter=steps_per_quarter)
    label = name if name is not None else str(path)
    if fmt == "midi":
        return [(label, _guard(lambda: from_midi_bytes(data, source=label, **kw)))]
    if fmt == "abc":
        header, tunes = split_abc_tunes(data.decode("utf-8", errors="replace"))
        if not tunes:
            raise MusicReadError("ABC file holds no tune (no X: line)")
        out = []
        first, stop = tune_range if tune_range else (0, len(tunes))
        for i in range(first, min(stop, len(tunes))):
            tune = tunes[i]
            pid = f"{label}#{i}"
            try:
                score = _parse_with_music21(header + tune, "abc")
                if hasattr(score, "scores"):
                    score = list(score.scores)[0]
                out.append((pid, _guard(lambda: from_music21(score, source=pid, **kw))))
            except MusicReadError as err:
                out.append((pid, err))
        return out
    score = _parse_with_music21(data, fmt)
    if hasattr(score, "scores"):
        score = list(score.scores)[0]
    return [(label, _guard(lambda: from_music21(score, source=label, **kw)))]


def count_abc_tunes(data: bytes) -> int:
    """Number of tunes (``X:`` lines) in ABC bytes."""
    return len(re.findall(rb"(?m)^X:", data))


def read_melody(path: str | os.PathLike, track: str | int | None = None, style: str = "",
                steps_per_quarter: int = STEPS_PER_QUARTER, data: bytes | None = None) -> Melody:
    """Read the melody of a file (for an ABC book, its first readable tune among the first few)."""
    errors = []
    for _, result in read_melodies(path, track=track, style=style, steps_per_quarter=steps_per_quarter, data=data,
                                   tune_range=(0, MAX_TUNES_TRIED)):
        if isinstance(result, Melody):
            return result
        errors.append(str(result))
    raise MusicReadError(errors[0] if errors else "no music found")


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


# --------------------------------------------------------------------------- writing

def to_pretty_midi(parts: list[np.ndarray], qpm: float = DEFAULT_QPM,
                   time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE,
                   program: int = DEFAULT_PROGRAM, velocity: int = DEFAULT_VELOCITY,
                   names: list[str] | None = None, steps_per_quarter: int = STEPS_PER_QUARTER):
    """Build a DAW-ready PrettyMIDI object from quantized note arrays.

    Parameters
    ----------
    parts : list of np.ndarray, each (n, 3) int ``(pitch, start, end)`` in steps
        One instrument track per array, all starting at bar 0.
    """
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=DEFAULT_RESOLUTION, initial_tempo=float(qpm))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(int(time_signature[0]), int(time_signature[1]), 0.0))
    sec_per_step = 60.0 / float(qpm) / steps_per_quarter
    for k, notes in enumerate(parts):
        name = names[k] if names and k < len(names) else f"musiclatent {k + 1}"
        inst = pretty_midi.Instrument(program=int(program), name=name)
        for pitch, start, end in skyline(np.asarray(notes)).tolist():
            inst.notes.append(pretty_midi.Note(velocity=int(velocity), pitch=int(pitch),
                                               start=start * sec_per_step, end=end * sec_per_step))
        pm.instruments.append(inst)
    return pm


def write_midi(path: str | os.PathLike, pm) -> Path:
    """Write a PrettyMIDI object to ``path`` atomically (type-1 MIDI)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    pm.write(str(tmp))
    os.replace(tmp, path)
    return path
