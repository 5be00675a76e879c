"""Does a candidate model measurably beat the shipped one? A paired comparison.

Both models reconstruct the same validation phrases of a prepared dataset (encode
with mu, decode by argmax fed with their own outputs, as ``musiclatent evaluate``
does). Per phrase we take the difference of the two models' accuracies, so the
phrases' own difficulty cancels, and print the mean difference with a 95%
bootstrap interval over phrases, for sampled accuracy, teacher-forced accuracy,
sampled accuracy on note-ons and NLL. An interval that excludes 0 is a
measurable difference.

    python benchmarks/compare_models.py --old melody-16bar --new runs/melody-16bar-fb2048 --data data/melody-16bar

A table, never an assertion.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import print_table  # noqa: E402

from musiclatent.evaluation import metrics  # noqa: E402
from musiclatent.data.dataset import load_dataset  # noqa: E402
from musiclatent.evaluation.evaluate import model_style_ids, reconstruction_outputs  # noqa: E402
from musiclatent.generation.facade import MusicLatent  # noqa: E402


def per_phrase(ml, tokens: np.ndarray, styles: np.ndarray, batch: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Metric -> (per-phrase value, per-phrase weight); pooled value = sum(v * w) / sum(w)."""
    out = reconstruction_outputs(ml.model, tokens, styles, batch)
    res = {}
    for key, pred, notes in [("sampled accuracy", out["sampled"], False),
                             ("teacher-forced accuracy", out["teacher_forced"], False),
                             ("sampled accuracy, note-ons", out["sampled"], True)]:
        correct, counted = metrics.row_correct(pred, tokens, notes)
        res[key] = (correct / np.maximum(counted, 1), counted.astype(np.float64))
    res["NLL (nats/step)"] = (out["nll"].astype(np.float64), np.ones(len(tokens)))
    return res


def paired(old: tuple, new: tuple, rng: np.random.Generator, draws: int = 2000) -> tuple[float, float, float, float, float]:
    """(old pooled, new pooled, difference, 2.5% and 97.5% bootstrap bounds of the difference)."""
    (vo, w), (vn, _) = old, new
    pooled = lambda v, ww: float((v * ww).sum() / ww.sum())  # noqa: E731
    diff = pooled(vn, w) - pooled(vo, w)
    idx = rng.integers(0, len(w), (draws, len(w)))
    boots = ((vn - vo)[idx] * w[idx]).sum(1) / w[idx].sum(1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return pooled(vo, w), pooled(vn, w), diff, float(lo), float(hi)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", default="melody-16bar", help="pretrained name or model/run folder (the shipped model)")
    ap.add_argument("--new", required=True, help="pretrained name or model/run folder (the candidate)")
    ap.add_argument("--data", default="data/melody-16bar", help="prepared dataset (its validation split is used)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t0 = time.time()
    old, new = MusicLatent.load(args.old), MusicLatent.load(args.new)
    if old.steps != new.steps or old.styles != new.styles:
        print(f"the models differ in steps or styles: {old.steps} {old.styles} vs {new.steps} {new.styles}",
              file=sys.stderr)
        return 2
    val = load_dataset(args.data).validation()
    tokens, styles = val.tokens.astype(np.int64), model_style_ids(old, val)
    with torch.no_grad():
        a, b = per_phrase(old, tokens, styles, args.batch), per_phrase(new, tokens, styles, args.batch)
    rng = np.random.default_rng(args.seed)
    print(f"{len(tokens)} validation phrases of {args.data}; old = {args.old}, new = {args.new}\n")
    rows = []
    for key in a:
        o, n, d, lo, hi = paired(a[key], b[key], rng)
        better = "lower" if key.startswith("NLL") else "higher"
        verdict = "same" if lo <= 0 <= hi else ("new better" if (d > 0) == (better == "higher") else "old better")
        rows.append([key, f"{o:.4f}", f"{n:.4f}", f"{d:+.4f}", f"[{lo:+.4f}, {hi:+.4f}]", verdict])
    print_table(["metric", "old", "new", "new - old", "95% interval", "verdict"], rows)
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
