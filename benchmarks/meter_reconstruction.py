"""Reconstruction per meter: tunes in 3/4, 6/8, 9/8, ... that no model trained on.

    python benchmarks/meter_reconstruction.py [--model melody-2bar] [--data data/outside]

Prepares the folder with ``--all-meters`` (windows start on each tune's own bar lines and run
across them, as songs are read), encodes every window, decodes it by argmax and prints the
sampled accuracy over all steps and over note-on steps, per meter.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musiclatent.data.dataset import load_dataset  # noqa: E402
from musiclatent.data.prepare import prepare  # noqa: E402
from musiclatent.generation.facade import MusicLatent  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="melody-2bar")
    ap.add_argument("--data", default="data/outside")
    args = ap.parse_args()
    ml = MusicLatent.load(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = prepare([args.data], tmp, bars=ml.bars, progress=False, all_meters=True)
        data = load_dataset(tmp)
    meters = np.array(["{}/{}".format(*manifest["pieces"][p]["time_signature"]) for p in data.piece])
    tokens = data.tokens.astype(np.int64)
    out = np.concatenate([ml.decode(ml.encode(tokens[i:i + 256])) for i in range(0, len(tokens), 256)])
    hit, onset = out == tokens, ml.representation.onsets(tokens)
    print(f"{args.model} on {args.data}: {len(tokens)} phrases of {ml.bars} bars")
    print("| meter | tunes | phrases | sampled accuracy | on note-ons |")
    print("|---|---|---|---|---|")
    for meter in sorted(set(meters), key=lambda m: -np.sum(meters == m)):
        rows = meters == meter
        tunes = len(set(data.piece[rows].tolist()))
        print(f"| {meter} | {tunes} | {rows.sum()} | {hit[rows].mean():.3f} | {hit[rows][onset[rows]].mean():.3f} |")
    print(f"| all | {len(set(data.piece.tolist()))} | {len(tokens)} | {hit.mean():.3f} | {hit[onset].mean():.3f} |")


if __name__ == "__main__":
    main()
