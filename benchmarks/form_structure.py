"""Structure of 32-bar pieces next to real tunes: bar repeats and Mittal et al.'s self-similarity.

Real pieces are the first 32 bars of the tunes (both splits) of a prepared 16-bar
dataset (two consecutive 16-bar windows of one piece). Generated pieces of
each model come two ways: the latent walk that ``sample --bars 32 --form walk``
chains (``studio.sample``) and :mod:`musiclatent.generation.form` (default AABB of
8-bar sections, motifs repeated; what ``sample --bars 32`` writes). Printed per row:

* bar-repeat share: the share of bar pairs with notes whose steps agree on
  >= 90% (mean over pieces, 95% bootstrap interval), and its ratio to real;
* Mittal et al. (2021) framewise self-similarity (4-bar frames, hop 2): the
  consistency and variance of the overlap of adjacent frames' pitch and
  duration Gaussians against the real pieces' (1 = like real; target 0.8+).

    python benchmarks/form_structure.py --model melody-16bar --model runs/m16seq --n 200

A table, never an assertion.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import print_table  # noqa: E402

from musiclatent.data.dataset import load_dataset  # noqa: E402
from musiclatent.evaluation.long_form import bar_repeat_share, framewise_overlaps, mittal_scores  # noqa: E402
from musiclatent.generation import studio  # noqa: E402
from musiclatent.generation.facade import MusicLatent  # noqa: E402
from musiclatent.generation.form import DEFAULT_REPEAT, form_pieces  # noqa: E402


def real_pieces(data_dir: str, bars: int, split: str = "all") -> tuple[np.ndarray, np.ndarray]:
    """First ``bars`` bars of each tune with that many: (n, bars * 16) tokens and (n,) style ids."""
    data = load_dataset(data_dir)
    data = data.validation() if split == "validation" else data
    w = data.tokens.shape[1] // 16
    out, styles = [], []
    for piece in np.unique(data.piece):
        rows = np.flatnonzero(data.piece == piece)
        by_bar = {int(data.bar[r]): r for r in rows}
        starts = [k * w for k in range(bars // w)]
        if all(s in by_bar for s in starts):
            out.append(np.concatenate([data.tokens[by_bar[s]] for s in starts]))
            styles.append(int(data.style[rows[0]]))
    return np.asarray(out, np.int64), np.asarray(styles, np.int64)


def row(label: str, pieces: np.ndarray, real_oa: dict, real_share: float, rng) -> list:
    share = bar_repeat_share(pieces)
    share = share[~np.isnan(share)]
    boots = [share[rng.integers(0, len(share), len(share))].mean() for _ in range(1000)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    m = mittal_scores(framewise_overlaps(pieces), real_oa)
    return [label, len(pieces), f"{share.mean():.3f} [{lo:.3f}, {hi:.3f}]", f"{share.mean() / real_share:.2f}",
            f"{m['pitch_consistency']:.3f}", f"{m['pitch_variance']:.3f}",
            f"{m['duration_consistency']:.3f}", f"{m['duration_variance']:.3f}"]


def _by_style(pieces: np.ndarray, styles: np.ndarray) -> dict[int, float]:
    """Mean bar-repeat share of the pieces of each style id."""
    share = bar_repeat_share(pieces)
    return {int(s): float(np.nanmean(share[styles == s])) for s in np.unique(styles)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", default=None, help="pretrained name or model/run folder (repeatable)")
    ap.add_argument("--data", default="data/melody-16bar", help="prepared 16-bar dataset (real pieces)")
    ap.add_argument("--bars", type=int, default=32)
    ap.add_argument("--form", default=None, help="form string (default: musiclatent.generation.form's for --bars)")
    ap.add_argument("--n", type=int, default=200, help="generated pieces per model and way")
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t0 = time.time()
    rng = np.random.default_rng(args.seed)
    real, real_styles = real_pieces(args.data, args.bars)
    if not len(real):
        print(f"no tune of {args.data} has {args.bars} bars", file=sys.stderr)
        return 2
    real_oa = framewise_overlaps(real)
    real_share = float(np.nanmean(bar_repeat_share(real)))
    pick = rng.choice(len(real), args.n)                      # generated pieces follow the real style mix
    rows = [row(f"real ({args.data}, first {args.bars} bars of each tune)", real, real_oa, real_share, rng)]
    per_style = {"real": _by_style(real, real_styles)}
    styles = real_styles[pick]
    for name in args.model or ["melody-16bar"]:
        ml = MusicLatent.load(name)
        walk, formed, plain = [], [], []
        for sid in np.unique(styles):
            k = int((styles == sid).sum())
            res = studio.sample(ml, n=k, bars=args.bars, style=ml.styles[sid], temperature=args.temperature,
                                seed=args.seed + int(sid), form="walk")
            walk += [v[0] for v in res.segments.values()]
            for out, repeat in ((formed, DEFAULT_REPEAT), (plain, 0.0)):
                out.append(form_pieces(ml, k, args.bars, args.form, ml.styles[sid], args.temperature,
                                       args.seed + int(sid), repeat=repeat))
        rows.append(row(f"{name}: latent walk (sample --bars {args.bars} --form walk)", np.asarray(walk), real_oa,
                        real_share, rng))
        rows.append(row(f"{name}: form {args.form or 'default'}, motifs not repeated (repeat 0)",
                        np.concatenate(plain), real_oa, real_share, rng))
        rows.append(row(f"{name}: form {args.form or 'default'} (sample --bars {args.bars})", np.concatenate(formed),
                        real_oa, real_share, rng))
        per_style[f"{name}: form"] = _by_style(np.concatenate(formed), np.sort(styles))
    print(f"{args.bars}-bar pieces, temperature {args.temperature}\n")
    print_table(["pieces", "n", "bar-repeat share [95%]", "x real", "pitch consistency", "pitch variance",
                 "duration consistency", "duration variance"], rows)
    names = list(MusicLatent.load((args.model or ["melody-16bar"])[0]).styles)
    sids = sorted(set(np.unique(real_styles)))
    print("\nbar-repeat share per style\n")
    print_table(["pieces", *[names[s] for s in sids]],
                [[label, *[f"{v.get(s, float('nan')):.3f}" for s in sids]] for label, v in per_style.items()])
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
