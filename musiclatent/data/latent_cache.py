"""Cached 2-bar latents of long phrases, for the latent-sequence model.

A 16-bar phrase is eight 2-bar chunks; the frozen base model (``melody-2bar``)
encodes every distinct chunk once per transposition, and a training batch is
then a gather of posterior means and log-variances: no LSTM runs over tokens
while the latent-sequence model trains.

The cache is a single ``.npz`` inside the dataset folder (``latents/``,
git-ignored), named by a hash of the base weights, the phrases and the
transposition range, so a changed base model or dataset is never served stale
latents. Building it costs one pass of the base encoder over
``distinct chunks x (2 m + 1)`` chunks (16,136 x 11 for ``data/melody-16bar``:
about 7 minutes on one core); loading it, a fraction of a second.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from musiclatent.constants import AUGMENT_MAX_PITCH, AUGMENT_MIN_PITCH, NOTE_ON_OFFSET, NUM_PITCHES

CACHE_DIRNAME = "latents"


@dataclass
class LatentCache:
    """Base-model posteriors of every distinct chunk at every transposition.

    mu, logvar : (2 m + 1, U, Zb) float16, shift ``s - m`` at index ``s`` (rows of a chunk whose
        transposed pitches leave 0..127 are zeros and never drawn) ;
    index : (N, K) int32, the chunk row of each phrase's K chunks ;
    lo, hi : (N,) int16, lowest and highest pitch of each phrase (-1 when it has no note).
    """

    mu: np.ndarray
    logvar: np.ndarray
    index: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @property
    def max_shift(self) -> int:
        return (self.mu.shape[0] - 1) // 2


def chunk_table(tokens: np.ndarray, chunk_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct chunks of phrases: tokens (N, T) -> (chunks (U, chunk_steps), index (N, T // chunk_steps) int32)."""
    n, t = tokens.shape
    if t % chunk_steps:
        raise ValueError(f"{t}-step phrases do not split into {chunk_steps}-step chunks")
    flat = np.ascontiguousarray(tokens.reshape(-1, chunk_steps))
    uniq, inverse = np.unique(flat, axis=0, return_inverse=True)
    return uniq, inverse.reshape(n, t // chunk_steps).astype(np.int32)


def pitch_range(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest note-on pitch of each phrase (N, T) -> (N,), (N,) int16 (-1 for no note)."""
    on = tokens >= NOTE_ON_OFFSET
    p = tokens.astype(np.int16) - NOTE_ON_OFFSET
    lo = np.where(on, p, 10_000).min(1)
    hi = np.where(on, p, -10_000).max(1)
    none = ~on.any(1)
    return np.where(none, -1, lo).astype(np.int16), np.where(none, -1, hi).astype(np.int16)


def transpose(chunks: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Chunks (U, S) shifted by ``shift`` semitones -> (tokens (U, S) int64, valid (U,) bool)."""
    on = chunks >= NOTE_ON_OFFSET
    out = chunks.astype(np.int64) + np.where(on, shift, 0)
    pitch = out - NOTE_ON_OFFSET
    valid = ~(on & ((pitch < 0) | (pitch >= NUM_PITCHES))).any(1)
    return np.where(valid[:, None], out, chunks.astype(np.int64)), valid


@torch.no_grad()
def encode_chunks(base, chunks: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Posterior of each chunk under the base VAE, unconditioned (style "any"): (U, S) -> (U, Zb) x 2 float32."""
    mus, lvs = [], []
    for i in range(0, len(chunks), batch):
        x = torch.as_tensor(chunks[i:i + batch], dtype=torch.long)
        mu, lv = base.encode(x, torch.zeros(len(x), dtype=torch.long))
        mus.append(mu.numpy())
        lvs.append(lv.numpy())
    z = base.cfg.z_dim
    return (np.concatenate(mus) if mus else np.zeros((0, z), np.float32),
            np.concatenate(lvs) if lvs else np.zeros((0, z), np.float32))


def build_cache(base, tokens: np.ndarray, max_shift: int, log=None) -> LatentCache:
    """Encode the distinct chunks of ``tokens`` (N, T) at shifts -max_shift..max_shift with ``base``."""
    chunks, index = chunk_table(tokens, base.cfg.steps)
    z = base.cfg.z_dim
    mu = np.zeros((2 * max_shift + 1, len(chunks), z), np.float16)
    lv = np.zeros_like(mu)
    for k, shift in enumerate(range(-max_shift, max_shift + 1)):
        moved, valid = transpose(chunks, shift)
        m, v = encode_chunks(base, moved[valid])
        mu[k, valid], lv[k, valid] = m, v
        if log:
            log(f"shift {shift:+d}: {int(valid.sum()):,} chunks encoded")
    lo, hi = pitch_range(tokens)
    return LatentCache(mu, lv, index, lo, hi)


def cache_key(base_weights: Path, tokens: np.ndarray, max_shift: int) -> str:
    h = hashlib.sha256()
    h.update(Path(base_weights).read_bytes())
    h.update(np.ascontiguousarray(tokens).tobytes())
    h.update(f"shift{max_shift}".encode())
    return h.hexdigest()[:16]


def load_or_build(data_dir: str | Path, base, base_weights: Path, tokens: np.ndarray, max_shift: int,
                  log=None) -> LatentCache:
    """The cache of ``tokens`` (N, T) for this base model, read from ``data_dir/latents/`` or built and
    written there."""
    path = Path(data_dir) / CACHE_DIRNAME / f"{cache_key(base_weights, tokens, max_shift)}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as f:
            return LatentCache(*(f[k] for k in ("mu", "logvar", "index", "lo", "hi")))
    cache = build_cache(base, tokens, max_shift, log)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")   # two runs building it at once each write their own
    np.savez(tmp, mu=cache.mu, logvar=cache.logvar, index=cache.index, lo=cache.lo, hi=cache.hi)
    tmp.replace(path)
    return cache


def draw_shifts(lo: np.ndarray, hi: np.ndarray, max_shift: int, u: np.ndarray) -> np.ndarray:
    """Per-row shift drawn uniformly among those keeping notes in the augmentation range, as
    :func:`musiclatent.data.dataset.transpose_tokens` draws them; u (B,) uniform in [0, 1) -> (B,) int64."""
    lo, hi = lo.astype(np.int64), hi.astype(np.int64)
    down = np.clip(lo - AUGMENT_MIN_PITCH, 0, max_shift)
    up = np.clip(AUGMENT_MAX_PITCH - hi, 0, max_shift)
    shift = np.minimum(-down + np.floor(u * (down + up + 1)).astype(np.int64), up)
    return np.where(lo < 0, 0, shift)


def latent_batch(cache: LatentCache, rows: np.ndarray, shifts: np.ndarray) -> torch.Tensor:
    """Packed posteriors of phrases ``rows`` (B,) at ``shifts`` (B,): (B, K, 2 Zb) float32, means then
    log-variances."""
    s = (shifts + cache.max_shift)[:, None]
    idx = cache.index[rows]                                   # (B, K)
    mu = cache.mu[s, idx].astype(np.float32)
    lv = cache.logvar[s, idx].astype(np.float32)
    return torch.from_numpy(np.concatenate([mu, lv], axis=-1))
