"""Drum parts of MIDI files: reading the hits on channel 10, writing General MIDI drums.

``from_midi_drums`` converts bytes in memory; ``read_drums`` touches the disk;
``to_drum_midi`` builds a PrettyMIDI object (written with :func:`musiclatent.midi.io.write_midi`).
Every reader raises :class:`~musiclatent.midi.io.MusicReadError` with a readable reason.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musiclatent.constants import (DEFAULT_QPM, DEFAULT_RESOLUTION, DEFAULT_TIME_SIGNATURE, MAX_FILE_BYTES, MAX_NOTES,
                                   MAX_QUARTERS, MAX_TICKS, STEPS_PER_QUARTER)
from musiclatent.midi.guards import MAX_EVENTS, count_midi_events
from musiclatent.midi.io import MusicReadError, read_file_bytes

DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0


@dataclass
class DrumPart:
    """The drum hits of one piece, quantized to steps.

    notes : (n, 3) int32 ``(pitch, step, step + 1)`` with General MIDI drum notes, sorted by step;
    velocities : (n,) int32 1..127; offsets : (n,) float32, where each hit fell from its step,
    in steps (-0.5..0.5: GrooVAE's micro-timing); ``n_steps`` covers the whole part.
    """

    notes: np.ndarray
    velocities: np.ndarray
    offsets: np.ndarray
    n_steps: int
    qpm: float = DEFAULT_QPM
    time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE
    meter_changes: int = 0          # time signature changes after the first
    source: str = ""
    style: str = ""
    extra: dict = field(default_factory=dict)

    def meta(self) -> dict:
        return {"qpm": round(float(self.qpm), 3), "time_signature": list(self.time_signature),
                "source": self.source, "style": self.style, "hits": int(len(self.notes)), **self.extra}


def from_midi_drums(data: bytes, source: str = "", style: str = "",
                    steps_per_quarter: int = STEPS_PER_QUARTER) -> DrumPart:
    """The drum hits (channel 10, any track) of a MIDI file held in memory."""
    import mido

    if not data:
        raise MusicReadError("empty file")
    if len(data) > MAX_FILE_BYTES:
        raise MusicReadError(f"file too large ({len(data) / 1e6:.1f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)")
    if data[:4] != b"MThd":
        raise MusicReadError("not a MIDI file (drums are read from MIDI only)")
    if len(data) > 2 * MAX_EVENTS and count_midi_events(data, MAX_EVENTS) > MAX_EVENTS:
        raise MusicReadError(f"too many MIDI events (over {MAX_EVENTS:,}); refusing the file")
    try:
        mid = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as err:  # mido raises many kinds on corrupt data
        raise MusicReadError(f"corrupt MIDI file ({type(err).__name__}: {err})") from None
    tpb = mid.ticks_per_beat
    if not tpb or tpb <= 0:
        raise MusicReadError("corrupt MIDI file: bad ticks per beat")
    hits, tempos, sigs = [], [], []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if tick > MAX_TICKS:
                raise MusicReadError(f"MIDI file too long: events past tick {MAX_TICKS:,}")
            if msg.type == "note_on" and msg.velocity > 0 and msg.channel == DRUM_CHANNEL:
                hits.append((tick, msg.note, msg.velocity))
                if len(hits) > MAX_NOTES:
                    raise MusicReadError(f"too many notes (over {MAX_NOTES:,}); refusing the file")
            elif msg.type == "set_tempo" and msg.tempo > 0:
                tempos.append((tick, 60_000_000.0 / msg.tempo))
            elif msg.type == "time_signature":
                sigs.append((tick, msg.numerator, msg.denominator))
    if not hits:
        raise MusicReadError("no drums in the MIDI file (nothing on channel 10)")
    arr = np.asarray(sorted(hits), np.float64)
    quarters = arr[:, 0] / tpb
    arr, quarters = arr[quarters < MAX_QUARTERS], quarters[quarters < MAX_QUARTERS]
    exact = quarters * steps_per_quarter
    step = np.floor(exact + 0.5).astype(np.int64)
    notes = np.stack([arr[:, 1].astype(np.int64), step, step + 1], 1).astype(np.int32)
    sigs = sorted(sigs)
    first = (sigs[0][1], sigs[0][2]) if sigs and sigs[0][0] == 0 else DEFAULT_TIME_SIGNATURE
    changes = sum(1 for t, n, d in sigs if t > 0 and (n, d) != first)
    qpm = sorted(tempos)[0][1] if tempos else DEFAULT_QPM
    return DrumPart(notes=notes, velocities=arr[:, 2].astype(np.int32), offsets=(exact - step).astype(np.float32),
                    n_steps=int(step.max()) + 1, qpm=float(min(max(qpm, 10.0), 400.0)), time_signature=first,
                    meter_changes=changes, source=source, style=style)


def read_drums(path: str | os.PathLike, style: str = "", name: str = "") -> DrumPart:
    """Read the drum part of a MIDI file on disk."""
    path = Path(path)
    return from_midi_drums(read_file_bytes(path), source=name or path.name, style=style)


def to_drum_midi(notes: np.ndarray, velocities: np.ndarray | int = 100, qpm: float = DEFAULT_QPM,
                 time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE, offsets: np.ndarray | None = None,
                 name: str = "musiclatent drums", steps_per_quarter: int = STEPS_PER_QUARTER,
                 end_step: int | None = None):
    """General MIDI drums (channel 10, ``is_drum``) as a PrettyMIDI object.

    notes : (n, 3) int ``(pitch, start, end)`` in steps; velocities : (n,) int or one int;
    offsets : (n,) float, micro-timing in steps (None = on the grid). ``end_step`` pads the
    file to a whole number of bars with a silent marker so that it loops in a DAW.
    """
    import pretty_midi

    notes = np.asarray(notes, np.int64).reshape(-1, 3)
    vel = np.broadcast_to(np.asarray(velocities, np.int64), (len(notes),))
    off = np.zeros(len(notes)) if offsets is None else np.asarray(offsets, np.float64).reshape(-1)
    pm = pretty_midi.PrettyMIDI(resolution=DEFAULT_RESOLUTION, initial_tempo=float(qpm))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(int(time_signature[0]), int(time_signature[1]), 0.0))
    sec = 60.0 / float(qpm) / steps_per_quarter
    inst = pretty_midi.Instrument(program=0, is_drum=True, name=name)
    for (pitch, start, end), v, o in zip(notes.tolist(), vel.tolist(), off.tolist()):
        t0 = max(0.0, (start + o) * sec)
        inst.notes.append(pretty_midi.Note(velocity=int(np.clip(v, 1, 127)), pitch=int(pitch), start=t0,
                                           end=t0 + max(end - start, 1) * sec * 0.5))
    if end_step is not None and end_step > 0:
        # a control change at the loop end keeps the file a whole number of bars long, so it loops
        inst.control_changes.append(pretty_midi.ControlChange(number=110, value=0, time=end_step * sec))
    pm.instruments.append(inst)
    return pm
