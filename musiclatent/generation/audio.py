"""WAV previews rendered with tinysoundfont and the GM soundfont that pretty_midi ships.

No network, no system synthesizer: ``pretty_midi/TimGM6mb.sf2`` is inside the
pretty_midi wheel.
"""

from __future__ import annotations

import io
import os
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 22050


def soundfont_path() -> Path:
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


@lru_cache(maxsize=2)
def _soundfont_bytes() -> bytes:
    return soundfont_path().read_bytes()


def render_pretty_midi(pm, sample_rate: int = SAMPLE_RATE, tail: float = 0.6) -> np.ndarray:
    """Render a PrettyMIDI object to stereo int16 audio, shape (samples, 2)."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate, gain=-3.0)
    sfid = synth.sfload(_soundfont_bytes())
    events = []
    for ch, inst in enumerate(pm.instruments[:15]):
        channel = 9 if inst.is_drum else (ch if ch < 9 else ch + 1)
        if inst.is_drum:
            synth.program_select(channel, sfid, 128, 0, is_drums=True)
        else:
            synth.program_select(channel, sfid, 0, int(inst.program))
        for n in inst.notes:
            events.append((n.start, 1, channel, n.pitch, n.velocity))
            events.append((n.end, 0, channel, n.pitch, 0))
    events.sort(key=lambda e: (e[0], e[1]))
    end = (max((e[0] for e in events), default=0.0)) + tail
    total = int(end * sample_rate)
    out = np.zeros((total, 2), dtype=np.float32)
    pos = 0
    for t, kind, ch, pitch, vel in events:
        target = min(total, int(t * sample_rate))
        if target > pos:
            out[pos:target] = _render(synth, target - pos)
            pos = target
        if kind:
            synth.noteon(ch, pitch, vel)
        else:
            synth.noteoff(ch, pitch)
    if total > pos:
        out[pos:] = _render(synth, total - pos)
    peak = float(np.abs(out).max()) if out.size else 0.0
    if peak > 0:
        out *= 0.85 / peak  # previews play at a steady loudness
    return (np.clip(out, -1.0, 1.0) * 32767).astype(np.int16)


def _render(synth, n: int) -> np.ndarray:
    buf = synth.generate(n)
    return np.frombuffer(buf, dtype=np.float32).reshape(-1, 2)[:n]


def to_wav_bytes(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """int16 (samples, 2) -> WAV file bytes."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(np.ascontiguousarray(audio).tobytes())
    return buf.getvalue()


def write_wav(path: str | os.PathLike, pm, sample_rate: int = SAMPLE_RATE) -> Path:
    """Render a PrettyMIDI object and write a WAV file atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(to_wav_bytes(render_pretty_midi(pm, sample_rate), sample_rate))
    os.replace(tmp, path)
    return path
