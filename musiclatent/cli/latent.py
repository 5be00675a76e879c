"""Latent space subcommands: index, map, nearest, score (thin; the work is in :mod:`musiclatent.latent`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from musiclatent.latent import index as latent
from musiclatent.latent.index import INDEX_DIRNAME, META_FILE

ROW_QUERY = re.compile(r"^row:(\d+)$")


def _user_error(msg: str):
    from musiclatent.cli.main import UserError

    return UserError(msg)


def _load_model(name: str | None, default_steps: int | None = None):
    from musiclatent.generation.facade import MusicLatent

    name = name or ("melody-16bar" if default_steps == 256 else "melody-2bar")
    try:
        return MusicLatent.load(name)
    except (FileNotFoundError, ValueError) as err:
        raise _user_error(str(err)) from None


def _index_folder(arg: str) -> Path:
    """An index folder, a model folder holding ``index/``, or a pretrained model name."""
    from musiclatent.constants import PRETRAINED_DIR

    for cand in (Path(arg), Path(arg) / INDEX_DIRNAME, PRETRAINED_DIR / arg / INDEX_DIRNAME):
        if (cand / META_FILE).exists():
            return cand
    raise _user_error(f"{arg} is not a latent index (no {META_FILE}); build one with "
                      f"`musiclatent index DATASET_OR_FOLDER --out {arg}`")


def _model_for_index(folder: Path, model_arg: str | None):
    """The model that built an index: --model, else the model folder it sits in, else the one it names."""
    if model_arg:
        return _load_model(model_arg)
    if (folder.parent / "model.safetensors").exists():
        return _load_model(str(folder.parent))
    recorded = latent.read_index(folder).meta.get("model_path")
    if recorded and (Path(recorded) / "model.safetensors").exists():
        return _load_model(recorded)
    raise _user_error(f"cannot tell which model built {folder}; pass --model")


def _model_and_index(args):
    """(model, index) from --model / --index, checked to belong together."""
    if args.index:
        folder = _index_folder(args.index)
        ml = _model_for_index(folder, args.model)
    else:
        ml = _load_model(args.model)
        folder = Path(ml.folder or ".") / INDEX_DIRNAME
        if not (folder / META_FILE).exists():
            raise _user_error(f"model {ml.name} has no latent index; build one with `musiclatent index "
                              f"DATASET_OR_FOLDER --model {args.model or ml.name} --out DIR` and pass --index DIR")
    try:
        index = latent.index_for(ml, folder)
    except ValueError as err:
        raise _user_error(f"{folder}: {err}") from None
    if not latent.same_model(ml, index):
        print(f"warning: {folder} was built with other weights than {ml.name}; rebuild it for exact results",
              file=sys.stderr)
    return ml, index


def _read_songs(paths: list[str], ml, track=None, keep_empty: bool = False, chords: bool = False) -> latent.Corpus:
    drums = ml.representation.name == "drums"
    corpus = latent.read_corpus_files(paths, ml.steps, ml.bars, track=track, keep_empty=keep_empty,
                                       meter=ml.meter, chords=chords and not drums, drums=drums)
    for line in corpus.skipped:
        print(f"skipped {line}", file=sys.stderr)
    return corpus


# --------------------------------------------------------------------------- index

def cmd_index(args) -> int:
    default_steps = None
    if len(args.inputs) == 1 and latent.is_dataset_folder(args.inputs[0]):
        import json

        default_steps = json.loads((Path(args.inputs[0]) / "manifest.json").read_text()).get("steps")
    ml = _load_model(args.model, default_steps)
    datasets = [p for p in args.inputs if latent.is_dataset_folder(p)]
    if (datasets and len(datasets) != len(args.inputs)) or len(datasets) > 1:
        raise _user_error("give one prepared dataset folder, or music files/folders (not both)")
    corpus = (latent.read_corpus_dataset(datasets[0]) if datasets
              else _read_songs(args.inputs, ml, track=args.track, chords=latent.scoring_model(ml).takes_chords))
    if len(corpus) == 0:
        raise _user_error("no phrase with notes found in " + ", ".join(args.inputs))
    cap = args.max_phrases if args.max_phrases is not None else latent.max_phrases_for(ml, args.max_mb)
    reuse = latent.read_index(args.reuse_scores) if args.reuse_scores else None
    index = latent.build_index(ml, corpus, max_phrases=cap or None, seed=args.seed,
                               dtype="float32" if args.float32 else "float16", progress=not args.quiet,
                               source=" ".join(args.inputs), reuse=reuse)
    if reuse is not None:
        print(f"scores of {index.meta.get('scores_reused', {}).get('phrases', 0)} phrases taken from {args.reuse_scores}"
              " (same scorer); the rest scored now")
    out = latent.write_index(index, args.out)
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    kept = f"{len(index)} of {index.meta['phrases_available']}" if len(index) < index.meta["phrases_available"] \
        else f"all {len(index)}"
    print(f"indexed {kept} phrases ({ml.z_dim}-dim latents, {index.meta['dtype']}) -> {out} ({size / 1e6:.2f} MB)")
    for style, n in index.meta["styles"].items():
        print(f"  {style:12s} {n:7d}")
    return 0


# --------------------------------------------------------------------------- map

def cmd_map(args) -> int:
    from musiclatent.latent.map import to_map_png

    folder = _index_folder(args.index)
    index = latent.read_index(folder)
    overlays = []
    if args.add or args.path:
        ml = _model_for_index(folder, args.model)
        latent.check_compatible(ml, index)
        for path in args.add:
            corpus = _read_songs([path], ml, track=args.track)
            if len(corpus) == 0:
                raise _user_error(f"{path}: no phrase with notes")
            overlays.append((Path(path).name, latent.place_on_map(ml, corpus.tokens, index)))
        if args.path:
            a, b = (_read_songs([p], ml, track=args.track) for p in args.path)
            if len(a) == 0 or len(b) == 0:
                raise _user_error("--path: both songs need a phrase with notes")
            za, zb = (latent.encode_for_index(ml, c.tokens[:1]) for c in (a, b))
            path = ml.interpolate_latents(za, zb, args.path_steps)[:, 0]
            overlays.append((f"{Path(args.path[0]).stem} -> {Path(args.path[1]).stem}",
                             index.projection.transform(path)))
    ev = index.projection.explained
    title = f"{len(index)} phrases of {index.meta.get('source') or folder} ({index.meta.get('model', '')}), PCA"
    png = to_map_png(index.coords, index.style, overlays, title=title,
                     axis_labels=(f"PC1 ({ev[0]:.0%} of variance)", f"PC2 ({ev[1]:.0%})"))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(png)
    placed = "".join(f", {label}: {len(p)} point{'s' * (len(p) != 1)}" for label, p in overlays)
    print(f"wrote {args.out}: {len(index)} corpus phrases{placed}")
    return 0


# --------------------------------------------------------------------------- nearest

def cmd_nearest(args) -> int:
    from musiclatent.latent.names import piece_name

    ml, index = _model_and_index(args)
    m = ROW_QUERY.match(args.query)
    if m and not Path(args.query).exists():
        row = int(m.group(1))
        if row >= len(index):
            raise _user_error(f"row {row} is out of range: the index has {len(index)} phrases")
        label = f"{index.file[row]} bar {index.bar[row] + 1} ({index.style[row]})"
        queries = [(label, index.latents[row:row + 1], row)]
    else:
        corpus = _read_songs([args.query], ml, track=args.track)
        if len(corpus) == 0:
            raise _user_error(f"{args.query}: no phrase with notes")
        sel = np.arange(len(corpus)) if args.bar is None else np.flatnonzero(corpus.bar + 1 == args.bar)
        if len(sel) == 0:
            raise _user_error(f"no phrase starts at bar {args.bar}; phrases start at bars "
                              + ", ".join(map(str, (corpus.bar + 1).tolist()[:20])))
        z = latent.encode_for_index(ml, corpus.tokens[sel])
        queries = [(f"{corpus.file[i]} bar {corpus.bar[i] + 1}", z[j:j + 1], None) for j, i in enumerate(sel)]
    _, file_code = np.unique(index.file.astype(str), return_inverse=True)
    for label, z, row in queries:
        excl = (np.array([file_code[row]]), file_code) if row is not None and not args.same_file else (None, None)
        rows, dists = latent.search(index.latents, z, args.k, args.metric, *excl)
        print(f"{label}: {args.k} nearest by {args.metric} distance")
        print(f"  {'rank':>4} {'distance':>9} {'row':>6}  {'style':10s} {'bar':>4}  tune (file)")
        for r, (i, d) in enumerate(zip(rows[0], dists[0])):
            if i >= 0:
                print(f"  {r + 1:4d} {d:9.4f} {i:6d}  {index.style[i]:10s} {index.bar[i] + 1:4d}  "
                      f"{piece_name(index.file[i])} ({index.file[i]})")
    return 0


# --------------------------------------------------------------------------- score

def cmd_score(args) -> int:
    from musiclatent.latent.typicality import describe_corpus, percentile_of, reading

    ml, index = _model_and_index(args)
    style = None if args.style in (None, "", "any") else args.style
    if style is not None:
        try:
            style = ml.styles[ml.style_id(style)]
        except ValueError as err:
            raise _user_error(str(err)) from None
    if len(args.paths) == 1 and latent.is_dataset_folder(args.paths[0]):
        corpus = latent.read_corpus_dataset(args.paths[0])
        if corpus.tokens.shape[1] != ml.steps:
            raise _user_error(f"{args.paths[0]} holds {corpus.tokens.shape[1]}-step phrases; "
                              f"the model takes {ml.steps}")
    else:
        corpus = _read_songs(args.paths, ml, track=args.track, chords=latent.scoring_model(ml).takes_chords)
    if len(corpus) == 0:
        raise _user_error("no phrase with notes to score")
    try:
        scores, rel, ref = latent.typicality_parts(ml, corpus.tokens, style, index, corpus.chords)
    except ValueError as err:
        raise _user_error(str(err)) from None
    flag = args.flag_percentile
    cond = f"under style {style}" if style else "unconditioned"
    if corpus.chords is not None and latent.scoring_model(ml).takes_chords:
        cond += ", over the chords read with the melody"
    by = "its density-trained scorer" if latent.scoring_model(ml) is not ml else "the model"
    found = latent.index_for(ml, index)
    among = found.ranked_among(style)
    phrases_of = "held-out corpus phrases" if found.ranking_rows(style)[1] == "held-out" else "training phrases"
    print(f"negative ELBO per step (nats, {cond}, under {by}); percentile among {among} of the index, "
          f"of that score and the local score (its lead over near variants), both matched for note count; "
          f"flagged at >= {flag:g}. The corpus: {describe_corpus(ml.styles)}")
    if args.phrases:
        items = [(float(s), float(r), f"{f} bar {b + 1}") for s, r, f, b in zip(scores, rel, corpus.file, corpus.bar)]
    else:
        files = list(dict.fromkeys(corpus.file.tolist()))
        items = [(float(scores[corpus.file == f].mean()), float(rel[corpus.file == f].mean()), f) for f in files]
    items.sort(key=lambda t: t[1])
    pct = percentile_of([r for _, r, _ in items], ref)
    n_flag = 0
    for (s, _, label), p in zip(items, pct):
        mark = "OUTLIER" if p >= flag else ""
        n_flag += bool(mark)
        print(f"{s:8.4f} {p:6.1f}%  {mark:7s}  {label}   ({reading(p, phrases_of)})")
    kind = "phrase" if args.phrases else "file"
    print(f"{n_flag} of {len(items)} {kind if len(items) == 1 else kind + 's'} at or above the {flag:g}th percentile")
    return 0


# --------------------------------------------------------------------------- registration

def _index_args(p):
    p.add_argument("--model", default=None, help="pretrained name or model/run folder (default: melody-2bar, "
                                                 "or the model the index belongs to)")
    p.add_argument("--index", default=None, help="index folder (default: the model's own index/)")
    p.add_argument("--track", default=None, help="melody track by index or name (default: automatic)")


def add_commands(sub) -> None:
    p = sub.add_parser("index", help="encode a corpus into a latent index (latents.npy + index.csv)",
                       description="Encode every phrase of a prepared dataset, or of music files/folders "
                                   "(a folder's first sub-folder is the style), under style 'any'. Stores latent "
                                   "means, tokens, file, bar, style, scores and attributes. Writing into "
                                   "MODEL/index makes the model find it automatically.")
    p.add_argument("inputs", nargs="+", help="a prepared dataset folder, or music files/folders")
    p.add_argument("--out", required=True, help="index folder to write (e.g. MODEL_FOLDER/index)")
    p.add_argument("--model", default=None, help="pretrained name or model/run folder (default: by phrase length)")
    p.add_argument("--max-phrases", type=int, default=None,
                   help="keep a random sample of this many phrases (0 = all; default: fit --max-mb)")
    p.add_argument("--max-mb", type=float, default=latent.DEFAULT_MAX_MB,
                   help=f"size budget used when --max-phrases is not given (default {latent.DEFAULT_MAX_MB:g})")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    p.add_argument("--reuse-scores", default=None, metavar="INDEX",
                   help="an earlier index of the same corpus: its phrases keep their scores when its scorer is "
                        "this model's scorer (e.g. after re-shipping a model beside an unchanged scorer/), "
                        "so only latents are encoded")
    p.add_argument("--float32", action="store_true", help="store latents as float32 (default float16)")
    p.add_argument("--track", default=None, help="melody track by index or name (default: automatic)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("map", help="draw the index as a 2-D map (PCA), colored by style",
                       description="Write a PNG of the index projected by PCA. --add places the phrases of "
                                   "songs on it; --path A B places the latent path from A's first phrase to B's.")
    p.add_argument("index", help="index folder, a model folder with index/, or a pretrained name")
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--add", nargs="+", default=[], metavar="FILE", help="music files whose phrases to place")
    p.add_argument("--path", nargs=2, default=None, metavar=("A", "B"), help="place the interpolation path A -> B")
    p.add_argument("--path-steps", type=int, default=9, help="points on the --path (default 9)")
    p.add_argument("--model", default=None, help="the index's model (default: the folder it sits in)")
    p.add_argument("--track", default=None, help="melody track by index or name (default: automatic)")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("nearest", help="the k corpus phrases nearest to a song's phrases (or to row:N)",
                       description="List the k nearest corpus phrases (file, bar, style, distance) of each "
                                   "phrase of FILE, or of the index's own phrase row:N (its own file excluded).")
    p.add_argument("query", help="a music file, or row:N for the index's phrase N")
    p.add_argument("-k", type=int, default=10, help="neighbours per phrase (default 10)")
    p.add_argument("--metric", choices=latent.METRICS, default="cosine", help="distance on latent means")
    p.add_argument("--bar", type=int, default=None, help="only the phrase of FILE starting at this bar (1 = first)")
    p.add_argument("--same-file", action="store_true", help="for row:N, also list phrases of its own file")
    _index_args(p)
    p.set_defaults(func=cmd_nearest)

    p = sub.add_parser("score", help="typicality: negative ELBO per step and its percentile, most typical first",
                       description="Score every file (or with --phrases every phrase) of PATH by its negative "
                                   "ELBO per step and its typicality percentile. The percentile ranks two "
                                   "robust z-scores added, each among the index's training phrases with about "
                                   "as many notes: that of the score, and that of the local score (the score "
                                   "minus the mean score of 16 near variants, a note moved by a semitone or two "
                                   "or two neighbouring notes swapped; real music beats its variants). It ranks "
                                   "among the index's held-out phrases (or its training phrases when it has few). "
                                   "Shipped models score with their density-trained scorer (MODEL/scorer), whose "
                                   "ELBO is a real likelihood bound.")
    p.add_argument("paths", nargs="+", help="music files/folders, or one prepared dataset folder")
    p.add_argument("--phrases", action="store_true", help="one line per phrase instead of per file")
    p.add_argument("--flag-percentile", type=float, default=95.0, help="flag at or above this percentile (95)")
    p.add_argument("--style", default=None, help="score under this style (default: unconditioned)")
    _index_args(p)
    p.set_defaults(func=cmd_score)
