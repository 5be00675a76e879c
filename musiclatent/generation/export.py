"""What a DAW user receives: MIDI files, WAV previews and piano-roll pictures.

``to_*`` build in memory; ``write_*`` touch the disk.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from musiclatent.constants import DEFAULT_PROGRAM, DEFAULT_QPM, DEFAULT_TIME_SIGNATURE, DEFAULT_VELOCITY
from musiclatent.midi.io import to_pretty_midi, write_midi
from musiclatent.midi.midifile import add_note_track
from musiclatent.generation.roll import STEP_COLORS, to_png
from musiclatent.generation.songs import join_phrases
from musiclatent.generation.stream import stream_notes
from musiclatent.representations import MELODY
from musiclatent.representations.chords import STEPS_PER_HALF_BAR, chord_block_notes

__all__ = ["STEP_COLORS", "phrases_to_pretty_midi", "notes_to_pretty_midi", "add_chord_track", "write_phrases_midi",
           "to_pianoroll_png", "write_pianoroll_png", "seconds_per_step"]

CHORD_VELOCITY = 70  # the chord track sits a little under the melody (DEFAULT_VELOCITY 90)


def add_chord_track(pm, chords, qpm: float = DEFAULT_QPM, program: int = DEFAULT_PROGRAM,
                    velocity: int = CHORD_VELOCITY, steps_per_chord: int = STEPS_PER_HALF_BAR, name: str = "chords"):
    """Append a block-chord instrument to a PrettyMIDI: chord ids (c,), one per ``steps_per_chord``
    steps from bar 0 (a half bar by default), each struck in root position around C3-C4 for its
    cell (:func:`~musiclatent.representations.chords.chord_block_notes`); no chord is silent. Returns ``pm``."""
    notes = chord_block_notes(np.asarray(chords, np.int64).reshape(-1), steps_per_chord)
    return add_note_track(pm, notes, qpm=qpm, program=program, velocity=velocity, name=name)


def phrases_to_pretty_midi(phrases: np.ndarray | list, qpm: float = DEFAULT_QPM,
                           time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE,
                           program: int = DEFAULT_PROGRAM, velocity: int = DEFAULT_VELOCITY,
                           name: str = "musiclatent", chords=None, chord_program: int = DEFAULT_PROGRAM):
    """Tokens of consecutive phrases (n, T) or (T,) -> a one-track PrettyMIDI, starting at bar 0.

    ``chords`` (c,) chord ids, one per half bar, add a second track of block chords
    (:func:`add_chord_track`, General MIDI ``chord_program``)."""
    arr = np.asarray(phrases)
    notes = join_phrases(arr.reshape(-1, arr.shape[-1])) if arr.size else np.zeros((0, 3), np.int32)
    return notes_to_pretty_midi(notes, qpm=qpm, time_signature=time_signature, program=program, velocity=velocity,
                                name=name, chords=chords, chord_program=chord_program)


def notes_to_pretty_midi(notes: np.ndarray, qpm: float = DEFAULT_QPM,
                         time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE,
                         program: int = DEFAULT_PROGRAM, velocity: int = DEFAULT_VELOCITY, name: str = "musiclatent",
                         chords=None, chord_program: int = DEFAULT_PROGRAM):
    """A note stream (n, 3) in steps -> a one-track PrettyMIDI, starting at bar 0; ``chords`` (c,),
    one chord id per half bar, add a block-chord track with ``chord_program`` (:func:`add_chord_track`)."""
    pm = to_pretty_midi([np.asarray(notes, np.int32).reshape(-1, 3)], qpm=qpm, time_signature=time_signature,
                        program=program, velocity=velocity, names=[name])
    if chords is not None:
        add_chord_track(pm, chords, qpm=qpm, program=chord_program)
    return pm


def write_phrases_midi(path: str | os.PathLike, phrases, **kwargs) -> Path:
    """Write phrases as a type-1 MIDI file (tempo, meter, track name, program, velocity)."""
    return write_midi(path, phrases_to_pretty_midi(phrases, **kwargs))


def to_pianoroll_png(segments: list[np.ndarray], steps_per_bar: int = MELODY.steps_per_bar(), height: int = 200,
                     px_per_step: int | None = None, labels: list[str] | None = None, max_width: int = 2400,
                     bars_per_line: int | None = None) -> bytes:
    """Draw segments of tokens (each (T,) or (n, T)), played one after another, as a PNG.

    The notes are those of the segments read as one stream (:func:`stream_notes`),
    the same notes :func:`phrases_to_pretty_midi` writes; each segment (an
    interpolation step, a style, a variation) has its own colour. See
    :func:`musiclatent.generation.roll.to_png` for the drawing. Returns PNG bytes.
    """
    lengths = [int(np.asarray(s).size) for s in segments]
    return to_png(stream_notes(segments), lengths, steps_per_bar=steps_per_bar, height=height,
                  px_per_step=px_per_step, labels=labels, max_width=max_width, bars_per_line=bars_per_line)


def write_pianoroll_png(path: str | os.PathLike, segments: list[np.ndarray], **kwargs) -> Path:
    path = Path(path)
    path.write_bytes(to_pianoroll_png(segments, **kwargs))
    return path


def seconds_per_step(qpm: float) -> float:
    return 60.0 / float(qpm) / MELODY.steps_per_quarter
