"""Groove-level operations for drum models: sample, morph, vary; General MIDI drums out.

A drum model's tokens are sets of kit classes per 16th step
(:mod:`musiclatent.representations.drums`). The model writes which drums are
hit; velocities come from the groove it stands for when there is one (the
input's level of that class on that step), else from the model's velocity
profile: the mean level of each class on each step of its training grooves
(``drum.velocity`` in the model's extras), else level 3 (MIDI velocity 100).

Every operation returns a :class:`DrumResult`; :func:`write_drum_result` is the
only disk I/O. Files are General MIDI drums on channel 10 at the input's tempo,
a whole number of bars long, so they loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from musiclatent.constants import DEFAULT_QPM
from musiclatent.generation.songs import align_index, count, morph_layout
from musiclatent.midi.drums import DrumPart, read_drums, to_drum_midi
from musiclatent.midi.io import MusicReadError
from musiclatent.representations.drums import DRUMS, N_DRUM_CLASSES, tokens_to_hits

if TYPE_CHECKING:
    from musiclatent.generation.facade import MusicLatent

DEFAULT_LEVEL = 3
VELOCITY_KEY = "drum.velocity"   # extras: (T, 9) mean velocity level of hits per step and class
MAX_PHRASES = 64


def is_drum_model(ml: "MusicLatent") -> bool:
    return ml.representation.name == DRUMS.name


# --------------------------------------------------------------------------- grooves in

@dataclass
class DrumSong:
    """A drum part cut into the model's phrases from bar 1.

    phrases : (n, T) int64 tokens ; levels : (n, T, 9) uint8 velocity levels.
    """

    phrases: np.ndarray
    levels: np.ndarray
    qpm: float = DEFAULT_QPM
    source: str = ""
    notes: list[str] = field(default_factory=list)


def drum_song(part: DrumPart, steps: int, max_phrases: int = MAX_PHRASES) -> DrumSong:
    """Cut a 4/4 drum part into consecutive phrases of ``steps`` steps (the last padded with silence)."""
    if tuple(part.time_signature) != (4, 4) or part.meter_changes:
        raise MusicReadError(f"{part.source or 'the file'}: drums in {part.time_signature[0]}/"
                             f"{part.time_signature[1]}; drum models take 4/4")
    n = max(1, -(-part.n_steps // steps))
    remarks = []
    if n > max_phrases:
        remarks.append(f"{part.source}: only the first {count(max_phrases, 'phrase')} of {n} are used")
        n = max_phrases
    levels = DRUMS.to_levels(part.notes, part.velocities, n * steps).reshape(n, steps, N_DRUM_CLASSES)
    if not levels.any():
        raise MusicReadError(f"{part.source or 'the file'}: no hit on the 9-piece kit")
    return DrumSong(DRUMS.levels_to_tokens(levels), levels, part.qpm, part.source, remarks)


def read_drum_song(path: str | os.PathLike, steps: int) -> DrumSong:
    """Read a MIDI file's drum part (channel 10) as phrases of ``steps`` steps."""
    return drum_song(read_drums(path, name=Path(path).name), steps)


# --------------------------------------------------------------------------- velocities

def velocity_table(tokens: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Mean velocity level of the hits per step and class: (n, T), (n, T, 9) -> (T, 9) float32
    (DEFAULT_LEVEL where a class is never hit on a step)."""
    hit = tokens_to_hits(tokens)
    n = hit.sum(0)
    total = np.where(hit, levels, 0).sum(0, dtype=np.float64)
    return np.where(n > 0, total / np.maximum(n, 1), DEFAULT_LEVEL).astype(np.float32)


def levels_for(ml: "MusicLatent", tokens: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Velocity levels (n, T, 9) uint8 for decoded tokens (n, T): the reference's level where it hits
    the same class on the same step, else the model's profile."""
    tokens = np.asarray(tokens).reshape(-1, ml.steps)
    table = ml.extras.get(VELOCITY_KEY)
    prof = (np.full((ml.steps, N_DRUM_CLASSES), DEFAULT_LEVEL, np.uint8) if table is None
            else np.clip(np.rint(table), 1, 4).astype(np.uint8))
    out = np.broadcast_to(prof, tokens.shape + (N_DRUM_CLASSES,)).copy()
    if reference is not None:
        ref = np.asarray(reference).reshape(out.shape)
        out = np.where(ref > 0, ref, out)
    return np.where(tokens_to_hits(tokens), out, 0).astype(np.uint8)


def drum_attributes(tokens: np.ndarray) -> dict[str, np.ndarray]:
    """Attributes of drum phrases (n, T) under the melody attributes' names where they mean the same:
    ``note_density`` (hit steps per quarter) and ``syncopation`` (share of hit steps off the beat)."""
    tokens = np.atleast_2d(tokens)
    on = DRUMS.onsets(tokens)
    off_beat = on & (np.arange(tokens.shape[1]) % DRUMS.steps_per_quarter != 0)[None, :]
    n = on.sum(1)
    return {"note_density": n / (tokens.shape[1] / DRUMS.steps_per_quarter),
            "syncopation": np.where(n > 0, off_beat.sum(1) / np.maximum(n, 1), 0.0)}


# --------------------------------------------------------------------------- operations

@dataclass
class DrumResult:
    """Files of grooves: stem -> (tokens (n, T), levels (n, T, 9)), in play order, plus the tempo."""

    files: dict[str, tuple[np.ndarray, np.ndarray]]
    qpm: float = DEFAULT_QPM
    notes: list[str] = field(default_factory=list)

    def notes_of(self, stem: str) -> tuple[np.ndarray, np.ndarray]:
        """A file's hits, its phrases read one after another: notes (m, 3) in steps and MIDI velocities (m,)."""
        return DRUMS.from_levels(np.asarray(self.files[stem][1]).reshape(-1, N_DRUM_CLASSES))

    def to_pretty_midi(self, stem: str, name: str = "musiclatent drums"):
        notes, vel = self.notes_of(stem)
        return to_drum_midi(notes, vel, qpm=self.qpm, name=f"{name} {stem}", end_step=int(self.files[stem][0].size))


def sample_drums(ml: "MusicLatent", n: int = 4, bars: int | None = None, style=None, temperature: float = 0.5,
                 seed: int | None = 0, qpm: float | None = None) -> DrumResult:
    """n grooves of ``bars`` bars (default: the model's), z from the model's style prior
    (:meth:`MusicLatent.prior_latents`); longer ones chain phrases along a latent walk in the
    style's frame (similarity 0.9, so the groove develops rather than jumps)."""
    bars = bars or ml.bars
    k = max(1, -(-int(bars) // ml.bars))
    rng = np.random.default_rng(seed)
    z0 = ml.prior_latents(int(n), style, temperature, rng)
    if k > 1:
        zs = np.concatenate([z0[None], ml.walk_latents(z0, k - 1, 0.9, style, rng)]).transpose(1, 0, 2)
    else:
        zs = z0[:, None]
    toks = ml.decode(zs.reshape(-1, ml.z_dim), style, temperature, seed).reshape(int(n), k, ml.steps)
    keep = int(bars) * ml.steps_per_bar
    files = {}
    for i in range(int(n)):
        t = toks[i].reshape(1, -1)[:, :keep]
        lev = levels_for(ml, toks[i]).reshape(1, -1, N_DRUM_CLASSES)[:, :keep]
        files[f"sample_{i + 1:02d}"] = (t, lev)
    return DrumResult(files, float(qpm or DEFAULT_QPM))


def interpolate_drums(ml: "MusicLatent", a: DrumSong, b: DrumSong, steps: int = 5, style=None,
                      temperature: float = 0.0, seed: int | None = 0, qpm: float | None = None) -> DrumResult:
    """Morph groove A into groove B phrase by phrase along slerp paths between latent means.

    Files: ``morph`` (the walk across the path also moves across the groove, A's first phrase
    to B's last), ``step_NN`` (each step as a whole groove), ``recon_a`` / ``recon_b``. The tempo is A's.
    """
    if steps < 2:
        raise ValueError("steps must be at least 2 (the two endpoints)")
    ia, ib, how = align_index(len(a.phrases), len(b.phrases), b_ends=True)
    path = ml.interpolate(a.phrases[ia], b.phrases[ib], steps, style=style, temperature=temperature, seed=seed)
    files = {}
    for k in range(steps):
        ref = a.levels[ia] if 2 * k <= steps - 1 else b.levels[ib]
        files[f"step_{k + 1:02d}"] = (path[k], levels_for(ml, path[k], ref))
    layout = morph_layout(len(ia), steps)
    mt = np.stack([path[k, idx] for k, idx in enumerate(layout)])
    ml_ref = np.stack([(a.levels[ia] if 2 * k <= steps - 1 else b.levels[ib])[idx] for k, idx in enumerate(layout)])
    files = {"morph": (mt, levels_for(ml, mt, ml_ref)), **files}
    files["recon_a"], files["recon_b"] = files["step_01"], files[f"step_{steps:02d}"]
    return DrumResult(files, float(qpm or a.qpm), [how] + a.notes + b.notes)


def vary_drums(ml: "MusicLatent", song: DrumSong, n: int = 4, similarity: float = 0.8, style=None,
               temperature: float = 0.0, seed: int | None = 0, qpm: float | None = None) -> DrumResult:
    """n variations of a whole groove, phrase by phrase (z' = s z + sqrt(1 - s^2) eps); its velocities kept."""
    out = ml.variations(song.phrases, n=n, similarity=similarity, style=style, temperature=temperature, seed=seed)
    files = {f"variation_{i + 1:02d}": (out[i], levels_for(ml, out[i], song.levels)) for i in range(int(n))}
    return DrumResult(files, float(qpm or song.qpm), list(song.notes))


# --------------------------------------------------------------------------- grooves out

def drum_grid_png(tokens: np.ndarray, steps_per_bar: int = 16, cell: int = 10) -> bytes:
    """A drum grid picture of a groove (T,) or (n, T): one row per kit class, one column per step."""
    import io

    from PIL import Image, ImageDraw

    hits = tokens_to_hits(np.asarray(tokens).reshape(-1))
    t = len(hits)
    img = Image.new("RGB", (max(1, t) * cell + 1, N_DRUM_CLASSES * cell + 1), "white")
    draw = ImageDraw.Draw(img)
    for s in range(0, t + 1, steps_per_bar // 4):
        shade = (120, 120, 120) if s % steps_per_bar == 0 else (220, 220, 220)
        draw.line([(s * cell, 0), (s * cell, N_DRUM_CLASSES * cell)], fill=shade)
    for s, k in zip(*np.nonzero(hits)):
        row = N_DRUM_CLASSES - 1 - int(k)    # kick at the bottom
        draw.rectangle([int(s) * cell + 1, row * cell + 1, (int(s) + 1) * cell - 1, (row + 1) * cell - 1],
                       fill=(40, 90, 170))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def write_drum_result(result: DrumResult, out_dir: str | os.PathLike, wav: bool = False, png: bool = True,
                      name: str = "musiclatent drums") -> list[Path]:
    """Write every file of a result as General MIDI drums (+ WAV, + a drum-grid PNG)."""
    from musiclatent.generation.audio import write_wav
    from musiclatent.midi.io import write_midi

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem in result.files:
        pm = result.to_pretty_midi(stem, name)
        written.append(write_midi(out_dir / f"{stem}.mid", pm))
        if wav:
            written.append(write_wav(out_dir / f"{stem}.wav", pm))
        if png:
            path = out_dir / f"{stem}.png"
            path.write_bytes(drum_grid_png(result.files[stem][0]))
            written.append(path)
    return written
