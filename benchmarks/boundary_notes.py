"""Notes that cross a phrase boundary, and where a morph starts and ends.

1. Every held-out song is round-tripped through ``interpolate A A`` (the
   ``recon_a`` file). A note of the song that crosses a phrase boundary
   counts as reproduced when the output has a note of the same pitch, onset and
   length; the table compares that rate with the rate of the song's other
   notes, read as one note stream (shipped) and phrase by phrase (before).
   Folk tunes seldom hold a note over a bar line, so the same songs also run
   pushed an eighth note early (pop-style anticipations: most notes that
   started on a bar line now cross it).
2. Each song gets a 6-bar instrumental intro (silence in its melody track)
   and is morphed into the next song: where does the morph's first note sit,
   and how much silence follows its last note?

Usage::

    python benchmarks/boundary_notes.py [--models melody-2bar melody-16bar] [--per-book 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import machine, print_table  # noqa: E402
from _heldout import heldout_songs, pushed, with_intro  # noqa: E402

INTRO_BARS = 6


def crossing(notes: np.ndarray, steps: int) -> np.ndarray:
    """bool (n,): does each note (pitch, start, end) cross a multiple of ``steps``?"""
    return (notes[:, 1] // steps) != ((notes[:, 2] - 1) // steps)


def reproduced(ref: np.ndarray, out: np.ndarray) -> np.ndarray:
    """bool (n,): is each reference note in ``out`` with the same pitch, onset and end?"""
    have = {tuple(n) for n in out.tolist()}
    return np.array([tuple(n) in have for n in ref.tolist()], bool)


def round_trips(ml, songs) -> dict:
    from musiclatent.generation import studio
    from musiclatent.generation.songs import song_phrases
    from musiclatent.generation.stream import stream_notes
    from musiclatent.representations.pianoroll import tokens_to_notes

    counts = {"cross": 0, "cross_ok": 0, "cross_ok_before": 0, "other": 0, "other_ok": 0, "other_ok_before": 0}
    for _, mel in songs:
        ref = stream_notes([song_phrases(mel, ml.steps, intro=False).phrases])
        res = studio.interpolate_songs(ml, mel, mel, steps=2)
        rows = res.segments["recon_a"]
        out = res.file_notes("recon_a")
        before = np.concatenate([tokens_to_notes(r) + [0, i * ml.steps, i * ml.steps] for i, r in enumerate(rows)])
        x = crossing(ref, ml.steps)
        ok, ok_before = reproduced(ref, out), reproduced(ref, before)
        counts["cross"] += int(x.sum())
        counts["other"] += int((~x).sum())
        counts["cross_ok"] += int(ok[x].sum())
        counts["other_ok"] += int(ok[~x].sum())
        counts["cross_ok_before"] += int(ok_before[x].sum())
        counts["other_ok_before"] += int(ok_before[~x].sum())
    return counts


def morph_edges(ml, songs) -> dict:
    """Median bars from the morph file's start to its first note, and after its last note."""
    from musiclatent.generation import studio

    bar = ml.steps // ml.bars
    first, first_kept, tail = [], [], []
    for (_, a), (_, b) in zip(songs, songs[1:] + songs[:1]):
        a, b = with_intro(a, INTRO_BARS), with_intro(b, INTRO_BARS)
        res = studio.interpolate_songs(ml, a, b, steps=5)
        notes = res.file_notes("morph")
        first.append(notes[0, 1] / bar)
        tail.append((len(res.stream("morph")) - notes[-1, 2]) / bar)
        kept = studio.interpolate_songs(ml, a, b, steps=5, keep_intro=True).file_notes("morph")
        first_kept.append(kept[0, 1] / bar)
    return {"first": statistics.median(first), "first_max": max(first), "first_kept": statistics.median(first_kept),
            "tail": statistics.median(tail), "tail_max": max(tail), "pairs": len(first)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["melody-2bar", "melody-16bar"])
    p.add_argument("--per-book", type=int, default=20, help="tunes per ABC book of data/outside (default 20)")
    args = p.parse_args(argv)

    import torch

    from musiclatent.generation.facade import MusicLatent

    torch.set_num_threads(1)
    songs = heldout_songs(args.per_book)
    print(f"{len(songs)} held-out songs (data/outside, demo/examples) · {machine()}\n")
    rows, edges = [], []
    for name in args.models:
        ml = MusicLatent.load(name)
        for label, group in (("as written", songs), ("pushed an eighth early", [(n, pushed(m)) for n, m in songs])):
            c = round_trips(ml, group)
            rate = lambda ok, n: ok / max(1, n)  # noqa: E731
            new = rate(c["cross_ok"], c["cross"]) / max(1e-9, rate(c["other_ok"], c["other"]))
            old = rate(c["cross_ok_before"], c["cross"]) / max(1e-9, rate(c["other_ok_before"], c["other"]))
            few = c["cross"] < 20          # a ratio of a handful of notes says little
            ratio = "n/a (none)" if not c["cross"] else f"{new:.2f}x" + (" (few notes)" if few else "")
            rows.append([name, label, c["cross"], f"{c['cross_ok']} ({rate(c['cross_ok'], c['cross']):.3f})",
                         f"{c['other_ok']} of {c['other']} ({rate(c['other_ok'], c['other']):.3f})", ratio,
                         f"{c['cross_ok_before']} ({old:.2f}x)" if c["cross"] else "-"])
        e = morph_edges(ml, songs)
        edges.append([name, e["pairs"], f"{e['first']:.2f} (max {e['first_max']:.2f})", f"{e['first_kept']:.2f}",
                      f"{e['tail']:.2f} (max {e['tail_max']:.2f})"])
    print("Round trip `interpolate A A` (recon_a): notes reproduced with the same pitch, onset and length\n")
    print_table(["model", "songs", "notes crossing a phrase boundary", "reproduced", "other notes reproduced",
                 "ratio (target >= 0.9x)", "before: phrase by phrase"], rows)
    print(f"\nMorphs of song i into song i+1, each with a {INTRO_BARS}-bar intro (bars of the model, median)\n")
    print_table(["model", "pairs", "first note from the file start (target <= 1)", "same with --keep-intro",
                 "silence after the last note"], edges)
    return 0


if __name__ == "__main__":
    sys.exit(main())
