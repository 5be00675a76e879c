"""Do restyle and vary respect the input? Rests kept, pitch centre and range, on held-out songs.

For every held-out song (``data/outside``, ``demo/examples``; also each with a
4-bar intro, silence in its melody track) and model, restyle to each target
style at strength 1 and make 4 variations at similarity 0.8, as shipped
(rests kept, register kept) and with both options off (``--fill-rests
--free-register``: the model's own output). Per output:

* rests kept: the share of the input's silent steps where the output is silent too;
* pitch-centre difference: output minus input duration-weighted mean pitch (semitones);
* range difference: output minus input (highest - lowest pitch), semitones.

Targets (issue 23): rests kept >= 0.95, |pitch-centre difference| <= 4 semitones.

Usage::

    python benchmarks/respect_input.py [--models melody-2bar melody-16bar] [--per-book 10] [--styles irish bach]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import machine, print_table  # noqa: E402
from _heldout import heldout_songs, with_intro  # noqa: E402

INTRO_BARS = 4


def measures(ml, songs, op: str, styles: list[str], respect: bool) -> list[dict]:
    from musiclatent.generation import studio
    from musiclatent.generation.respect import respect_measures

    opts = {"keep_rests": respect, "keep_register": respect}
    out = []
    for _, mel in songs:
        if op == "restyle":
            results = [studio.restyle_song(ml, mel, s, strength=1.0, **opts) for s in styles]
        else:
            results = [studio.vary_song(ml, mel, n=4, similarity=0.8, seed=0, **opts)]
        for res in results:
            for stem in res.files:
                if stem != "original":
                    m = respect_measures(res.segments[stem], res.segments["original"])
                    if not np.isnan(m["centre_diff"]):
                        out.append(m)
    return out


def row(name: str, group: str, op: str, setting: str, ms: list[dict]) -> list:
    rests = np.array([m["rests_kept"] for m in ms])
    centre = np.array([m["centre_diff"] for m in ms])
    span = np.array([m["range_diff"] for m in ms])
    return [name, group, op, setting, len(ms), f"{rests.mean():.3f} (min {rests.min():.2f})",
            f"{np.median(np.abs(centre)):.2f} (max {np.abs(centre).max():.1f})", f"{(np.abs(centre) <= 4).mean():.3f}",
            f"{np.median(span):+.0f} (max {span.max():+.0f})"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["melody-2bar", "melody-16bar"])
    p.add_argument("--per-book", type=int, default=10, help="tunes per ABC book of data/outside (default 10)")
    p.add_argument("--styles", nargs="+", default=["irish", "bach"], help="restyle targets (default irish bach)")
    args = p.parse_args(argv)

    import torch

    from musiclatent.generation.facade import MusicLatent

    torch.set_num_threads(1)
    songs = heldout_songs(args.per_book)
    groups = {"as written": songs, f"{INTRO_BARS}-bar intro": [(n, with_intro(m, INTRO_BARS)) for n, m in songs]}
    print(f"{len(songs)} held-out songs (data/outside, demo/examples) · {machine()}\n")
    rows = []
    for name in args.models:
        ml = MusicLatent.load(name)
        for group, members in groups.items():
            for op in ("restyle", "vary"):
                for setting, respect in (("shipped (rests and register kept)", True), ("both off", False)):
                    rows.append(row(name, group, op, setting, measures(ml, members, op, args.styles, respect)))
    print_table(["model", "songs", "op", "setting", "outputs", "rests kept, mean (target >= 0.95)",
                 "|pitch-centre diff|, median", "share within ±4 semitones (target 1.0)", "range diff, median"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
