"""Does a candidate model measurably beat the shipped one? A paired comparison.

Both models reconstruct the same validation phrases of a prepared dataset (encode
with mu, decode by argmax fed with their own outputs, as ``musiclatent evaluate``
does). Per phrase we take the difference of the two models' accuracies, so the
phrases' own difficulty cancels, and print the mean difference with a 95%
bootstrap interval over phrases, for sampled accuracy, teacher-forced accuracy,
sampled accuracy on note-ons and NLL. An interval that excludes 0 is a
measurable difference.

    python benchmarks/compare_models.py --old melody-16bar --new runs/melody-16bar-fb2048 --data data/melody-16bar

``--data`` may be repeated; a prepared dataset is compared on its validation split
(``--split``), a raw folder of music (``data/outside``) on all its phrases. With
``--samples`` the two models' prior samples are compared too, on the first
dataset (``musiclatent evaluate``'s sections): the share holding one note over 2
bars (Wilson 95% intervals), notes per bar against real phrases per style, MGEval
overlap and interpolation monotonicity.

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
from musiclatent.evaluation.evaluate import (EvalSettings, evaluate, load_eval_data, model_style_ids,  # noqa: E402
                                             reconstruction_outputs, split_mask)
from musiclatent.generation.facade import MusicLatent  # noqa: E402


def per_phrase(ml, tokens: np.ndarray, styles: np.ndarray, batch: int,
               chords: np.ndarray | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Metric -> (per-phrase value, per-phrase weight); pooled value = sum(v * w) / sum(w). A chord
    model decodes over the phrases' ``chords`` (n, K)."""
    out = reconstruction_outputs(ml.model, tokens, styles, batch, chords if ml.takes_chords else None,
                                 ml.chord_strength, ml.refine)
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


def wilson(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a share of n draws."""
    if n == 0:
        return float("nan"), float("nan")
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def compare_samples(old, new, data, split: str, seed: int, per_style: int) -> None:
    """Prior-sample rows for both models (evaluate's realism, interpolation and samples sections)."""
    settings = EvalSettings(split=split, style_samples=per_style, seed=seed,
                            sections=("realism", "interpolation", "samples"))
    res = [evaluate(ml, data, settings) for ml in (old, new)]
    rows = []
    for label, get in [("MGEval mean overlap area (T 0.5)", lambda r: r["realism"]["overlap_area"]),
                       ("interpolation monotonicity", lambda r: r["interpolation"]["monotonicity"])]:
        rows.append([label, f"{get(res[0]):.3f}", f"{get(res[1]):.3f}", f"{get(res[1]) - get(res[0]):+.3f}", "-"])
    share = [r["samples"]["held_over_2_bars"] for r in res]
    n = [r["samples"]["samples"] for r in res]
    ci = [wilson(s, k) for s, k in zip(share, n)]
    rows.append([f"prior samples holding a note > 2 bars ({n[0]})", f"{share[0]:.1%} [{ci[0][0]:.1%}, {ci[0][1]:.1%}]",
                 f"{share[1]:.1%} [{ci[1][0]:.1%}, {ci[1][1]:.1%}]", f"{share[1] - share[0]:+.1%}", "Wilson 95%"])
    for name in res[0]["samples"]["per_style"]:
        a, b = res[0]["samples"]["per_style"][name], res[1]["samples"]["per_style"][name]
        rows.append([f"notes/bar, samples / real, {name} (real {a['notes_per_bar_real']:.2f})",
                     f"{a['notes_per_bar_ratio']:.2f}", f"{b['notes_per_bar_ratio']:.2f}",
                     f"{b['notes_per_bar_ratio'] - a['notes_per_bar_ratio']:+.2f}",
                     f"held > 2 bars {a['held_over_2_bars']:.0%} / {b['held_over_2_bars']:.0%}"])
    print(f"\nprior samples ({per_style} per style, temperature 0.5), {res[0]['data']['phrases']} real phrases\n")
    print_table(["metric", "old", "new", "new - old", "note"], rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", default="melody-16bar", help="pretrained name or model/run folder (the shipped model)")
    ap.add_argument("--new", required=True, help="pretrained name or model/run folder (the candidate)")
    ap.add_argument("--data", action="append", default=None,
                    help="prepared dataset (its --split) or raw folder of music (all phrases); repeatable "
                         "(default data/melody-16bar)")
    ap.add_argument("--split", default="validation", choices=["validation", "all"],
                    help="split of a prepared dataset (a raw folder always uses all)")
    ap.add_argument("--samples", action="store_true", help="also compare prior samples (on the first --data)")
    ap.add_argument("--per-style", type=int, default=100, help="prior samples per style with --samples")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t0 = time.time()
    old, new = MusicLatent.load(args.old), MusicLatent.load(args.new)
    if old.steps != new.steps or old.styles != new.styles:
        print(f"the models differ in steps or styles: {old.steps} {old.styles} vs {new.steps} {new.styles}",
              file=sys.stderr)
        return 2
    first = None
    for path in args.data or ["data/melody-16bar"]:
        data = load_eval_data(path, old.bars, meter=old.meter)      # raw music read in the models' bars
        if data.steps != old.steps:
            print(f"{path} has {data.steps}-step phrases, the models {old.steps}: give data of their length "
                  "and meter", file=sys.stderr)
            return 2
        mask, split = split_mask(data, args.split if (data.split == 1).any() else "all")
        val = data.subset(mask)
        first = first or (data, split)
        tokens, styles = val.tokens.astype(np.int64), model_style_ids(old, val)
        with torch.no_grad():
            chords = val.chords.astype(np.int64)
            a, b = per_phrase(old, tokens, styles, args.batch, chords), per_phrase(new, tokens, styles, args.batch, chords)
        rng = np.random.default_rng(args.seed)
        print(f"\n{len(tokens)} {split} phrases of {path}; old = {args.old}, new = {args.new}\n")
        rows = []
        for key in a:
            o, n, d, lo, hi = paired(a[key], b[key], rng)
            better = "lower" if key.startswith("NLL") else "higher"
            verdict = "same" if lo <= 0 <= hi else ("new better" if (d > 0) == (better == "higher") else "old better")
            rows.append([key, f"{o:.4f}", f"{n:.4f}", f"{d:+.4f}", f"[{lo:+.4f}, {hi:+.4f}]", verdict])
        print_table(["metric", "old", "new", "new - old", "95% interval", "verdict"], rows)
    if args.samples:
        compare_samples(old, new, first[0], first[1], args.seed, args.per_style)
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
