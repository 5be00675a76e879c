"""Small writers shared by command groups (disk I/O at the edge)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def write_latents(out: Path, zs: list[np.ndarray], rows: list[dict]) -> None:
    """``encode``'s output: latents.npy (n, Z) float32 and index.csv (row, then the rows' fields:
    file, start_bar, style and, for melodies, meter)."""
    out.mkdir(parents=True, exist_ok=True)
    z = np.concatenate(zs).astype(np.float32)
    np.save(out / "latents.npy", z, allow_pickle=False)
    with open(out / "index.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["row"] + list(rows[0]))
        w.writeheader()
        for i, r in enumerate(rows):
            w.writerow({"row": i, **r})
    print(f"wrote {len(z)} latent means ({z.shape[1]} dims) to {out / 'latents.npy'} with {out / 'index.csv'}")
