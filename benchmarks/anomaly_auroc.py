"""Does the typicality score spot music that does not belong?

Mixes deliberately corrupted phrases into held-out (validation) phrases of a
prepared dataset, scores everything under the unconditioned style (with the model
folder's density-trained ``scorer/`` when it ships one, as ``musiclatent score``
does; the generator's own is printed beside it), and prints the AUROC of
separating corrupted from real (goal >= 0.95) for: the raw negative ELBO per
step; its note-count-matched robust z-score (among training phrases with about as
many notes) alone; the local score (the score minus that of the phrase's near
variants, a note or two moved) matched the same way; and their sum, the
typicality statistic the percentiles rank. Corruptions: the phrase's pitches
shuffled (rhythm kept), its pitches redrawn uniformly in its own range (rhythm
kept), and uniformly random tokens. Beside the mix, not in it: the phrase's note
and rest durations shuffled (pitches kept), which a pitch-only score would miss.
Then prints how each style's phrases score under every style condition.

    python benchmarks/anomaly_auroc.py --model musiclatent/pretrained/melody-2bar --data data/melody-2bar
    python benchmarks/anomaly_auroc.py --model runs/melody-2bar --data data/melody-2bar --n 500 --index DIR
    python benchmarks/anomaly_auroc.py --outside data/outside     # also real music from outside the corpus

A table, never an assertion.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musiclatent.latent import anomaly, typicality  # noqa: E402
from musiclatent.latent import index as latent  # noqa: E402
from musiclatent.constants import NOTE_ON_OFFSET  # noqa: E402
from musiclatent.data.dataset import load_dataset  # noqa: E402
from musiclatent.generation.facade import MusicLatent  # noqa: E402


def corrupted_sets(real: np.ndarray, rng: np.random.Generator, corruptions=None) -> dict[str, np.ndarray]:
    """Corruption name -> corrupted phrases; rows a corruption left unchanged are dropped. Default:
    the mix (``anomaly.CORRUPTIONS`` and random tokens)."""
    out = {}
    for name, fn in (anomaly.CORRUPTIONS if corruptions is None else corruptions).items():
        bad = fn(real, rng)
        out[name] = bad[(bad != real).any(1)]
    if corruptions is None:
        out["random tokens"] = anomaly.random_tokens(len(real), real.shape[1], rng)
    return out


def scored_reference(ml, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scores, local scores, note counts) of phrases under ``ml``, style "any"; for the reference
    training phrases, computed once per model."""
    s = latent.batched_scores(ml, reference, "any")
    return s, latent.batched_local_scores(ml, reference, "any", s), typicality.note_counts(reference)


def statistic(ml, tokens: np.ndarray, ref: tuple) -> np.ndarray:
    """What the typicality percentiles rank (:func:`musiclatent.typicality.combined_scores`)."""
    return typicality.combined_scores(*scored_reference(ml, tokens), *ref)


def anomaly_table(ml, real: np.ndarray, ref: tuple, rng: np.random.Generator) -> list[dict]:
    """AUROC of the raw score, of the note-count-matched score alone and of the typicality statistic
    the percentiles rank (that plus the matched local score), with ``ref`` (training phrases) giving
    the expected scores per note count."""
    ref_s, ref_l, ref_n = ref

    def scored(tokens):
        """(raw, matched, matched local, typicality statistic) scores."""
        s, loc, n = scored_reference(ml, tokens)
        rel = typicality.relative_scores(s, n, ref_s, ref_n)
        rel_local = typicality.relative_scores(loc, n, ref_l, ref_n)
        return s, rel, rel_local, rel + rel_local

    real_parts = scored(real)
    real_s = real_parts[0]

    def row(name, *parts, in_mix=True):
        aurocs = [latent.auroc(a, b) for a, b in zip(real_parts, parts)]
        return {"corruption": name, "n_real": len(real), "n_corrupt": len(parts[0]), "in_mix": in_mix,
                "real_mean": float(real_s.mean()), "corrupt_mean": float(parts[0].mean()),
                **dict(zip(("auroc", "auroc_matched", "auroc_local", "auroc_typicality"), aurocs))}

    mixed = {name: scored(bad) for name, bad in corrupted_sets(real, rng).items()}
    rows = [row(name, *parts) for name, parts in mixed.items()]
    rows.append(row("all mixed", *(np.concatenate(part) for part in zip(*mixed.values()))))
    rows += [row(name, *scored(bad), in_mix=False)
             for name, bad in corrupted_sets(real, rng, anomaly.RHYTHM_CORRUPTIONS).items()]
    return rows


def tune_table(ml, ds, ref: tuple, n_tunes: int, rng: np.random.Generator) -> list[dict]:
    """File-level AUROC, as ``musiclatent score PATH`` ranks files: the mean typicality statistic of
    a held-out tune's phrases, against the same tunes with every phrase corrupted."""
    pieces = np.unique(ds.piece)
    pieces = np.sort(rng.permutation(pieces)[:n_tunes])
    rows_of = [np.flatnonzero(ds.piece == p) for p in pieces]
    real = ds.tokens[np.concatenate(rows_of)].astype(np.int64)
    owner = np.repeat(np.arange(len(pieces)), [len(r) for r in rows_of])

    def tune_means(tokens, keep):
        rel = statistic(ml, tokens, ref)
        return np.array([rel[keep & (owner == i)].mean() for i in range(len(pieces))])

    every = np.ones(len(real), bool)
    real_means = tune_means(real, every)
    rows, mixed = [], []
    for name, fn in anomaly.CORRUPTIONS.items():
        bad = fn(real, rng)
        changed = (bad != real).any(1)
        per_tune = np.array([changed[owner == i].any() for i in range(len(pieces))])
        means = tune_means(bad, changed)[per_tune]
        mixed.append(means)
        rows.append({"corruption": name, "tunes": int(len(pieces)), "corrupt_tunes": int(per_tune.sum()),
                     "phrases": int(len(real)), "auroc": latent.auroc(real_means, means)})
    rows.append({"corruption": "both mixed", "tunes": int(len(pieces)), "corrupt_tunes": int(sum(map(len, mixed))),
                 "phrases": int(len(real)), "auroc": latent.auroc(real_means, np.concatenate(mixed))})
    return rows


def calibration_table(ml, ds, ref: tuple, rng: np.random.Generator, outside=None, n_ranked: int = 1500,
                      n_test: int = 1000) -> list[dict]:
    """Are percentiles calibrated? Held-out tunes are split in two halves: percentiles rank among the
    typicality statistics of up to ``n_ranked`` phrases of one half (as ``musiclatent score`` ranks
    among an index's held-out phrases), and the other half's phrases are scored. Calibrated, their
    median percentile is near 50 and 5% are at or above the 95th. Beside it, ranking among the
    training phrases' own, as before; real music from outside the corpus, if given; and the
    note-count-matched ELBO alone (the statistic before the local score)."""
    ref_s, ref_l, ref_n = ref
    pieces = rng.permutation(np.unique(ds.piece))
    half = np.isin(ds.piece, pieces[:len(pieces) // 2])
    pick = lambda rows, n: ds.tokens[np.sort(rng.permutation(rows)[:n])].astype(np.int64)  # noqa: E731

    def both(s, loc, n):
        """(typicality statistic, matched ELBO alone)."""
        elbo = typicality.relative_scores(s, n, ref_s, ref_n)
        return elbo + typicality.relative_scores(loc, n, ref_l, ref_n), elbo

    among = {"training phrases": both(*ref),
             "held-out phrases": both(*scored_reference(ml, pick(np.flatnonzero(~half), n_ranked)))}
    scored = {"held-out corpus phrases": both(*scored_reference(ml, pick(np.flatnonzero(half), n_test)))}
    if outside is not None:
        scored["music outside the corpus"] = both(*scored_reference(ml, outside))
    rows = []
    for k, stat in enumerate(("typicality", "ELBO alone")):
        for who, base in among.items():
            for what, z in scored.items():
                p = typicality.percentile_of(z[k], base[k])
                rows.append({"statistic": stat, "ranked_among": f"{len(base[k])} {who}", "phrases": what,
                             "n": len(z[k]), "median_percentile": float(np.median(p)),
                             "share_at_95": float((p >= 95).mean())})
    return rows


@torch.no_grad()
def score_parts(ml, tokens: np.ndarray, batch: int = 256) -> dict[str, np.ndarray]:
    """Per phrase, under style "any" with z = mu: reconstruction NLL (nats), KL (nats), NLL per note-on."""
    out = {"reconstruction NLL": [], "KL": [], "NLL per note": []}
    for i in range(0, len(tokens), batch):
        t = torch.as_tensor(tokens[i:i + batch], dtype=torch.long)
        s = torch.zeros(len(t), dtype=torch.long)
        mu, logvar = ml.model.encode(t, s)
        ce = F.cross_entropy(ml.model.logits(mu, s, t).float().transpose(1, 2), t, reduction="none")
        note = (t >= NOTE_ON_OFFSET).float()
        out["reconstruction NLL"].append(ce.sum(1).numpy())
        out["KL"].append((0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)).numpy())
        out["NLL per note"].append(((ce * note).sum(1) / note.sum(1).clamp(min=1)).numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


class IntervalNgram:
    """A baseline with no latent at all: an interpolated n-gram over a phrase's melodic intervals
    (clipped to +-12 semitones), fitted on training phrases. Its score is the mean surprise per
    interval in nats. It shows how much pitch-order evidence the VAE's ELBO leaves unused."""

    def __init__(self, tokens: np.ndarray, order: int = 3, weight: float = 0.3):
        self.order, self.weight = order, weight
        self.counts = [dict() for _ in range(order + 1)]
        for row in tokens:
            iv = self.intervals(row)
            for n in range(1, order + 1):
                for i in range(len(iv) - n + 1):
                    key = tuple(iv[i:i + n])
                    self.counts[n][key] = self.counts[n].get(key, 0) + 1
        self.total = sum(self.counts[1].values())

    @staticmethod
    def intervals(row: np.ndarray) -> list[int]:
        p = row[row >= NOTE_ON_OFFSET].astype(np.int64)
        return np.clip(np.diff(p), -12, 12).tolist()

    def surprise(self, row: np.ndarray) -> float:
        iv = tuple(self.intervals(row))
        if not iv:
            return 0.0
        nll = 0.0
        for i, x in enumerate(iv):
            prob = (self.counts[1].get((x,), 0) + 1) / (self.total + 25)
            for n in range(1, min(self.order, i + 1)):
                ctx = iv[i - n:i]
                den = self.counts[n].get(ctx, 0)
                if den:
                    num = self.counts[n + 1].get(ctx + (x,), 0)
                    prob = (1 - self.weight) * prob + self.weight * (num + 0.1) / (den + 2.5)
            nll -= np.log(prob)
        return nll / len(iv)

    def scores(self, tokens: np.ndarray) -> np.ndarray:
        return np.array([self.surprise(r) for r in tokens])


def variants_table(ml, real: np.ndarray, rng: np.random.Generator, index=None, train=None,
                   reference=None, ref: tuple | None = None, encoder=None) -> list[dict]:
    """AUROC of alternative typicality scores, to show what the default (negative ELBO) trades off.
    ``encoder`` is the model whose latents ``index`` holds (default ``ml``; a scorer of its own shape
    has latents of another size)."""
    sets = {**corrupted_sets(real, rng), **corrupted_sets(real, rng, anomaly.RHYTHM_CORRUPTIONS)}
    parts = {name: score_parts(ml, t) for name, t in [("real", real), *sets.items()]}
    if train is not None and reference is not None:
        ngram = IntervalNgram(train)
        ref_s, _, ref_n = ref if ref is not None else scored_reference(ml, reference)
        sd_elbo = typicality.relative_scores(ref_s, ref_n, ref_s, ref_n).std()
        sd_ngram = ngram.scores(reference).std()
        for name, t in [("real", real), *sets.items()]:
            scores = latent.batched_scores(ml, t, "any")
            rel = typicality.relative_scores(scores, typicality.note_counts(t), ref_s, ref_n)
            surprise = ngram.scores(t)
            parts[name]["interval trigram, no VAE"] = surprise
            parts[name]["matched ELBO + trigram (z-scored)"] = rel / sd_elbo + surprise / sd_ngram
    if index is not None:
        train = index.latents[index.split != "validation"]
        for name, t in [("real", real), *sets.items()]:
            _, d = latent.search(train, latent.encode_for_index(encoder or ml, t), 10, "cosine")
            parts[name]["mean cosine distance to 10 nearest"] = d.mean(1)
    rows = []
    for score in parts["real"]:
        row = {"score": score}
        for name in sets:
            row[name] = latent.auroc(parts["real"][score], parts[name][score])
        rows.append(row)
    return rows


def style_table(ml, ds, per_style: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray, dict]:
    """Mean score of each style's held-out phrases (rows) under each condition (columns), and how
    often the own style gives the lowest score among the named styles."""
    conds = ml.styles
    named = [s for s in conds if s != "any"]
    matrix = np.full((len(named), len(conds)), np.nan)
    own_best = {}
    for i, style in enumerate(named):
        rows = np.flatnonzero(ds.style == ml.style_id(style))
        if len(rows) == 0:
            continue
        toks = ds.tokens[np.sort(rng.permutation(rows)[:per_style])].astype(np.int64)
        scores = np.stack([latent.batched_scores(ml, toks, c) for c in conds], 1)  # (n, C)
        matrix[i] = scores.mean(0)
        best = np.argmin(scores[:, 1:], 1) + 1
        own_best[style] = (float((best == conds.index(style)).mean()), len(toks))
    return conds, matrix, own_best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="melody-2bar", help="pretrained name or model/run folder")
    ap.add_argument("--data", default="data/melody-2bar", help="prepared dataset (its validation split is used)")
    ap.add_argument("--n", type=int, default=1000, help="held-out real phrases (default 1000)")
    ap.add_argument("--reference", type=int, default=3000,
                    help="training phrases giving the expected score per note count (default 3000)")
    ap.add_argument("--tunes", type=int, default=200,
                    help="held-out tunes for the file-level AUROC (default 200; 0 skips it)")
    ap.add_argument("--per-style", type=int, default=200, help="phrases per style in the style table")
    ap.add_argument("--index", default=None, help="also report neighbour style agreement on this index folder")
    ap.add_argument("--variants", action="store_true",
                    help="also the AUROC of alternative scores (reconstruction, KL, per note, latent kNN, and an "
                         "interval-trigram baseline with no VAE)")
    ap.add_argument("--no-scorer", action="store_true",
                    help="score with the generator itself even when the model folder ships a scorer/")
    ap.add_argument("--outside", default=None,
                    help="also the AUROC with real phrases from this folder of music the corpus does not hold "
                         "(e.g. data/outside), against the same training reference")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the numbers to this JSON file")
    args = ap.parse_args(argv)

    t0 = time.time()
    ml = MusicLatent.load(args.model)
    full = load_dataset(args.data)
    ds, train = full.validation(), full.train()
    if ds.steps != ml.steps:
        print(f"{args.data} has {ds.steps}-step phrases; {args.model} takes {ml.steps}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    real = ds.tokens[np.sort(rng.permutation(len(ds))[:args.n])].astype(np.int64)
    scorer = ml if args.no_scorer else latent.scoring_model(ml)
    who = "its density-trained scorer (MODEL/scorer)" if scorer is not ml else "the model itself"
    print(f"model {args.model} ({ml.bars} bars), held-out phrases of {args.data}; score = negative ELBO per "
          f"step (nats) under {who}, style 'any'\n")
    reference = train.tokens[np.sort(rng.permutation(len(train))[:args.reference])].astype(np.int64)
    ref = scored_reference(scorer, reference)
    rows = anomaly_table(scorer, real, ref, np.random.default_rng(args.seed + 1))
    print(f"{'corruption':16s} {'real':>6s} {'corrupt':>7s} {'real mean':>9s} {'corrupt mean':>12s} {'AUROC':>6s} "
          f"{'matched':>8s} {'local':>6s} {'typicality':>10s}")
    for r in rows:
        print(f"{r['corruption']:16s} {r['n_real']:6d} {r['n_corrupt']:7d} {r['real_mean']:9.3f} "
              f"{r['corrupt_mean']:12.3f} {r['auroc']:6.3f} {r['auroc_matched']:8.3f} {r['auroc_local']:6.3f} "
              f"{r['auroc_typicality']:10.3f}")
    mix = next(r for r in rows if r["corruption"] == "all mixed")
    print(f"(AUROC: the raw score; matched: its robust z-score among {len(reference)} training phrases with about "
          f"as many notes; local: the same for the local score, the score minus that of {typicality.VARIANTS} near "
          "variants; typicality: matched + local, what the percentiles rank. Rows below the mix are not in it)")
    print(f"\ngoal: typicality AUROC >= 0.95 on the mix -> {'met' if mix['auroc_typicality'] >= 0.95 else 'NOT met'}\n")
    outside_rows = []
    if args.outside:
        corpus = latent.read_corpus_files([args.outside], ml.steps, ml.bars)
        pick = np.sort(np.random.default_rng(args.seed).permutation(len(corpus))[:args.n])
        outside_rows = anomaly_table(scorer, corpus.tokens[pick].astype(np.int64), ref,
                                     np.random.default_rng(args.seed + 2))
        print(f"music outside the corpus ({args.outside}, {len(pick)} of its {len(corpus)} phrases) as the real "
              "phrases, the same training reference (raw / matched / typicality AUROC): " +
              "; ".join(f"{r['corruption']} {r['auroc']:.3f} / {r['auroc_matched']:.3f} / {r['auroc_typicality']:.3f}"
                        for r in outside_rows))
        print()
    calibration = calibration_table(scorer, ds, ref, np.random.default_rng(args.seed + 3),
                                    corpus.tokens[pick].astype(np.int64) if args.outside else None)
    print("calibration: percentiles of phrases the model never saw (median; share at or above the 95th, "
          "nominally 50 and 5%)")
    for r in calibration:
        print(f"  {r['statistic']:10s} {r['phrases']:25s} ranked among {r['ranked_among']:24s} median "
              f"{r['median_percentile']:5.1f}, >= 95th: {r['share_at_95']:6.1%}  ({r['n']} phrases)")
    print()
    generator_rows = []
    if scorer is not ml:
        generator_rows = anomaly_table(ml, real, scored_reference(ml, reference),
                                       np.random.default_rng(args.seed + 1))
        print("the same phrases and corruptions under the generator's own ELBO (raw / matched / typicality "
              "AUROC): " + "; ".join(f"{r['corruption']} {r['auroc']:.3f} / {r['auroc_matched']:.3f} / "
                                     f"{r['auroc_typicality']:.3f}" for r in generator_rows))
        print()
    tunes = tune_table(scorer, ds, ref, args.tunes, rng) if args.tunes > 0 else []
    if tunes:
        print("file level, as `musiclatent score PATH` ranks files: mean typicality statistic of a held-out "
              "tune's phrases vs the same tune with every phrase corrupted")
        print(f"{'corruption':16s} {'tunes':>6s} {'corrupt':>7s} {'phrases':>7s} {'AUROC':>6s}")
        for r in tunes:
            print(f"{r['corruption']:16s} {r['tunes']:6d} {r['corrupt_tunes']:7d} {r['phrases']:7d} {r['auroc']:6.3f}")
        print()

    conds, matrix, own_best = style_table(scorer, ds, args.per_style, rng)
    named = [s for s in conds if s != "any"]
    print("mean score of each style's held-out phrases (rows) under each style condition (columns); lower = "
          "more typical")
    print(f"{'style':10s} " + " ".join(f"{c[:8]:>8s}" for c in conds) + "   own-style lowest")
    for i, style in enumerate(named):
        if style not in own_best:
            continue
        cells = " ".join(("*" if j == conds.index(style) else " ") + f"{v:7.3f}" for j, v in enumerate(matrix[i]))
        share, n = own_best[style]
        print(f"{style:10s} {cells}   {share:5.1%} of {n}")

    out = {"model": args.model, "data": args.data, "scored_by": "scorer" if scorer is not ml else "model",
           "anomaly": rows, "anomaly_generator": generator_rows, "anomaly_outside": outside_rows, "tunes": tunes,
           "calibration": calibration,
           "style_matrix": {"conditions": conds, "styles": named, "mean_score": matrix.tolist()},
           "own_style_lowest": own_best}
    idx = latent.read_index(args.index) if args.index else None
    if args.variants:
        rows = variants_table(scorer, real, rng, idx, train.tokens.astype(np.int64), reference, ref, encoder=ml)
        names = [k for k in rows[0] if k != "score"]
        print("\nAUROC of alternative scores from the same scoring model (same real phrases, fresh corruptions)")
        print(f"{'score':36s} " + " ".join(f"{n:>15s}" for n in names))
        for r in rows:
            print(f"{r['score']:36s} " + " ".join(f"{r[n]:15.3f}" for n in names))
        out["variants"] = rows
    if idx is not None:
        res = latent.neighbour_style_agreement(idx, k=10)
        out["neighbours"] = res
        print(f"\nneighbour style agreement on {args.index} ({len(idx)} phrases, k=10, cosine, other files only): "
              f"{res['agreement']:.3f} vs chance {res['chance']:.3f} (lift {res['lift']:.2f}x); balanced over "
              f"styles {res['balanced_agreement']:.3f} vs {res['balanced_chance']:.3f}")
        for s, v in res["per_style"].items():
            print(f"  {s:10s} {v['agreement']:.3f} vs {v['chance']:.3f}  ({v['queries']} queries)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    print(f"\n({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
