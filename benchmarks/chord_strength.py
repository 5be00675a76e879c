"""How strongly should a chord model's chord-tone head lean on the chords? (issue 21)

For each chord strength (the head's bias times S; 1 = as trained, see
``musiclatent.models.vae.MusicVAE.chord_tones``), on the phrases of one split of a chord dataset that
have a chord on every half bar:

- prior samples (temperature 0.5, as ``musiclatent evaluate`` draws them) decoded over those phrases'
  progressions: the share of strong-beat notes (beats 1 and 3) on a chord tone, the goal being the
  real phrases' share (>= 0.7 and within 0.1 of it), and their MGEval overlap with the real phrases;
- the real phrases encoded and decoded over their own chords: sampled reconstruction accuracy
  (overall and on note-ons), which a strength that overrides the melody would lower.

The same latents decoded without chords are the baseline. Choose the strength on the validation split;
report the test split once.

    python benchmarks/chord_strength.py --model melody-2bar-chords
    python benchmarks/chord_strength.py --model runs/m2-tones-model --strengths 1,1.5,2,2.5,3 --split test

A table, never an assertion.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import print_table  # noqa: E402

from musiclatent.data.dataset import load_dataset  # noqa: E402
from musiclatent.evaluation.chords import chord_tone_rate  # noqa: E402
from musiclatent.evaluation.metrics import realism_metrics, token_accuracy  # noqa: E402
from musiclatent.evaluation.evaluate import split_mask  # noqa: E402
from musiclatent.generation.facade import MusicLatent  # noqa: E402

SPLITS = ("train", "validation", "test")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="melody-2bar-chords", help="a chord model with a chord-tone head")
    ap.add_argument("--data", default="data/melody-2bar-chords", help="prepared dataset with chords")
    ap.add_argument("--split", default="validation", choices=SPLITS)
    ap.add_argument("--strengths", default="0,1,1.5,2,2.5,3,4", help="comma-separated strengths")
    ap.add_argument("--samples", type=int, default=512, help="prior samples and real phrases (default 512)")
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the numbers to this JSON file")
    args = ap.parse_args(argv)
    ml = MusicLatent.load(args.model)
    if not getattr(ml.cfg, "chord_tones", False):
        raise SystemExit(f"{args.model} has no chord-tone head")
    ds = load_dataset(args.data)
    rows = np.flatnonzero(split_mask(ds, args.split)[0] & (ds.chords > 0).all(1))
    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(rows, size=min(args.samples, len(rows)), replace=False))
    real, prog = ds.tokens[pick].astype(np.int64), ds.chords[pick].astype(np.int64)
    z = ml.prior_latents(len(pick), None, args.temperature, rng)
    mu = ml.encode(real)
    free = ml.decode(z, None, args.temperature, args.seed)
    out = {"split": args.split, "phrases": int(len(pick)), "real_share": chord_tone_rate(real, prog),
           "without_chords_share": chord_tone_rate(free, prog), "shipped_strength": ml.chord_strength, "rows": []}
    print(f"{args.model} on {len(pick)} {args.split} phrases of {args.data} with a chord on every half bar "
          f"(model default strength {ml.chord_strength:g}); real phrases' chord-tone share {out['real_share']:.3f}, "
          f"the prior samples decoded without chords {out['without_chords_share']:.3f}")
    table = []
    for s in (float(x) for x in args.strengths.split(",")):
        gen = ml.decode(z, None, args.temperature, args.seed, chords=prog, chord_strength=s)
        rec = ml.decode(mu, chords=prog, chord_strength=s)
        row = {"strength": s, "samples_share": chord_tone_rate(gen, prog),
               "realism_overlap": float(np.nanmean([f["overlap_area"] for f in realism_metrics(real, gen).values()])),
               "recon": token_accuracy(rec, real), "recon_notes": token_accuracy(rec, real, notes_only=True)}
        out["rows"].append(row)
        table.append([f"{s:g}", f"{row['samples_share']:.3f}", f"{row['realism_overlap']:.3f}",
                      f"{row['recon']:.4f}", f"{row['recon_notes']:.3f}"])
    print_table(["strength", "samples over chords: chord-tone share", "their MGEval overlap with real",
                 "reconstruction with chords", "on note-ons"], table)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
