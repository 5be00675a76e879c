"""Similarity search over latent means: distances, k nearest, and how often neighbours share a style.

Pure numpy; :mod:`musiclatent.latent` re-exports these for the index, the CLI and the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from musiclatent.latent.index import LatentIndex

METRICS = ("cosine", "euclidean")


def pairwise_distances(queries: np.ndarray, base: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """(m, Z), (n, Z) -> (m, n) float64: 1 - cosine similarity, or Euclidean distance."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    q, b = np.asarray(queries, np.float64), np.asarray(base, np.float64)
    if metric == "cosine":
        qn = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
        return np.clip(1.0 - qn @ bn.T, 0.0, 2.0)
    d2 = (q ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None, :] - 2.0 * q @ b.T
    return np.sqrt(np.maximum(d2, 0.0))


def search(base: np.ndarray, queries: np.ndarray, k: int = 10, metric: str = "cosine",
           exclude_group: np.ndarray | None = None, groups: np.ndarray | None = None,
           chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """k nearest rows of ``base`` (n, Z) for each query (m, Z).

    Rows whose ``groups`` value equals the query's ``exclude_group`` value are
    never returned (e.g. the query's own file). Ties go to the lower row.

    Returns (rows (m, k) int64, distances (m, k) float64); -1 / inf pad when
    fewer than k rows are eligible.
    """
    queries = np.asarray(queries).reshape(-1, np.asarray(base).shape[1])
    m, n = len(queries), len(base)
    k = int(k)
    if k < 1:
        raise ValueError("k must be at least 1")
    rows = np.full((m, k), -1, np.int64)
    dists = np.full((m, k), np.inf)
    kk = min(k, n)
    for a in range(0, m, chunk):
        d = pairwise_distances(queries[a:a + chunk], base, metric)
        if exclude_group is not None:
            d[np.asarray(exclude_group[a:a + chunk])[:, None] == np.asarray(groups)[None, :]] = np.inf
        part = np.argpartition(d, kk - 1, axis=1)[:, :kk] if kk < n else np.tile(np.arange(n), (len(d), 1))
        for j, cand in enumerate(part):
            cand = cand[np.lexsort((cand, d[j, cand]))]
            ok = np.isfinite(d[j, cand])
            rows[a + j, :ok.sum()] = cand[ok]
            dists[a + j, :ok.sum()] = d[j, cand[ok]]
    return rows, dists


def neighbour_style_agreement(index: LatentIndex, k: int = 10, metric: str = "cosine", max_queries: int = 2000,
                              seed: int = 0) -> dict:
    """How often a phrase's k nearest neighbours (other files only) share its style, vs chance.

    Chance is, per query, the share of eligible rows (not of its file) with its
    style, averaged over queries. Returns agreement, chance, lift, per_style and
    the balanced (mean over styles) agreement and chance, which a dominant style
    cannot inflate.
    """
    n = len(index)
    if n < 2:
        raise ValueError("need at least 2 phrases")
    q = np.sort(np.random.default_rng(seed).permutation(n)[:max_queries])
    _, file_code = np.unique(index.file.astype(str), return_inverse=True)
    rows, _ = search(index.latents, index.latents[q], k, metric, file_code[q], file_code)
    valid = rows >= 0
    same = (index.style[np.where(valid, rows, 0)] == index.style[q][:, None]) & valid
    style_count = {s: int((index.style == s).sum()) for s in index.styles}
    file_count = np.bincount(file_code)
    own = file_count[file_code[q]]
    chance = np.array([(style_count[s] - o) / max(n - o, 1) for s, o in zip(index.style[q], own)])
    has = valid.any(1)
    agree_q = same.sum(1) / np.maximum(valid.sum(1), 1)
    per_style = {}
    for s in index.styles:
        sel = has & (index.style[q] == s)
        if sel.any():
            per_style[s] = {"queries": int(sel.sum()), "agreement": float(agree_q[sel].mean()),
                            "chance": float(chance[sel].mean())}
    agreement, base = float(agree_q[has].mean()), float(chance[has].mean())
    balanced = float(np.mean([v["agreement"] for v in per_style.values()]))
    balanced_chance = float(np.mean([v["chance"] for v in per_style.values()]))
    return {"k": k, "metric": metric, "queries": int(has.sum()), "agreement": agreement, "chance": base,
            "lift": agreement / base if base > 0 else float("inf"), "balanced_agreement": balanced,
            "balanced_chance": balanced_chance, "per_style": per_style}
