"""``musiclatent evaluate``: the numbers in the model cards and the README.

:func:`evaluate` runs four sections on a model and a phrase set and returns a
JSON-ready dict:

* reconstruction: ``recon_accuracy_teacher_forced``, ``recon_accuracy_sampled``,
  ``recon_accuracy_sampled_notes`` (overall and per style), ``nll_per_step``,
  ``kl_bits``, ``active_dims`` (encoding with mu);
* ``realism``: MGEval-style overlap areas between prior samples and real phrases;
* ``interpolation``: smoothness of slerp paths and of the data-space baseline;
* ``style``: a style classifier's accuracy on real, conditioned and restyled phrases;
* ``samples``: prior samples per style holding one note for over 2 bars, and their notes per
  bar against real phrases of the style (:mod:`musiclatent.evaluation.long_form`).

The metric formulas are in :mod:`musiclatent.metrics`; the classifier in
:mod:`musiclatent.classifier`; the printed table in :mod:`musiclatent.eval_report`.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from musiclatent.evaluation import long_form, metrics
from musiclatent.evaluation.classifier import ClassifierTraining, StyleClassifier, classifier_path, load_classifier, predict, train_classifier
from musiclatent.evaluation.feature_classifier import FeatureClassifier, train_feature_classifier
from musiclatent.evaluation.style_control import style_control
from musiclatent.constants import STYLE_ANY
from musiclatent.data.dataset import PhraseSet, load_dataset
from musiclatent.generation.facade import MusicLatent

from musiclatent.evaluation.settings import SECTIONS, EvalSettings  # noqa: E402,F401  (torch-free, for the CLI)
from musiclatent.evaluation.reconstruction import (_chunks, _overall_and_per_style,  # noqa: F401  (re-exported)
                                                  reconstruction_outputs, reconstruction_section)


# --------------------------------------------------------------------------- data

def is_prepared_dataset(path: str | Path) -> bool:
    path = Path(path)
    return (path / "manifest.json").exists() and (path / "phrases.npz").exists()


def load_eval_data(path: str | Path, bars: int, workers: int = 1, meter: tuple[int, int] = (4, 4)) -> PhraseSet:
    """A prepared dataset folder, or a raw folder/file of music prepared on the fly with ``bars``:
    for a 4/4 model every meter read as 4/4 phrases (``--all-meters``), for a model of another
    ``meter`` the pieces it reads, in its bars."""
    from musiclatent.data.prepare import prepare

    if is_prepared_dataset(path):
        return load_dataset(path)
    if not Path(path).exists():
        raise FileNotFoundError(f"no such dataset or music folder: {path}")
    meter = (int(meter[0]), int(meter[1]))
    how = "--all-meters" if meter == (4, 4) else f"--model-meter {meter[0]}/{meter[1]}"
    with tempfile.TemporaryDirectory(prefix="musiclatent-eval-") as tmp:
        manifest = prepare([str(path)], tmp, bars=bars, workers=workers, progress=False,
                           command=f"(evaluate) prepare {path} --bars {bars} {how}",
                           all_meters=meter == (4, 4), meter=meter)
        if manifest["phrases"] == 0:
            reasons = sorted({s["reason"] for s in manifest["files_skipped"]})[:3]
            why = (": " + "; ".join(reasons)) if reasons else ""
            raise ValueError(f"no {bars}-bar phrase could be cut from {path}{why}")
        return load_dataset(tmp)


def model_style_ids(ml: MusicLatent, data: PhraseSet) -> np.ndarray:
    """The model's style id of each phrase, matched by name; unknown styles become 0 ("any"). (n,) int64."""
    lookup = np.asarray([ml.styles.index(n) if n in ml.styles else 0 for n in data.style_names], np.int64)
    return lookup[np.asarray(data.style, np.int64)]


def split_mask(data: PhraseSet, split: str, prefer: tuple[str, ...] = ("validation",)) -> tuple[np.ndarray, str]:
    """Rows to evaluate and the split actually used: "auto" takes the first split of ``prefer``
    the data has, else all of it."""
    codes = {"train": 0, "validation": 1, "test": 2}
    if split == "auto":
        split = next((s for s in prefer if (data.split == codes[s]).any()), "all")
    masks = {"validation": data.split == 1, "train": data.split == 0, "test": data.split == 2,
             "all": np.ones(len(data), bool)}
    return masks[split], split


# --------------------------------------------------------------------------- batched model calls

def encode_batched(ml: MusicLatent, tokens: np.ndarray, styles: np.ndarray, batch: int) -> np.ndarray:
    """(n, T), (n,) -> latent means (n, Z)."""
    out = [ml.encode(tokens[s], styles[s].tolist()) for s in _chunks(len(tokens), batch)]
    return np.concatenate(out) if out else np.zeros((0, ml.z_dim), np.float32)


def decode_batched(ml: MusicLatent, z: np.ndarray, styles: np.ndarray, temperature: float, seed: int,
                   batch: int) -> np.ndarray:
    """(n, Z), (n,) -> tokens (n, T); chunk k uses seed + k."""
    out = [ml.decode(z[s], styles[s].tolist(), temperature, seed + k)
           for k, s in enumerate(_chunks(len(z), batch))]
    return np.concatenate(out) if out else np.zeros((0, ml.steps), np.int64)


def score_batched(ml: MusicLatent, tokens: np.ndarray, styles: np.ndarray, batch: int) -> np.ndarray:
    """Negative ELBO per step of each phrase (nats); (n, T), (n,) -> (n,)."""
    out = [ml.score(tokens[s], styles[s].tolist()) for s in _chunks(len(tokens), batch)]
    return np.concatenate(out) if out else np.zeros(0)


# --------------------------------------------------------------------------- sections

def realism_section(ml: MusicLatent, tokens: np.ndarray, styles: np.ndarray, settings: EvalSettings,
                    rng: np.random.Generator) -> dict:
    """Prior samples vs as many random real phrases; each sample is conditioned on the style of one
    real phrase, so both sets share a style mix."""
    n = min(settings.samples, len(tokens))
    idx = rng.choice(len(tokens), n, replace=False)
    real, cond = tokens[idx], styles[idx]
    z = np.zeros((n, ml.z_dim), np.float32)
    for sid in np.unique(cond):   # each style's latents from the model's style prior (or N(0, I))
        z[cond == sid] = ml.prior_latents(int((cond == sid).sum()), int(sid), settings.temperature, rng)
    gen = decode_batched(ml, z, cond, settings.temperature, settings.seed, settings.batch_size)
    feats = metrics.realism_metrics(real, gen, seed=settings.seed)
    mean = lambda key: float(np.nanmean([f[key] for f in feats.values()]))  # noqa: E731
    return {"temperature": settings.temperature, "samples": int(n),
            "overlap_area": mean("overlap_area"), "kl": mean("kl"),
            "overlap_area_generated": mean("overlap_area_generated"), "kl_generated": mean("kl_generated"),
            "features": feats}


def draw_pairs(styles: np.ndarray, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """m pairs of distinct rows, B drawn from A's style when that style has another phrase. -> (m,), (m,)."""
    a = rng.integers(0, len(styles), m)
    b = np.empty(m, np.int64)
    for k, i in enumerate(a):
        pool = np.flatnonzero((styles == styles[i]) & (np.arange(len(styles)) != i))
        if not len(pool):
            pool = np.flatnonzero(np.arange(len(styles)) != i)
        b[k] = rng.choice(pool)
    return a, b


def interpolation_section(ml: MusicLatent, tokens: np.ndarray, styles: np.ndarray, settings: EvalSettings,
                          rng: np.random.Generator) -> dict:
    """Latent slerp paths (argmax decoding, under A's style) and the data-space baseline.

    ``realism`` = exp(NLL(endpoints) - NLL(interior points)), per step under
    the model: 1 means the interpolants are as typical as real phrases A and
    B; the two NLLs are reported too.
    """
    ia, ib = draw_pairs(styles, settings.pairs, rng)
    a, b, s = tokens[ia], tokens[ib], styles[ia]
    k = settings.interp_steps
    bs = settings.batch_size
    za, zb = encode_batched(ml, a, s, bs), encode_batched(ml, b, s, bs)
    path_z = ml.interpolate_latents(za, zb, k + 1)                             # (K + 1, M, Z)
    latent = decode_batched(ml, path_z.reshape(-1, ml.z_dim), np.tile(s, k + 1), 0.0, settings.seed, bs)
    paths = {"latent": latent.reshape(k + 1, len(a), ml.steps),
             "data_space": metrics.data_space_paths(a, b, k + 1, rng)}
    nll_ends = float(np.mean(np.concatenate([score_batched(ml, a, s, bs), score_batched(ml, b, s, bs)])))
    out = {}
    for name, path in paths.items():
        res = metrics.interpolation_metrics(path, a)
        if k > 1:
            inner = path[1:-1].reshape(-1, ml.steps)
            nll = float(score_batched(ml, inner, np.tile(s, k - 1), bs).mean())
            res.update(realism=float(np.exp(nll_ends - nll)), nll_interpolants=nll)
        out[name] = res
    return {"pairs": int(len(a)), "steps": k, "nll_endpoints": nll_ends, **out.pop("latent"),
            "data_space": out["data_space"]}


# --------------------------------------------------------------------------- style

def _share(hits: np.ndarray) -> float:
    """Mean of a boolean array; NaN when empty."""
    return float(np.mean(hits)) if len(hits) else float("nan")


def classifier_labels(clf: StyleClassifier, ml: MusicLatent) -> dict[int, int]:
    """Model style id -> classifier class index, for styles both know."""
    return {ml.styles.index(n): c for c, n in enumerate(clf.cfg.styles) if n in ml.styles and n != STYLE_ANY}


def obtain_classifier(ml: MusicLatent, data: PhraseSet, styles: np.ndarray, path: str | Path | None = None,
                      retrain: bool = False, training: ClassifierTraining = ClassifierTraining()
                      ) -> tuple[StyleClassifier | None, dict]:
    """The style classifier to judge with: ``path``, else the one beside the model, else one trained
    now on the training split of ``data``. Returns (classifier or None, info with ``source``/``reason``)."""
    if path is not None or (not retrain and ml.folder is not None and classifier_path(ml.folder)):
        clf, info = load_classifier(path if path is not None else ml.folder)
        if clf.cfg.steps != ml.steps:
            raise ValueError(f"the classifier expects {clf.cfg.steps}-step phrases, the model makes {ml.steps}")
        return clf, {**info, "source": str(classifier_path(path if path is not None else ml.folder))}
    train_rows = (data.split == 0) & (styles > 0)
    present = sorted(set(styles[train_rows].tolist()))
    if len(present) < 2:
        return None, {"reason": "the training split has fewer than two of the model's styles"}
    names = tuple(ml.styles[i] for i in present)
    labels = np.searchsorted(np.asarray(present), styles[train_rows])
    clf, info = train_classifier(data.tokens[train_rows], labels, names, training)
    return clf, {**info, "source": "trained now on the training split", "trained_now": True}


def feature_judge(data: PhraseSet, styles: np.ndarray) -> tuple[FeatureClassifier | None, tuple[int, ...]]:
    """The second judge: softmax regression on hand-made features, fitted on the training split of
    ``data`` now (seconds); None when it has fewer than two styles. Returns it and the model style id
    of each of its classes."""
    rows = (data.split == 0) & (styles > 0)
    present = sorted(set(styles[rows].tolist()))
    if len(present) < 2:
        return None, ()
    labels = np.searchsorted(np.asarray(present), styles[rows])
    return train_feature_classifier(data.tokens[rows], labels, tuple(str(s) for s in present)), tuple(present)


def style_section(ml: MusicLatent, clf: StyleClassifier, tokens: np.ndarray, styles: np.ndarray,
                  settings: EvalSettings, rng: np.random.Generator, features: FeatureClassifier | None = None,
                  feature_styles: tuple[int, ...] = ()) -> dict:
    """Style control judged by the classifier and, when given, the feature classifier: accuracy on
    held-out real phrases, on conditioned prior samples (against the asked style) and on held-out
    phrases restyled at strength 1 (against the target), per style; diversity, MGEval overlap and
    what restyle keeps (:mod:`musiclatent.evaluation.style_control`, under ``control``).

    tokens (n, T), styles (n,): held-out phrases and their model style ids; ``feature_styles``: the
    model style id of each of the feature classifier's classes.
    """
    to_class = classifier_labels(clf, ml)
    known = np.isin(styles, list(to_class))
    held, held_styles = tokens[known], styles[known]
    if len(to_class) < 2 or not len(held):
        return {"skipped": "no held-out phrases of at least two styles the classifier knows"}
    truth = np.asarray([to_class[s] for s in held_styles])
    pred = predict(clf, held)
    per_style = {ml.styles[sid]: _share(pred[truth == c] == c) for sid, c in to_class.items() if (truth == c).any()}
    real = {"accuracy": float((pred == truth).mean()), "balanced_accuracy": metrics.balanced_accuracy(pred, truth),
            "phrases": int(len(held)), "per_style": per_style}
    class_sid = np.zeros(len(clf.cfg.styles), np.int64)
    for sid, c in to_class.items():
        class_sid[c] = sid
    judges = {"classifier": lambda t: class_sid[predict(clf, t)]}
    if features is not None:
        judges["features"] = lambda t: np.asarray(feature_styles, np.int64)[features.predict(t)]
    ids = sorted(to_class)
    control = style_control(ml, judges, features, held, held_styles, ids, settings.style_samples,
                            settings.restyle_phrases, settings.temperature, settings.seed + 1, settings.batch_size)
    cj = control["judges"]["classifier"]
    cond = {"accuracy": cj["conditioned"]["mean"], "samples": int(len(ids) * settings.style_samples),
            "temperature": settings.temperature, "per_style": cj["conditioned"]["per_style"]}
    restyled = {"accuracy": cj["restyled"]["accuracy"], "phrases": control["restyle_kept"]["phrases"],
                "strength": 1.0, "style_means": any(k.startswith("style_mean.") for k in ml.extras)}
    return {"classifier_styles": list(clf.cfg.styles), "real": real, "conditioned": cond, "restyled": restyled,
            "conditioned_to_real": cj["ratio"], "control": control}


# --------------------------------------------------------------------------- all of it

def evaluate(ml: MusicLatent, data: PhraseSet, settings: EvalSettings = EvalSettings(),
             classifier: tuple[StyleClassifier | None, dict] | None = None, log=None) -> dict:
    """Run the requested sections; returns the JSON-ready result.

    Parameters
    ----------
    ml : MusicLatent
    data : PhraseSet
        Phrases of ``ml.steps`` steps; its style names are matched to the model's by name.
    settings : EvalSettings
    classifier : (StyleClassifier or None, info), optional
        From :func:`obtain_classifier`; obtained here when None.
    log : callable(str), optional
        Progress messages.
    """
    if data.steps != ml.steps:
        raise ValueError(f"the data has {data.steps}-step phrases but the model makes {ml.steps} "
                         f"({ml.bars} bars); prepare the data with --bars {ml.bars}")
    log = log or (lambda msg: None)
    rng = np.random.default_rng(settings.seed)
    styles = model_style_ids(ml, data)
    mask, split = split_mask(data, settings.split)
    tokens, st = data.tokens[mask].astype(np.int64), styles[mask]
    if not len(tokens):
        raise ValueError(f"the {split} split of the data is empty")
    result: dict = {
        "model": {**ml.describe(), "folder": str(ml.folder) if ml.folder else None},
        "data": {"split": split, "phrases": int(len(tokens)),
                 "styles": {ml.styles[i]: int((st == i).sum()) for i in np.unique(st)}},
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(settings).items()},
        "seconds": {},
    }
    ml.model.eval()

    sizes = {"reconstruction": 1, "realism": min(settings.samples - 1, len(tokens) - 1),
             "interpolation": min(settings.pairs, len(tokens) - 1), "style": 1, "samples": settings.style_samples,
             "chords": 1}

    def timed(name, fn):
        if name in settings.sections and sizes[name] > 0:
            log(f"{name} ...")
            t0 = time.time()
            out = fn()
            result["seconds"][name] = round(time.time() - t0, 1)
            return out
        return None

    def recon():
        n = len(tokens) if settings.max_phrases <= 0 else min(settings.max_phrases, len(tokens))
        rows = np.sort(rng.permutation(len(tokens))[:n])
        result["data"]["reconstruction_phrases"] = int(n)
        chords = data.chords[mask][rows] if ml.takes_chords else None
        return reconstruction_section(ml.model, tokens[rows], st[rows], ml.styles, settings.batch_size, chords,
                                      ml.chord_strength, ml.refine)

    result.update(timed("reconstruction", recon) or {})
    result["realism"] = timed("realism", lambda: realism_section(ml, tokens, st, settings, rng))
    result["interpolation"] = timed("interpolation", lambda: interpolation_section(ml, tokens, st, settings, rng))

    def style():
        clf, info = classifier if classifier is not None else obtain_classifier(ml, data, styles)
        if clf is None:
            return {"skipped": info.get("reason", "no classifier"), "classifier": info}
        # a classifier trained now saw the training split: judge it on validation phrases only
        held = mask & (data.split == 1) if info.get("trained_now") else mask
        features, feature_styles = feature_judge(data, styles)
        out = style_section(ml, clf, data.tokens[held].astype(np.int64), styles[held], settings, rng,
                            features, feature_styles)
        return {"classifier": info, **out}

    result["style"] = timed("style", style)
    if ml.steps_per_bar == 16 and (data.chords[mask] > 0).all(1).any():   # held-out phrases with chords
        from musiclatent.evaluation.chords import chord_section

        result["chords"] = timed("chords", lambda: chord_section(
            ml, tokens, data.chords[mask], settings.samples, settings.temperature, settings.seed + 3))
    result["samples"] = timed("samples", lambda: long_form.samples_section(
        ml, tokens, st, settings.style_samples, settings.temperature, settings.seed + 2, settings.batch_size))
    for key in ("realism", "interpolation", "style", "samples", "chords"):
        if result.get(key, 0) is None:
            del result[key]
    return result
