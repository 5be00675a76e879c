"""Paths through a latent space: spherical interpolation and AR(1) walks (pure numpy).

Re-exported by :mod:`musiclatent.generation.facade`, which walks in a style prior's frame when
the model has one (:meth:`musiclatent.generation.facade.MusicLatent.walk_latents`).
"""

from __future__ import annotations

import numpy as np


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between latent vectors a, b (…, Z) at t in [0, 1]."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na = np.linalg.norm(a, axis=-1, keepdims=True)
    nb = np.linalg.norm(b, axis=-1, keepdims=True)
    cos = np.clip(np.sum(a * b, -1, keepdims=True) / np.maximum(na * nb, 1e-12), -1.0, 1.0)
    omega = np.arccos(cos)
    so = np.sin(omega)
    lin = (1 - t) * a + t * b
    with np.errstate(invalid="ignore", divide="ignore"):
        sl = np.sin((1 - t) * omega) / so * a + np.sin(t * omega) / so * b
    return np.where(so > 1e-6, sl, lin).astype(np.float32)


def latent_walk(z: np.ndarray, n: int, similarity: float, rng: np.random.Generator,
                spread: float = 1.0) -> np.ndarray:
    """n steps of z_{k+1} = s z_k + sqrt(1 - s^2) spread eps_k from z (Z,) -> (n, Z) float32.

    An AR(1) walk: it keeps N(0, spread^2 I) as its stationary law, so it never wanders off the prior.
    """
    s, out = float(similarity), []
    for _ in range(int(n)):
        z = s * z + np.sqrt(max(0.0, 1.0 - s * s)) * float(spread) * rng.standard_normal(np.shape(z))
        out.append(z)
    return np.asarray(out, np.float32).reshape(int(n), int(np.size(z)))
