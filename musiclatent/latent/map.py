"""The map of a latent space: a deterministic 2-D projection and its picture.

PCA by SVD (numpy only), with a sign convention so the same latents always
give the same map. ``to_map_png`` draws corpus points colored by style, with
overlays (a song's phrases, generated phrases, an interpolation path) as
numbered markers joined in order.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from musiclatent.generation.export import STEP_COLORS

OVERLAY_COLORS = [(0, 0, 0), (220, 20, 60), (0, 90, 200), (255, 140, 0)]


@dataclass
class Projection:
    """A linear 2-D map: coords = (z - mean) @ components.T ; explained = variance ratio (2,)."""

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    def transform(self, z: np.ndarray) -> np.ndarray:
        """Latents (n, Z) -> map coordinates (n, 2) float64."""
        return (np.asarray(z, np.float64).reshape(-1, len(self.mean)) - self.mean) @ self.components.T


def fit_pca(z: np.ndarray, n_components: int = 2) -> Projection:
    """Deterministic PCA by SVD; each component's largest-magnitude loading is made positive.

    z : np.ndarray, shape (n, Z) -> Projection with components (n_components, Z).
    """
    x = np.asarray(z, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"PCA needs at least 2 latent vectors, got shape {x.shape}")
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    comps = vt[:n_components].copy()
    if len(comps) < n_components:  # Z < n_components: pad with zero axes
        comps = np.vstack([comps, np.zeros((n_components - len(comps), x.shape[1]))])
    signs = np.sign(comps[np.arange(n_components), np.abs(comps).argmax(1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    var = s ** 2
    explained = np.zeros(n_components)
    explained[:min(n_components, len(var))] = (var / max(var.sum(), 1e-300))[:n_components]
    return Projection(mean, comps, explained)


def _scale(points: np.ndarray, lo: np.ndarray, hi: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    u = (points - lo) / span
    return np.stack([x0 + u[:, 0] * (x1 - x0), y1 - u[:, 1] * (y1 - y0)], 1)


def to_map_png(coords: np.ndarray, groups: np.ndarray, overlays: list[tuple[str, np.ndarray]] | None = None,
               title: str = "", axis_labels: tuple[str, str] = ("PC1", "PC2"), size: tuple[int, int] = (960, 720),
               max_points: int = 20000, seed: int = 0) -> bytes:
    """Draw a map as PNG bytes.

    Parameters
    ----------
    coords : np.ndarray, shape (n, 2) ; groups : np.ndarray, shape (n,), str
        Corpus points and their style; each style gets a color and a legend entry.
    overlays : list of (label, np.ndarray (m, 2))
        Drawn on top as numbered, outlined markers joined in order.
    max_points : at most this many corpus points are drawn (a fixed random sample).
    """
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.load_default(size=13)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        font = ImageFont.load_default()

    coords = np.asarray(coords, np.float64).reshape(-1, 2)
    groups = np.asarray(groups).astype(str)
    overlays = [(label, np.asarray(p, np.float64).reshape(-1, 2)) for label, p in (overlays or [])]
    w, h = size
    img = Image.new("RGB", (w, h), (252, 252, 250))
    draw = ImageDraw.Draw(img)
    box = (50, 40, w - 190, h - 40)
    every = np.concatenate([coords] + [p for _, p in overlays]) if len(coords) or overlays else np.zeros((1, 2))
    lo, hi = every.min(0), every.max(0)
    pad = (hi - lo) * 0.04
    lo, hi = lo - pad, hi + pad
    draw.rectangle(box, outline=(180, 180, 180))
    names = list(dict.fromkeys(groups.tolist()))
    color = {g: STEP_COLORS[i % len(STEP_COLORS)] for i, g in enumerate(names)}
    order = np.random.default_rng(seed).permutation(len(coords))[:max_points]  # no style hides another
    xy = _scale(coords, lo, hi, box)
    for i in order:
        x, y = xy[i]
        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=color[groups[i]])
    for k, (label, pts) in enumerate(overlays):
        c = OVERLAY_COLORS[k % len(OVERLAY_COLORS)]
        p = _scale(pts, lo, hi, box)
        if len(p) > 1:
            draw.line([tuple(q) for q in p], fill=c, width=2)
        for j, (x, y) in enumerate(p):
            draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=(255, 255, 255), outline=c, width=3)
            draw.text((x + 7, y - 14), str(j + 1), fill=c, font=font)
    ly = 45
    for g in names:
        draw.ellipse([w - 175, ly + 3, w - 167, ly + 11], fill=color[g])
        draw.text((w - 160, ly), f"{g} ({int((groups == g).sum())})", fill=(30, 30, 30), font=font)
        ly += 18
    for k, (label, pts) in enumerate(overlays):
        c = OVERLAY_COLORS[k % len(OVERLAY_COLORS)]
        draw.ellipse([w - 177, ly + 1, w - 165, ly + 13], fill=(255, 255, 255), outline=c, width=3)
        draw.text((w - 160, ly), f"{label[:22]} ({len(pts)})", fill=c, font=font)
        ly += 18
    draw.text((box[0] + 40, 4), title, fill=(20, 20, 20), font=font)
    draw.text(((box[0] + box[2]) // 2 - 60, h - 30), axis_labels[0], fill=(60, 60, 60), font=font)
    draw.text((4, box[1] - 18), axis_labels[1], fill=(60, 60, 60), font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
