"""What refined encoding buys: reconstruction with the encoder alone against latents refined by
gradient steps on the decoder (:mod:`musiclatent.models.refine`), per shipped model.

For each model: phrases of the validation split of its bundled dataset and, for melody models,
every phrase of ``data/outside`` in the model's meter (tunes from outside the training corpus).
Both figures are argmax decodes fed with their own outputs ("sampled"), all steps and note-on
steps; the time is the median milliseconds per phrase of the refinement, batch 64, one thread.

    python benchmarks/refine_gain.py                      # every shipped model, the folder's setting
    python benchmarks/refine_gain.py --models drums-2bar --steps 20 --json out.json

A table, never an assertion. The drum test split is not read here (``musiclatent evaluate
--model drums-2bar --data data/drums-2bar --split test`` reads it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import print_table  # noqa: E402

from musiclatent.evaluation import metrics  # noqa: E402
from musiclatent.evaluation.evaluate import load_eval_data, model_style_ids, split_mask  # noqa: E402
from musiclatent.evaluation.reconstruction import reconstruction_outputs  # noqa: E402
from musiclatent.generation.facade import MusicLatent  # noqa: E402
from musiclatent.models.refine import RefineSettings  # noqa: E402

MODELS = ("melody-2bar", "melody-2bar-chords", "melody-2bar-3-4", "melody-2bar-6-8", "melody-16bar",
          "melody-16bar-3-4", "melody-16bar-6-8", "drums-2bar")
DATASETS = {"melody-2bar": "data/melody-2bar", "melody-2bar-chords": "data/melody-2bar-chords",
            "melody-2bar-3-4": "data/melody-2bar-3-4", "melody-2bar-6-8": "data/melody-2bar-6-8",
            "melody-16bar": "data/melody-16bar", "melody-16bar-3-4": "data/melody-16bar-3-4",
            "melody-16bar-6-8": "data/melody-16bar-6-8", "drums-2bar": "data/drums-2bar"}


def measure(ml: MusicLatent, tokens: np.ndarray, styles: np.ndarray, chords, refine: RefineSettings,
            batch: int = 64) -> dict:
    """Sampled accuracy (all steps, note-ons) from the encoder alone and refined; ms per phrase."""
    t0 = time.perf_counter()
    out = reconstruction_outputs(ml.model, tokens, styles, batch, chords, ml.chord_strength, refine)
    seconds = time.perf_counter() - t0
    notes = not getattr(ml.representation, "is_drum", False)   # note-ons: melody tokens 2 and up
    row = {"phrases": int(len(tokens)), "refine_steps": refine.steps, "ms_per_phrase": 1000 * seconds / len(tokens)}
    for key, pred in (("encoder", out["sampled_encoder"]), ("refined", out["sampled"])):
        c, k = metrics.row_correct(pred, tokens, False)
        row[key] = float(c.sum() / k.sum())
        if notes:
            c, k = metrics.row_correct(pred, tokens, True)
            row[f"{key}_notes"] = float(c.sum() / k.sum())
    return row


def phrase_sets(ml: MusicLatent, name: str, n: int, seed: int) -> list[tuple[str, np.ndarray, np.ndarray, object]]:
    """(label, tokens, model style ids, chords or None) for the validation split and data/outside."""
    sets = []
    ds = load_eval_data(DATASETS[name], ml.bars, meter=ml.meter)
    rows = np.flatnonzero(split_mask(ds, "validation")[0])
    rows = np.sort(np.random.default_rng(seed).choice(rows, min(n, len(rows)), replace=False))
    val = ds.subset(rows)
    chords = val.chords.astype(np.int64) if ml.takes_chords and val.chords is not None else None
    sets.append(("validation", val.tokens.astype(np.int64), model_style_ids(ml, val), chords))
    if not getattr(ml.representation, "is_drum", False):
        try:
            out = load_eval_data("data/outside", ml.bars, meter=ml.meter)
        except (ValueError, FileNotFoundError) as err:
            print(f"{name}: no data/outside phrases ({err})", file=sys.stderr)
        else:
            if len(out.tokens):
                pick = np.sort(np.random.default_rng(seed).permutation(len(out.tokens))[:n])
                out = out.subset(pick)
                sets.append(("data/outside", out.tokens.astype(np.int64), np.zeros(len(out.tokens), np.int64), None))
    return sets


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated shipped models")
    ap.add_argument("--steps", type=int, default=None, help="refinement steps (default: each folder's setting, "
                                                             "or 20 where it has none)")
    ap.add_argument("--lr", type=float, default=None, help="step size (default: the folder's, else 0.1)")
    ap.add_argument("--n", type=int, default=300, help="phrases per set (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the rows to this JSON file")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows, table = [], []
    for name in args.models.split(","):
        ml = MusicLatent.load(name)
        own = ml.refine if ml.refine.steps else RefineSettings(20, 0.1)
        refine = RefineSettings(own.steps if args.steps is None else args.steps, own.lr if args.lr is None else args.lr)
        for label, tokens, styles, chords in phrase_sets(ml, name, args.n, args.seed):
            r = {"model": name, "data": label, **measure(ml, tokens, styles, chords, refine)}
            rows.append(r)
            four = lambda key: f"{r[key]:.4f}" if key in r else "-"  # noqa: E731
            table.append([name, label, r["phrases"], r["refine_steps"], four("encoder"), four("refined"),
                          four("encoder_notes"), four("refined_notes"), f"{r['ms_per_phrase']:.1f}"])
            print(f"{name} {label}: {r['encoder']:.4f} -> {r['refined']:.4f}", file=sys.stderr, flush=True)
    print_table(["model", "phrases of", "n", "steps", "encoder alone", "refined", "note-ons, encoder",
                 "note-ons, refined", "ms/phrase"], table)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
