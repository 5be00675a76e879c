"""MIDI bytes <-> notes, in memory: ``from_midi_bytes`` reads, ``to_pretty_midi`` builds.

mido's parse of untrusted bytes is the only call whose failures become
:class:`MusicReadError` wholesale; the conversion after it is our own code and
raises normally, so the fuzz tests see its bugs.
"""

from __future__ import annotations

import io

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
from musiclatent.midi.formats import MusicReadError
from musiclatent.midi.guards import MAX_EVENTS, count_midi_events
from musiclatent.midi.melody import Melody, Track, bars_from_time_signatures, choose_melody_track, clip_bars, quantize_quarters
from musiclatent.midi.meter import IMPLAUSIBLE, bars_from_guess, infer_meter
from musiclatent.representations.pianoroll import skyline

__all__ = ["from_midi_bytes", "midi_tracks", "to_pretty_midi", "add_note_track"]


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


def _read_tracks(data: bytes, steps_per_quarter: int):
    """(ticks per beat, tempos, time signatures, tracks, notes cut per track) of MIDI bytes."""
    if not data:
        raise MusicReadError("empty file")
    if len(data) > MAX_FILE_BYTES:
        raise MusicReadError(f"file too large ({len(data) / 1e6:.1f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
    tpb, groups, tempos, time_sigs = _parse_midi_events(data)
    tracks, n_cut = [], []
    for (ti, ch), g in sorted(groups.items()):
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
    return tpb, tempos, time_sigs, tracks, n_cut


def midi_tracks(data: bytes, steps_per_quarter: int = STEPS_PER_QUARTER) -> list[Track]:
    """Every (track, channel) of MIDI bytes with notes, as :class:`Track` objects in the order
    :func:`from_midi_bytes` numbers them (``Melody.track["index"]`` is a position in this list)."""
    return _read_tracks(data, steps_per_quarter)[3]


def from_midi_bytes(data: bytes, track: str | int | None = None, source: str = "",
                    style: str = "", steps_per_quarter: int = STEPS_PER_QUARTER) -> Melody:
    """Extract the melody of a MIDI file held in memory.

    Tempo changes do not move notes: times are converted through ticks to
    quarter notes, then quantized to ``steps_per_quarter``.
    """
    tpb, tempos, time_sigs, tracks, n_cut = _read_tracks(data, steps_per_quarter)
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
    meter_info = None
    if not ts or all((n, d) in IMPLAUSIBLE for _, n, d in ts):
        # no meter, or one that cannot be the music's (1/4 over 4/4 from DAW exports): infer it from
        # every track's notes (accompaniment and drums carry the accents)
        every = [tr for tr in tracks if len(tr.notes)]
        guess = infer_meter(np.concatenate([tr.notes for tr in every]),
                            np.concatenate([tr.velocities for tr in every]), steps_per_quarter)
        declared = "{}/{}".format(*ts[0][1:]) if ts else None
        meter_info = {"inferred": "{}/{}".format(*guess.meter), "declared": declared,
                      "downbeat_step": guess.downbeat, "confidence": round(guess.confidence, 3)}
        ts = [(guess.downbeat / steps_per_quarter, *guess.meter)]
        bars = clip_bars(bars_from_guess(guess, int(round(end_q * steps_per_quarter))), steps_per_quarter)
    else:
        bars = clip_bars(bars_from_time_signatures(ts, end_q, steps_per_quarter), steps_per_quarter)
    qpm = next((q for t, q in tempos if t <= notes[0, 1] * tpb / steps_per_quarter), tempos[0][1] if tempos else DEFAULT_QPM)
    first_ts = _main_meter(ts, end_q) if ts and (ts[0][0] <= 0 or meter_info) else DEFAULT_TIME_SIGNATURE
    vel = int(np.median(chosen.velocities)) if chosen.velocities is not None and len(chosen.velocities) else DEFAULT_VELOCITY
    track_info = {"index": chosen.index, "name": chosen.name, "reason": reason,
                  "candidates": [t.name for t in tracks]}
    if meter_info:
        track_info["meter"] = meter_info
    if n_cut[pick]:
        track_info["cut"] = f"song cut after {MAX_QUARTERS:,} quarter notes: {n_cut[pick]:,} later notes dropped"
    return Melody(
        notes=notes, bars=bars, qpm=float(min(max(qpm, 10.0), 400.0)), time_signature=first_ts,
        program=int(chosen.program), velocity=vel, source=source, style=style, track=track_info,
        steps_per_quarter=steps_per_quarter,
    )


def _main_meter(ts: list[tuple[float, int, int]], end_q: float) -> tuple[int, int]:
    """The meter that lasts longest among time signatures ``(start quarter, num, den)``: a 2/4
    pickup bar before 4/4 leaves the song in 4/4 (ties go to the earlier one)."""
    spans: dict[tuple[int, int], float] = {}
    for k, (start, num, den) in enumerate(ts):
        end = ts[k + 1][0] if k + 1 < len(ts) else max(end_q, start)
        spans[(num, den)] = spans.get((num, den), 0.0) + max(end - start, 0.0)
    return max(spans, key=lambda m: (spans[m], -list(spans).index(m)))


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


def add_note_track(pm, notes: np.ndarray, qpm: float = DEFAULT_QPM, program: int = DEFAULT_PROGRAM,
                   velocity: int = DEFAULT_VELOCITY, name: str = "chords", steps_per_quarter: int = STEPS_PER_QUARTER):
    """Append polyphonic notes (n, 3) ``(pitch, start, end)`` in steps, as they are (no skyline),
    as one more instrument of a PrettyMIDI built by :func:`to_pretty_midi`; returns ``pm``."""
    import pretty_midi

    sec_per_step = 60.0 / float(qpm) / steps_per_quarter
    inst = pretty_midi.Instrument(program=int(program), name=name)
    for pitch, start, end in np.asarray(notes, dtype=np.int64).reshape(-1, 3).tolist():
        inst.notes.append(pretty_midi.Note(velocity=int(velocity), pitch=int(pitch),
                                           start=start * sec_per_step, end=end * sec_per_step))
    pm.instruments.append(inst)
    return pm
