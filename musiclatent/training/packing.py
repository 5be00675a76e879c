"""Smaller weight files: int8 matrices with a scale per row, lower-triangular factors packed.

Pure functions between a model's state dict and the tensors a safetensors file holds:

- :func:`to_packed` stores a float matrix (R, C) of at least ``int8_min`` entries as ``name``
  (R, C) int8 plus ``name:scale`` (R,) float32 (symmetric, one scale per row: the row's largest
  magnitude maps to 127), and a stack of lower-triangular matrices (..., N, N) named in
  ``triangular`` as ``name:tril`` (..., N (N + 1) / 2), row by row.
- :func:`from_packed` turns those back into plain tensors (a dequantised matrix is float32).
- :func:`packed_shapes` does the same on shapes alone, for a file's header.

A file written without packing passes through both unchanged, so old model folders still load.
"""

from __future__ import annotations

import math

import torch

SCALE, TRIL = ":scale", ":tril"
INT8_MIN = 65536          # matrices smaller than this stay as they are (embeddings, biases, small heads)


def to_packed(weights: dict[str, torch.Tensor], int8_min: int = 0,
              triangular: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """State dict -> tensors to save; ``int8_min`` 0 keeps every matrix in its own dtype."""
    out: dict[str, torch.Tensor] = {}
    for name, v in weights.items():
        if name in triangular:
            n = v.shape[-1]
            if v.dim() < 2 or v.shape[-2] != n:
                raise ValueError(f"{name}: {tuple(v.shape)} is not a stack of square matrices")
            if torch.triu(v, diagonal=1).any():
                raise ValueError(f"{name} is not lower-triangular")
            rows, cols = torch.tril_indices(n, n)
            out[name + TRIL] = v[..., rows, cols].contiguous()
        elif int8_min and v.dim() == 2 and v.is_floating_point() and v.numel() >= int8_min:
            w = v.float()
            scale = w.abs().amax(dim=1).clamp_min(1e-12) / 127.0
            out[name] = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8)
            out[name + SCALE] = scale
        else:
            out[name] = v
    return out


def _tril_side(m: int, name: str) -> int:
    n = (math.isqrt(8 * m + 1) - 1) // 2
    if n * (n + 1) // 2 != m:
        raise ValueError(f"{name}: {m} entries are not a packed triangle")
    return n


def from_packed(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Tensors read from a file -> the state dict they pack."""
    out: dict[str, torch.Tensor] = {}
    for name, v in tensors.items():
        if name.endswith(SCALE):
            if name[:-len(SCALE)] not in tensors:
                raise ValueError(f"{name} scales a matrix the file does not hold")
            continue
        if name.endswith(TRIL):
            n = _tril_side(v.shape[-1], name)
            full = v.new_zeros(*v.shape[:-1], n, n)
            rows, cols = torch.tril_indices(n, n)
            full[..., rows, cols] = v
            out[name[:-len(TRIL)]] = full
        elif name + SCALE in tensors:
            scale = tensors[name + SCALE]
            if v.dtype != torch.int8 or v.dim() != 2 or tuple(scale.shape) != (v.shape[0],):
                raise ValueError(f"{name}: {tuple(v.shape)} {v.dtype} does not match its scale {tuple(scale.shape)}")
            out[name] = v.float() * scale.float()[:, None]
        else:
            out[name] = v
    return out


def packed_shapes(shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """File tensor shapes -> the shapes of the state dict they pack."""
    out = {}
    for name, shape in shapes.items():
        if name.endswith(SCALE):
            continue
        if name.endswith(TRIL):
            n = _tril_side(shape[-1], name)
            out[name[:-len(TRIL)]] = (*shape[:-1], n, n)
        else:
            out[name] = tuple(shape)
    return out
