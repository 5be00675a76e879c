"""Typicality of pop and standard melodies the models never trained on (issue 21).

Takes the lead-sheet phrases (styles ``standards`` and ``jazz-pop``) of one split of a prepared
chord dataset (default: ``data/melody-2bar-chords``, validation; ``--split test`` for the final
figure, looked at once) and, for each model named:

- ranks the real phrases as ``musiclatent score`` does (percentile among the model's index; style
  "any"; over their chords when the model's scorer hears chords), and prints their median
  percentile and the share at or above the 95th (nominally 50 and 5%);
- moves a quarter of each phrase's notes (at least one) by 3 to 6 semitones, up or down, rhythm
  kept (:func:`musiclatent.latent.anomaly.move_notes`: "wrong notes"), and prints the AUROC of
  telling those from the real phrases by the typicality statistic (goal >= 0.9).

    python benchmarks/typicality_pop.py --models melody-2bar,melody-2bar-chords
    python benchmarks/typicality_pop.py --models melody-2bar-chords --split test --json benchmarks/results/typicality-pop-test.json

A table, never an assertion.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import print_table  # noqa: E402

from musiclatent.data.dataset import load_dataset  # noqa: E402
from musiclatent.evaluation.evaluate import split_mask  # noqa: E402
from musiclatent.generation.facade import MusicLatent  # noqa: E402
from musiclatent.latent.anomaly import auroc, move_notes  # noqa: E402
from musiclatent.latent.index import typicality_parts  # noqa: E402
from musiclatent.latent.typicality import percentile_of  # noqa: E402

SPLITS = ("train", "validation", "test")


def leadsheet_phrases(data_path: str, split: str, styles: list[str], n: int,
                      seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Up to n phrases (n, T) of the named styles in one split, drawn at random, their chords (n, K)
    and their counts per style."""
    ds = load_dataset(data_path)
    names = list(ds.style_names)
    wanted = [names.index(s) for s in styles if s in names]
    if not wanted:
        raise SystemExit(f"{data_path} has none of the styles {styles}; it has {names}")
    rows = np.flatnonzero(split_mask(ds, split)[0] & np.isin(ds.style, wanted))
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(rows, size=min(n, len(rows)), replace=False))
    counts = {names[s]: int((ds.style[rows] == s).sum()) for s in wanted}
    return ds.tokens[rows].astype(np.int64), ds.chords[rows].astype(np.int64), counts


def measure(ml, real: np.ndarray, moved: np.ndarray, chords: np.ndarray) -> dict:
    """Median percentile and share >= 95th of the real phrases; AUROC of moved against real. Both are
    scored over the real phrases' chords (a scorer that does not hear chords ignores them)."""
    _, rel_real, ref = typicality_parts(ml, real, chords=chords)
    _, rel_moved, _ = typicality_parts(ml, moved, chords=chords)
    pct = percentile_of(rel_real, ref)
    return {"median_percentile": float(np.median(pct)), "share_ge_95": float((pct >= 95).mean()),
            "auroc_moved": auroc(rel_real, rel_moved), "reference": int(len(ref))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="melody-2bar,melody-2bar-chords", help="comma-separated models")
    ap.add_argument("--data", default="data/melody-2bar-chords", help="prepared dataset with lead-sheet styles")
    ap.add_argument("--split", default="validation", choices=SPLITS)
    ap.add_argument("--styles", default="standards,jazz-pop", help="comma-separated styles of the dataset")
    ap.add_argument("--n", type=int, default=600, help="phrases (default 600)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the numbers to this JSON file")
    args = ap.parse_args(argv)
    real, chords, counts = leadsheet_phrases(args.data, args.split, args.styles.split(","), args.n, args.seed)
    moved = move_notes(real, np.random.default_rng(args.seed + 1))
    print(f"{len(real)} real phrases of the {args.split} split of {args.data} ({counts}); "
          f"wrong notes: a quarter of the notes moved 3-6 semitones")
    rows, out = [], {}
    for name in args.models.split(","):
        t = time.perf_counter()
        r = measure(MusicLatent.load(name), real, moved, chords)
        out[name] = {**r, "seconds": time.perf_counter() - t}
        rows.append([name, f"{r['median_percentile']:.1f}", f"{100 * r['share_ge_95']:.1f}%",
                     f"{r['auroc_moved']:.3f}", r["reference"]])
    print_table(["model", "real: median percentile (goal 40-70)", "real: share >= 95th",
                 "AUROC wrong notes vs real (goal >= 0.9)", "ranked among"], rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"split": args.split, "data": args.data, "phrases": counts,
                                               "models": out}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
