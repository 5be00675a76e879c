"""What a DAW user receives: MIDI files, WAV previews and piano-roll pictures.

``to_*`` build in memory; ``write_*`` touch the disk.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from musiclatent.constants import DEFAULT_PROGRAM, DEFAULT_QPM, DEFAULT_TIME_SIGNATURE, DEFAULT_VELOCITY
from musiclatent.midi.io import to_pretty_midi, write_midi
from musiclatent.representations.pianoroll import tokens_to_notes
from musiclatent.generation.songs import join_phrases
from musiclatent.representations import MELODY

STEP_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
               (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def phrases_to_pretty_midi(phrases: np.ndarray | list, qpm: float = DEFAULT_QPM,
                           time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE,
                           program: int = DEFAULT_PROGRAM, velocity: int = DEFAULT_VELOCITY,
                           name: str = "musiclatent"):
    """Tokens of consecutive phrases (n, T) or (T,) -> a one-track PrettyMIDI, starting at bar 0."""
    arr = np.asarray(phrases)
    notes = join_phrases(arr.reshape(-1, arr.shape[-1])) if arr.size else np.zeros((0, 3), np.int32)
    return to_pretty_midi([notes], qpm=qpm, time_signature=time_signature, program=program,
                          velocity=velocity, names=[name])


def write_phrases_midi(path: str | os.PathLike, phrases, **kwargs) -> Path:
    """Write phrases as a type-1 MIDI file (tempo, meter, track name, program, velocity)."""
    return write_midi(path, phrases_to_pretty_midi(phrases, **kwargs))


def to_pianoroll_png(segments: list[np.ndarray], steps_per_bar: int = MELODY.steps_per_bar(), height: int = 220,
                     px_per_step: int | None = None, labels: list[str] | None = None, max_width: int = 2400) -> bytes:
    """Draw segments of tokens (each (T,) or (n, T)) one after another as a PNG.

    Pitch runs up, time right; thin lines mark bars, thick ones segment
    boundaries; each segment (an interpolation step, a style, a variation)
    has its own color. Returns PNG bytes.
    """
    from PIL import Image, ImageDraw

    rows = [np.asarray(s).reshape(-1) for s in segments]
    total = sum(len(r) for r in rows) or 1
    pps = px_per_step or max(1, min(8, max_width // total))
    notes_all = [tokens_to_notes(r) for r in rows]
    pitches = np.concatenate([n[:, 0] for n in notes_all if len(n)] or [np.array([60, 72])])
    lo, hi = int(pitches.min()) - 2, int(pitches.max()) + 2
    width = total * pps + 1
    ph = max(2, (height - 20) // max(1, hi - lo + 1))
    img = Image.new("RGB", (width, ph * (hi - lo + 1) + 20), (252, 252, 250))
    draw = ImageDraw.Draw(img)
    h = img.height - 20
    for step in range(0, total + 1, steps_per_bar):
        draw.line([(step * pps, 0), (step * pps, h)], fill=(215, 215, 215))
    x0 = 0
    for k, (row, notes) in enumerate(zip(rows, notes_all)):
        color = STEP_COLORS[k % len(STEP_COLORS)]
        for pitch, s, e in notes.tolist():
            y = (hi - pitch) * ph
            draw.rectangle([x0 + s * pps, y, max(x0 + s * pps + 1, x0 + e * pps - 1), y + ph - 1], fill=color)
        if k:
            draw.line([(x0, 0), (x0, h)], fill=(60, 60, 60), width=2)
        if labels and k < len(labels):
            draw.text((x0 + 3, h + 4), labels[k], fill=(40, 40, 40))
        x0 += len(row) * pps
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_pianoroll_png(path: str | os.PathLike, segments: list[np.ndarray], **kwargs) -> Path:
    path = Path(path)
    path.write_bytes(to_pianoroll_png(segments, **kwargs))
    return path


def seconds_per_step(qpm: float) -> float:
    return 60.0 / float(qpm) / MELODY.steps_per_quarter
