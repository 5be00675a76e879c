"""Latent space tools: a corpus index, a 2-D map, similarity search and typicality.

An index is a folder that a model can carry as ``<model folder>/index``::

    latents.npy   (n, Z) float16 (or float32) latent means, encoded under style "any"
    tokens.npz    "tokens": (n, T) uint8 (drums: uint16) phrase tokens, compressed, so results can be played; and
                  "chords": (n, K) uint8 chord ids per half bar when a chord-hearing scorer scored them
    index.csv     one row per phrase: file, bar, style, split, score_any, score_style, local_any,
                  local_style, attributes
    index.json    what built it: model, weights fingerprint, steps, z_dim, counts, subsample

Everything loads with ``allow_pickle=False``. Phrases are encoded under the
unconditioned style so that a query of unknown style (an upload) and the corpus
live in the same space, and the style label cannot leak into neighbour search.
``score_any`` is the negative ELBO per step under style "any"; ``score_style``
under the phrase's own style (NaN when the model does not know it). ``local_*``
are the local scores under the same conditions: the score minus the mean score of
the phrase's near variants, each a note or two moved
(:func:`musiclatent.typicality.local_scores`).

Scores come from :func:`scoring_model`: a model folder may ship a ``scorer/``,
a VAE trained as a density model (beta 1, no free bits, always teacher-forced),
of the generator's shape or its own, for the same steps and styles. The
generator's free bits and scheduled sampling make its own ELBO a poor judge of
a shuffled melody; the scorer's ELBO is a real likelihood bound.

Typicality percentiles are density-matched: the score is compared with training
phrases with about as many notes, as a robust z-score (a busy phrase costs more
nats than a sparse one however typical it is, and busy phrases' scores spread
wider). The local score is matched the same way and the two z-scores are added:
the ELBO says how likely the phrase is, the local score whether its notes sit
where the model expects them, which also holds for music from outside the
corpus (``benchmarks/anomaly_auroc.py``). The sum is ranked among the index's
held-out (validation) phrases' own when it holds at least ``MIN_HELDOUT`` of
them, else among the training phrases': a scorer has partly learnt those by
heart, and ranking among them called most unseen music unusual.

Corpora come from :mod:`musiclatent.latent.corpus`, scores from
:mod:`musiclatent.latent.scoring`; both are re-exported here. Disk is touched only
by ``read_corpus_*``, ``write_index`` and ``read_index``.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from musiclatent.constants import STYLE_ANY
from musiclatent.generation.attributes import ATTRIBUTES, compute_attributes
from musiclatent.latent.anomaly import auroc  # noqa: F401  (re-exported: the AUROC helper)
from musiclatent.latent.corpus import Corpus, compact_tokens, is_dataset_folder, read_corpus_dataset, read_corpus_files  # noqa: F401
from musiclatent.latent.map import Projection, fit_pca
from musiclatent.latent.scoring import (SCORE_BATCH, batched_local_scores, batched_scores,  # noqa: F401
                                        check_scores_comparable, known_scores, model_fingerprint, score_rows,
                                        scoring_model)
from musiclatent.latent.search import METRICS, neighbour_style_agreement, pairwise_distances, search  # noqa: F401
from musiclatent.latent.typicality import combined_scores, note_counts, percentile_of

INDEX_DIRNAME = "index"
LATENTS_FILE, TOKENS_FILE, TABLE_FILE, META_FILE = "latents.npy", "tokens.npz", "index.csv", "index.json"
INDEX_VERSION = 2  # 2: local_any and local_style columns
DEFAULT_MAX_MB = 5.0
CSV_BYTES_PER_ROW = 104  # estimate (measured ~103) used to fit an index into a size budget
MIN_HELDOUT = 200  # held-out phrases an index needs for percentiles to rank among them


# --------------------------------------------------------------------------- the index

@dataclass
class LatentIndex:
    """Latent means of corpus phrases with what they are.

    latents : (n, Z) float32 ; tokens : (n, T) uint8 or uint16 ; file, style, split : (n,) str ;
    bar : (n,) int32 ; score_any, score_style, local_any, local_style : (n,) float32 ;
    attributes : name -> (n,) ;
    meta : dict (see the module docstring) ;
    chords : (n, K) uint8 chord ids per half bar the phrases were scored over, or None.
    """

    latents: np.ndarray
    tokens: np.ndarray
    file: np.ndarray
    bar: np.ndarray
    style: np.ndarray
    split: np.ndarray
    score_any: np.ndarray
    score_style: np.ndarray
    local_any: np.ndarray
    local_style: np.ndarray
    attributes: dict[str, np.ndarray]
    meta: dict
    chords: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.latents)

    @property
    def styles(self) -> list[str]:
        """Styles present, in the order of first appearance."""
        return list(dict.fromkeys(self.style.tolist()))

    @cached_property
    def projection(self) -> Projection:
        """The map: PCA of all indexed latents."""
        return fit_pca(self.latents)

    @cached_property
    def coords(self) -> np.ndarray:
        """Map coordinates of every indexed phrase, (n, 2) float64."""
        return self.projection.transform(self.latents)

    def training_rows(self) -> np.ndarray:
        """Mask of the phrases queries are matched with: every phrase but the held-out ones (a
        dataset's validation and test splits)."""
        return (self.split != "validation") & (self.split != "test")

    def _scored(self, style=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scores and local scores under ``style``, mask of the phrases scored that way): style "any"
        for every phrase, else each phrase of that style under its own."""
        if style in (None, "", 0, STYLE_ANY):
            return self.score_any, self.local_any, np.isfinite(self.score_any)
        keep = (self.style == style) & np.isfinite(self.score_style)
        if not (keep & self.training_rows()).any():
            raise ValueError(f"the index holds no scored training phrase of style {style!r}; "
                             f"styles: {', '.join(self.styles)}")
        return self.score_style, self.local_style, keep

    def reference(self, style=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scores, local scores, note counts) of the training phrases a query scored under ``style``
        is matched with."""
        scores, local, keep = self._scored(style)
        keep = keep & self.training_rows()
        return scores[keep], local[keep], note_counts(self.tokens[keep])

    def ranking_rows(self, style=None) -> tuple[np.ndarray, str]:
        """(mask, kind) of the phrases whose matched scores percentiles rank among: the held-out
        (validation) phrases when the index has at least ``MIN_HELDOUT`` scored under ``style``, else
        the training phrases. A model has partly learnt its own training phrases by heart, so they
        score lower than any music it has not seen, and ranking among them called unseen music
        unusual (see the module docstring)."""
        *_, keep = self._scored(style)
        held = keep & (self.split == "validation")
        if held.sum() >= MIN_HELDOUT:
            return held, "held-out"
        return keep & self.training_rows(), "training"

    def ranked_among(self, style=None) -> str:
        """What percentiles under ``style`` rank among, for people: "1414 held-out corpus phrases"."""
        rows, kind = self.ranking_rows(style)
        return f"{int(rows.sum())} {'held-out corpus' if kind == 'held-out' else 'training'} phrases"

    def relative_reference(self, style=None) -> np.ndarray:
        """Matched typicality statistics (see :func:`combined_scores`) of the phrases percentiles rank
        among (:meth:`ranking_rows`), matched with the training phrases; once per style."""
        cache = self.__dict__.setdefault("_relative_reference", {})
        if style not in cache:
            rows, _ = self.ranking_rows(style)
            scores, local, _ = self._scored(style)
            cache[style] = combined_scores(scores[rows], local[rows], note_counts(self.tokens[rows]),
                                           *self.reference(style))
        return cache[style]

    def row(self, i: int) -> dict:
        """One phrase's record (file, bar, style, split, scores, attributes)."""
        out = {"row": int(i), "file": str(self.file[i]), "bar": int(self.bar[i]), "style": str(self.style[i]),
               "split": str(self.split[i]), "score_any": float(self.score_any[i]),
               "score_style": float(self.score_style[i]), "local_any": float(self.local_any[i]),
               "local_style": float(self.local_style[i])}
        out.update({k: float(v[i]) for k, v in self.attributes.items()})
        return out


def max_phrases_for(ml, max_mb: float) -> int:
    """How many phrases fit an index of ``max_mb`` megabytes (fp16 latents, estimate)."""
    per_row = 2 * ml.z_dim + CSV_BYTES_PER_ROW + ml.steps // 4
    return max(1, int(max_mb * 1e6 // per_row))


def build_index(ml, corpus: Corpus, max_phrases: int | None = None, seed: int = 0, dtype: str = "float16",
                batch: int = SCORE_BATCH, progress: bool = False, source: str = "",
                reuse: "LatentIndex | None" = None) -> LatentIndex:
    """Encode, score and describe corpus phrases.

    Parameters
    ----------
    ml : MusicLatent
    corpus : Corpus with tokens (n, T), T == ml.steps
    max_phrases : keep a uniform random sample of this many phrases (seeded, in corpus order)
    dtype : "float16" or "float32", how latents are stored; the returned index holds
        exactly what a reload gives.
    reuse : an earlier index whose scores, made by the same scorer, are taken for the phrases it
        holds (:func:`known_scores`), so re-indexing after a new model over the same scorer only
        encodes.
    """
    from tqdm import tqdm

    if len(corpus) == 0:
        raise ValueError("nothing to index: no phrase with notes")
    if corpus.tokens.shape[1] != ml.steps:
        raise ValueError(f"phrases have {corpus.tokens.shape[1]} steps but the model expects {ml.steps} "
                         f"({ml.bars} bars); use a model or dataset of the same length")
    n_total = len(corpus)
    if max_phrases and n_total > max_phrases:
        idx = np.sort(np.random.default_rng(seed).permutation(n_total)[:max_phrases])
        corpus = corpus.subset(idx)
    known = np.array([s in ml.styles and s != STYLE_ANY for s in corpus.style])
    scorer = scoring_model(ml)
    chords = corpus.chords if getattr(scorer, "takes_chords", False) else None   # scored over their chords
    scores = known_scores(reuse, corpus, scorer)
    reused = int((~np.isnan(scores[:, 0])).sum())
    zs = []
    for i in tqdm(range(0, len(corpus), batch), desc="index", unit="batch", disable=not progress):
        t = corpus.tokens[i:i + batch].astype(np.int64)
        zs.append(ml.encode(t, STYLE_ANY, refine=0))
        todo = np.isnan(scores[i:i + batch, 0])
        if todo.any():
            c = None if chords is None else chords[i:i + batch][todo]
            scores[i:i + batch][todo] = score_rows(scorer, t[todo], corpus.style[i:i + batch][todo],
                                                    known[i:i + batch][todo], c)
    latents = np.concatenate(zs).astype(dtype).astype(np.float32)
    attrs = {k: np.round(v.astype(np.float32), 4) for k, v in compute_attributes(corpus.tokens).items()}
    meta = {
        "version": INDEX_VERSION, "model": getattr(ml, "name", ""), "model_path": str(getattr(ml, "folder", "")),
        "model_fingerprint": model_fingerprint(ml), "score_model_fingerprint": model_fingerprint(scorer),
        "score_model": "model" if scorer is ml else "scorer", "steps": int(ml.steps), "bars": int(ml.bars),
        "z_dim": int(ml.z_dim), "dtype": dtype, "encode_style": STYLE_ANY, "phrases": len(corpus),
        "phrases_available": n_total, "subsample": {"max_phrases": max_phrases, "seed": seed,
                                                     "rule": "uniform random sample, kept in corpus order"},
        "source": source, "styles": {s: int((corpus.style == s).sum()) for s in dict.fromkeys(corpus.style)},
        "skipped": corpus.skipped[:200],
    }
    if reused:
        meta["scores_reused"] = {"phrases": reused, "from": str(reuse.meta.get("model_path", ""))}
    return LatentIndex(latents, compact_tokens(corpus.tokens), corpus.file, corpus.bar, corpus.style,
                       corpus.split, *scores.T.copy(),
                       attrs, meta, None if chords is None else chords.astype(np.uint8))


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
    os.replace(tmp, path)


def write_index(index: LatentIndex, folder: str | os.PathLike) -> Path:
    """Write an index folder (each file atomically; index.json last, so a reader never sees half)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dtype = index.meta.get("dtype", "float16")
    _atomic(folder / LATENTS_FILE, lambda fh: np.save(fh, index.latents.astype(dtype), allow_pickle=False))
    arrays = {"tokens": compact_tokens(index.tokens)}
    if index.chords is not None:
        arrays["chords"] = index.chords.astype(np.uint8)
    _atomic(folder / TOKENS_FILE, lambda fh: np.savez_compressed(fh, **arrays))
    cols = ["row", "file", "bar", "style", "split", "score_any", "score_style", "local_any", "local_style"]
    cols += list(index.attributes)

    def write_csv(fh):
        import io

        text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        w = csv.writer(text)
        w.writerow(cols)
        for i in range(len(index)):
            w.writerow([i, index.file[i], int(index.bar[i]), index.style[i], index.split[i],
                        *(_fmt(c[i]) for c in (index.score_any, index.score_style, index.local_any, index.local_style))]
                       + [_fmt(index.attributes[k][i]) for k in index.attributes])
        text.flush()
        text.detach()

    _atomic(folder / TABLE_FILE, write_csv)
    meta = {**index.meta, "columns": cols, "files": [LATENTS_FILE, TOKENS_FILE, TABLE_FILE]}
    _atomic(folder / META_FILE, lambda fh: fh.write(json.dumps(meta, indent=1).encode()))
    return folder


def _fmt(x: float) -> str:
    return "" if not np.isfinite(x) else f"{float(x):.5g}"


def read_index(folder: str | os.PathLike) -> LatentIndex:
    """Load an index folder written by :func:`write_index` (no pickle)."""
    folder = Path(folder)
    if not (folder / META_FILE).exists():
        raise FileNotFoundError(f"{folder} is not a latent index (no {META_FILE}); "
                                f"build one with `musiclatent index DATASET_OR_FOLDER --out {folder}`")
    meta = json.loads((folder / META_FILE).read_text())
    if meta.get("version") != INDEX_VERSION:
        raise ValueError(f"{folder}: index version {meta.get('version')} is not {INDEX_VERSION}; rebuild it")
    latents = np.load(folder / LATENTS_FILE, allow_pickle=False).astype(np.float32)
    with np.load(folder / TOKENS_FILE, allow_pickle=False) as z:
        tokens, chords = z["tokens"], (z["chords"] if "chords" in z.files else None)
    with open(folder / TABLE_FILE, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not (len(rows) == len(latents) == len(tokens)):
        raise ValueError(f"{folder}: {len(latents)} latents, {len(tokens)} phrases and {len(rows)} rows disagree")

    def col(name, dtype=object):
        if dtype is object:
            return np.asarray([r[name] for r in rows], dtype=object)
        return np.asarray([float(r[name]) if r[name] != "" else np.nan for r in rows], dtype=dtype)

    attrs = {k: col(k, np.float32) for k in ATTRIBUTES if rows and k in rows[0]}
    return LatentIndex(latents, tokens, col("file"), col("bar", np.float64).astype(np.int32), col("style"),
                       col("split"), *(col(c, np.float32) for c in ("score_any", "score_style", "local_any", "local_style")),
                       attrs, meta, chords)


def index_for(ml, index=None) -> LatentIndex:
    """The index to use with a model: a LatentIndex, a folder, or (None) ``<model folder>/index``.

    Loaded indexes are cached on the model object, keyed by folder and modification time.
    """
    if isinstance(index, LatentIndex):
        return index
    if index is None:
        if getattr(ml, "folder", None) is None or not (Path(ml.folder) / INDEX_DIRNAME / META_FILE).exists():
            raise FileNotFoundError(f"{getattr(ml, 'name', 'this model')} has no latent index; build one with "
                                    "`musiclatent index DATASET_OR_FOLDER --model MODEL --out MODEL/index`")
        index = Path(ml.folder) / INDEX_DIRNAME
    folder = Path(index)
    key = (str(folder.resolve()), (folder / META_FILE).stat().st_mtime_ns if (folder / META_FILE).exists() else 0)
    cache = ml.__dict__.setdefault("_latent_index_cache", {})
    if key not in cache:
        loaded = read_index(folder)
        check_compatible(ml, loaded)
        cache.clear()
        cache[key] = loaded
    return cache[key]


def check_compatible(ml, index: LatentIndex) -> None:
    """Raise ValueError when an index's phrases or latents cannot belong to this model."""
    if index.meta.get("steps") != ml.steps or index.meta.get("z_dim") != ml.z_dim:
        raise ValueError(f"the index holds {index.meta.get('steps')}-step phrases with {index.meta.get('z_dim')}-dim "
                         f"latents; the model has {ml.steps} steps and {ml.z_dim} dims (wrong model or index)")


def same_model(ml, index: LatentIndex) -> bool:
    """False when the index records another weights fingerprint than the model's."""
    want, have = index.meta.get("model_fingerprint", ""), model_fingerprint(ml)
    return not want or not have or want == have


# --------------------------------------------------------------------------- model-facing helpers

def encode_for_index(ml, tokens) -> np.ndarray:
    """Latent means of query phrases exactly as the corpus was encoded (style "any"); (n, T) -> (n, Z)."""
    return ml.encode(np.asarray(tokens, np.int64).reshape(-1, ml.steps), STYLE_ANY, refine=0)


def place_on_map(ml, tokens, index=None) -> np.ndarray:
    """Phrases (n, T) placed on the corpus map: (n, 2) coordinates."""
    return index_for(ml, index).projection.transform(encode_for_index(ml, tokens))


def nearest_phrases(ml, tokens, k: int = 10, metric: str = "cosine", index=None) -> list[list[dict]]:
    """For each phrase (n, T): its k nearest corpus phrases as records with ``rank`` and ``distance``."""
    idx = index_for(ml, index)
    rows, dists = search(idx.latents, encode_for_index(ml, tokens), k, metric)
    return [[{"rank": r + 1, **idx.row(int(i)), "distance": float(d)} for r, (i, d) in enumerate(zip(rr, dd)) if i >= 0]
            for rr, dd in zip(rows, dists)]


def typicality_parts(ml, tokens, style=None, index=None, chords=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scores, typicality statistics) of phrases (n, T) under ``style`` by :func:`scoring_model` (over
    their ``chords`` (n, K) when it hears chords; None = no chord), and
    the statistics that percentiles rank among (:meth:`LatentIndex.relative_reference`: the index's
    held-out phrases, or its training phrases, scored the same way: style "any", or their own). A
    score is the negative ELBO per step; a statistic is its matched z-score plus that of the local
    score (:func:`combined_scores`)."""
    idx = index_for(ml, index)
    check_scores_comparable(ml, idx)
    name = None if style in (None, "", STYLE_ANY) else ml.styles[ml.style_id(style)]
    tokens = np.asarray(tokens).reshape(-1, ml.steps)
    scorer = scoring_model(ml)
    scores = batched_scores(scorer, tokens, name or STYLE_ANY, chords=chords)
    local = batched_local_scores(scorer, tokens, name or STYLE_ANY, scores, chords=chords)
    rel = combined_scores(scores, local, note_counts(tokens), *idx.reference(name))
    return scores, rel, idx.relative_reference(name)


def typicality(ml, tokens, style=None, index=None, chords=None) -> tuple[np.ndarray, np.ndarray]:
    """Negative ELBO per step of phrases (n, T) under ``style`` (over ``chords``, as in
    :func:`typicality_parts`) and its density-matched percentile (n,) among the index's held-out or
    training phrases (see the module docstring)."""
    scores, rel, ref_rel = typicality_parts(ml, tokens, style, index, chords)
    return scores, percentile_of(rel, ref_rel)
