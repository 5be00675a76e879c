"""Waltz and jig models against the 4/4 model reading the same music across its bar lines.

    python benchmarks/meter_models.py [--meter 3/4 --meter 6/8] [--split validation|test] [--n 512]

For each meter, on tunes no model trained on (the held-out split of ``data/melody-2bar-N-D``, and
the tunes of that meter in ``data/outside``):

- **reconstruction**: sampled accuracy (argmax from mu, fed its own outputs) over all steps and over
  note-on steps. The meter model reads 2-bar windows of the meter's own bars; the 4/4 model reads
  the same tunes as songs are read by it (``--all-meters``: 32-step windows from the tune's bar
  lines, across them).
- **samples in the meter** (n prior samples at temperature 0.5, style "any"): the metrical
  profile, i.e. the share of onsets at each position of the bar, against the real held-out
  phrases' (total variation distance, 0 = the same accents; the 4/4 model's samples are laid in
  the meter's bars, as ``sample --meter`` would have to); the downbeat share (bars with a note
  starting on beat 1); and the MGEval mean overlap area with the real phrases.

Prints a table; no timings.
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
from musiclatent.evaluation.metrics import FEATURES, realism_metrics  # noqa: E402
from musiclatent.generation.facade import MusicLatent  # noqa: E402
from musiclatent.representations import MELODY  # noqa: E402

SPLITS = {"validation": 1, "test": 2}


def metrical_profile(tokens: np.ndarray, bar: int) -> np.ndarray:
    """Share of onsets at each step of the bar; (n, T) -> (bar,)."""
    on = MELODY.onsets(tokens)
    counts = on.reshape(len(tokens), -1, bar).sum((0, 1)).astype(float)
    return counts / max(counts.sum(), 1.0)


def downbeat_share(tokens: np.ndarray, bar: int) -> float:
    """Share of bars with a note starting on their first step."""
    on = MELODY.onsets(tokens).reshape(len(tokens), -1, bar)
    return float(on[:, :, 0].mean())


def recon(ml: MusicLatent, tokens: np.ndarray) -> tuple[float, float]:
    tokens = tokens.astype(np.int64)
    out = np.concatenate([ml.decode(ml.encode(tokens[i:i + 256])) for i in range(0, len(tokens), 256)])
    hit, on = out == tokens, MELODY.onsets(tokens)
    return float(hit.mean()), float(hit[on].mean())


def windows(folder: str, meter, all_meters: bool) -> tuple[np.ndarray, np.ndarray]:
    """Phrases of a raw music folder: (tokens, meter label per phrase)."""
    with tempfile.TemporaryDirectory() as tmp:
        manifest = prepare([folder], tmp, bars=2, progress=False, all_meters=all_meters,
                           meter=(4, 4) if all_meters else meter)
        if not manifest["phrases"]:
            return np.zeros((0, 0), np.int64), np.zeros(0, object)
        data = load_dataset(tmp)
    labels = np.array(["{}/{}".format(*manifest["pieces"][p]["time_signature"]) for p in data.piece], object)
    return data.tokens.astype(np.int64), labels


def held_out_pieces(meter, split: str) -> tuple[np.ndarray, list[str]]:
    """The meter dataset's held-out phrases and the ids of their pieces."""
    data = load_dataset(f"data/melody-2bar-{meter[0]}-{meter[1]}")
    rows = data.split == SPLITS[split]
    pieces = sorted({data.manifest["pieces"][p]["source"] for p in data.piece[rows]})
    return data.tokens[rows].astype(np.int64), pieces


def four_four_reading(pieces: list[str]) -> np.ndarray:
    """The 4/4 model's windows of the same held-out pieces (from the shared shard cache)."""
    from musiclatent.data.prepare import merge_shards

    shards = sorted(Path("runs/m21-shards/shards").glob("*.npz"))
    if not shards:
        return np.zeros((0, 32), np.int64)
    arrays, manifest = merge_shards(shards, 2, [], all_meters=True)
    keep = {i for i, p in enumerate(manifest["pieces"]) if p["source"] in set(pieces)}
    rows = np.array([p in keep for p in arrays["piece"]])
    return arrays["tokens"][rows].astype(np.int64)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--meter", action="append", default=None, help="meters to compare (default 3/4 and 6/8)")
    ap.add_argument("--split", default="validation", choices=sorted(SPLITS))
    ap.add_argument("--n", type=int, default=512, help="prior samples per model")
    ap.add_argument("--base", default="melody-2bar")
    args = ap.parse_args(argv)
    base = MusicLatent.load(args.base)
    rows = []
    for text in args.meter or ["3/4", "6/8"]:
        meter = tuple(int(v) for v in text.split("/"))
        name = f"{args.base}-{meter[0]}-{meter[1]}"
        ml = MusicLatent.load(name)
        bar = ml.steps_per_bar
        real, pieces = held_out_pieces(meter, args.split)
        out_native, _ = windows("data/outside", meter, all_meters=False)
        out_44, labels = windows("data/outside", meter, all_meters=True)
        from musiclatent.midi.melody import model_meter_for

        out_44 = out_44[np.array([model_meter_for(tuple(int(v) for v in m.split("/"))) == meter for m in labels],
                                 bool)] if len(out_44) else out_44
        tiled = four_four_reading(pieces)
        for label, model, toks in ((name, ml, real), (args.base + " (across bar lines)", base, tiled)):
            if len(toks):
                acc, on = recon(model, toks)
                rows.append([text, f"{args.split} recon", label, len(toks), f"{acc:.3f}", f"{on:.3f}"])
        for label, model, toks in ((name, ml, out_native), (args.base + " (across bar lines)", base, out_44)):
            if len(toks):
                acc, on = recon(model, toks)
                rows.append([text, "data/outside recon", label, len(toks), f"{acc:.3f}", f"{on:.3f}"])
        ref = metrical_profile(real, bar)
        for label, model in ((name, ml), (args.base + " (laid in the meter's bars)", base)):
            s = model.sample(args.n, None, 0.5, seed=0)[:, :2 * bar]
            tvd = 0.5 * np.abs(metrical_profile(s, bar) - ref).sum()
            mg = realism_metrics(real[:2000], s)
            overlap = float(np.mean([mg[f]["overlap_area"] for f in FEATURES]))
            rows.append([text, "samples", label, args.n, f"profile TVD {tvd:.3f}",
                         f"downbeats {downbeat_share(s, bar):.2f} (real {downbeat_share(real, bar):.2f}), "
                         f"MGEval {overlap:.3f}"])
    print("| meter | measure | model | phrases | value | more |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(v) for v in r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
