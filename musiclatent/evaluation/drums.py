"""``musiclatent evaluate`` for drum models: the issue-22 targets.

* reconstruction of 2-bar windows (teacher-forced and sampled with argmax, all 512 classes per
  step; also on hit steps alone), NLL, KL, active dimensions;
* ``realism``: MGEval-style overlap areas of drum features (:func:`drum_features`) between
  prior samples and real grooves, as :func:`musiclatent.evaluation.metrics.realism_metrics` does
  for melodies (the real set's intra-set distances against the real-to-generated ones);
* ``interpolation``: monotonicity and smoothness of latent slerp paths (the melody section);
* ``style``: a drum-style classifier (:class:`DrumStyleClassifier`, trained on the training
  split) judges real held-out grooves and style-conditioned prior samples; the target is the
  ratio of the two accuracies.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from musiclatent.data.dataset import PhraseSet, load_dataset
from musiclatent.evaluation import metrics
from musiclatent.evaluation.evaluate import (EvalSettings, _overall_and_per_style, decode_batched, interpolation_section,
                                             is_prepared_dataset, model_style_ids, reconstruction_outputs, split_mask)
from musiclatent.evaluation.reconstruction import encoder_only
from musiclatent.representations.drums import DRUM_CLASS_NAMES, N_DRUM_CLASSES, tokens_to_hits

DRUM_FEATURES = tuple(f"hits_per_bar.{n.replace(' ', '_')}" for n in DRUM_CLASS_NAMES) + (
    "hit_steps_per_bar", "syncopation", "step_histogram")
MIN_STYLE_PHRASES = 20   # a style is judged when it has this many held-out phrases


def load_drum_eval_data(path: str | Path, bars: int) -> PhraseSet:
    """A prepared drum dataset, or a folder/file of MIDI whose drum parts are prepared on the fly."""
    from musiclatent.data.drums import prepare_drums

    if is_prepared_dataset(path):
        return load_dataset(path)
    if not Path(path).exists():
        raise FileNotFoundError(f"no such dataset or MIDI folder: {path}")
    with tempfile.TemporaryDirectory(prefix="musiclatent-eval-") as tmp:
        manifest = prepare_drums([str(path)], tmp, bars=bars, command=f"(evaluate) prepare {path} --drums")
        if manifest["phrases"] == 0:
            raise ValueError(f"no {bars}-bar groove could be cut from {path}")
        return load_dataset(tmp)


# --------------------------------------------------------------------------- features

def drum_features(tokens: np.ndarray) -> dict[str, np.ndarray]:
    """Per-groove drum features: tokens (n, T) -> name -> (n,) or (n, 16) float64.

    ``hits_per_bar.<class>`` hits of each kit class per bar; ``hit_steps_per_bar``; ``syncopation``
    (share of hit steps off the quarter-note beat); ``step_histogram`` (share of hit steps on each
    16th position of the bar).
    """
    tokens = np.atleast_2d(np.asarray(tokens))
    n, t = tokens.shape
    bars = t / 16
    hits = tokens_to_hits(tokens)                          # (n, T, 9)
    on = hits.any(-1)
    out = {f: hits[:, :, k].sum(1) / bars for k, f in enumerate(DRUM_FEATURES[:N_DRUM_CLASSES])}
    count = on.sum(1)
    out["hit_steps_per_bar"] = count / bars
    out["syncopation"] = np.where(count > 0, (on & (np.arange(t) % 4 != 0)).sum(1) / np.maximum(count, 1), 0.0)
    pos = on.reshape(n, -1, 16).sum(1)
    out["step_histogram"] = pos / np.maximum(pos.sum(1, keepdims=True), 1)
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def drum_realism(real: np.ndarray, generated: np.ndarray, max_pairs: int = 200_000, seed: int = 0) -> dict:
    """MGEval-style overlap areas per drum feature (and their mean) of generated vs real grooves."""
    rng = np.random.default_rng(seed)
    fr, fg = drum_features(real), drum_features(generated)
    feats = {}
    for name in DRUM_FEATURES:
        inter = metrics.inter_set_distances(fr[name], fg[name], max_pairs, rng)
        ref = metrics.compare_distributions(metrics.intra_set_distances(fr[name], max_pairs, rng), inter)
        gen = metrics.compare_distributions(metrics.intra_set_distances(fg[name], max_pairs, rng), inter)
        feats[name] = {"overlap_area": ref["overlap_area"], "kl": ref["kl"],
                       "overlap_area_generated": gen["overlap_area"], "kl_generated": gen["kl"]}
    mean = lambda key: float(np.nanmean([f[key] for f in feats.values()]))  # noqa: E731
    return {"overlap_area": mean("overlap_area"), "kl": mean("kl"),
            "overlap_area_generated": mean("overlap_area_generated"), "features": feats}


def prior_latents(ml, styles: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Latents (n, Z) for model style ids (n,), each from its style's prior (N(0, I) without one)."""
    z = np.zeros((len(styles), ml.z_dim), np.float32)
    for sid in np.unique(styles):
        z[styles == sid] = ml.prior_latents(int((styles == sid).sum()), int(sid), temperature, rng)
    return z


# --------------------------------------------------------------------------- style classifier

class DrumStyleClassifier(nn.Module):
    """Hits (B, T, 9) of grooves -> style logits (B, C): two convolutions over time, mean + max pooling."""

    def __init__(self, n_styles: int, channels: int = 64, kernel: int = 5):
        super().__init__()
        self.conv1 = nn.Conv1d(N_DRUM_CLASSES + 16, channels, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2, dilation=1)
        self.head = nn.Linear(2 * channels, n_styles)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        hits = ((tokens[..., None] >> torch.arange(N_DRUM_CLASSES)) & 1).float()          # (B, T, 9)
        pos = F.one_hot(torch.arange(tokens.shape[1]) % 16, 16).float().expand(len(tokens), -1, -1)
        x = torch.cat([hits, pos], -1).transpose(1, 2)
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.head(torch.cat([x.mean(-1), x.amax(-1)], -1))


def train_drum_classifier(tokens: np.ndarray, labels: np.ndarray, n_styles: int, steps: int = 600,
                          batch_size: int = 128, lr: float = 3e-3, seed: int = 0) -> DrumStyleClassifier:
    """Train on class-balanced batches of real grooves: tokens (n, T), labels (n,) in [0, n_styles)."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    clf = DrumStyleClassifier(n_styles)
    opt = torch.optim.Adam(clf.parameters(), lr=lr, weight_decay=1e-4)
    data, target = torch.from_numpy(np.asarray(tokens, np.int64)), torch.from_numpy(np.asarray(labels, np.int64))
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    for _ in range(steps):
        pick = rng.integers(0, len(by_class), batch_size)
        idx = torch.from_numpy(np.asarray([by_class[c][rng.integers(len(by_class[c]))] for c in pick]))
        loss = F.cross_entropy(clf(data[idx]), target[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return clf.eval()


@torch.no_grad()
def classify(clf: DrumStyleClassifier, tokens: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Predicted class of each groove; (n, T) -> (n,) int64."""
    t = torch.from_numpy(np.asarray(tokens, np.int64))
    return torch.cat([clf(t[i:i + batch]).argmax(-1) for i in range(0, len(t), batch)]).numpy()


def style_section(ml, data: PhraseSet, styles: np.ndarray, rows: np.ndarray, settings: EvalSettings,
                  rng: np.random.Generator) -> dict:
    """Classifier accuracy on held-out real grooves and on style-conditioned prior samples."""
    train = (data.split == 0) & (styles > 0)
    known = sorted(set(styles[train].tolist()))
    held = rows & (data.split != 0) & np.isin(styles, known)
    judged = [s for s in known if (styles[held] == s).sum() >= MIN_STYLE_PHRASES]
    if len(judged) < 2:
        return {"skipped": f"fewer than two styles with {MIN_STYLE_PHRASES} held-out phrases"}
    to_class = {s: c for c, s in enumerate(known)}
    t0 = time.time()
    clf = train_drum_classifier(data.tokens[train], np.asarray([to_class[s] for s in styles[train]]), len(known),
                                seed=settings.seed)
    held &= np.isin(styles, judged)
    truth = np.asarray([to_class[s] for s in styles[held]])
    pred = classify(clf, data.tokens[held])
    real = {"accuracy": float((pred == truth).mean()), "balanced_accuracy": metrics.balanced_accuracy(pred, truth),
            "phrases": int(held.sum()),
            "per_style": {ml.styles[s]: float((pred[truth == to_class[s]] == to_class[s]).mean()) for s in judged}}
    sids = np.repeat(np.asarray(judged), settings.style_samples)
    z = prior_latents(ml, sids, settings.temperature, rng)
    gen = decode_batched(ml, z, sids, settings.temperature, settings.seed + 1, settings.batch_size)
    want = np.asarray([to_class[s] for s in sids])
    got = classify(clf, gen)
    cond = {"accuracy": float((got == want).mean()), "samples": int(len(sids)), "temperature": settings.temperature,
            "per_style": {ml.styles[s]: float((got[want == to_class[s]] == to_class[s]).mean()) for s in judged}}
    ratio = cond["accuracy"] / real["balanced_accuracy"] if real["balanced_accuracy"] > 0 else float("nan")
    return {"classifier": {"styles": [ml.styles[s] for s in known], "judged": [ml.styles[s] for s in judged],
                           "trained_on": int(train.sum()), "seconds": round(time.time() - t0, 1)},
            "real": real, "conditioned": cond, "conditioned_to_real": ratio}


# --------------------------------------------------------------------------- all of it

def evaluate_drums(ml, data: PhraseSet, settings: EvalSettings = EvalSettings(), log=None) -> dict:
    """Run the drum sections on ``settings.split`` of ``data`` (auto: the test split); JSON-ready dict."""
    if data.steps != ml.steps:
        raise ValueError(f"the data has {data.steps}-step grooves but the model makes {ml.steps}")
    log = log or (lambda msg: None)
    rng = np.random.default_rng(settings.seed)
    styles = model_style_ids(ml, data)
    rows, split = split_mask(data, settings.split, prefer=("test", "validation"))
    tokens, st = data.tokens[rows].astype(np.int64), styles[rows]
    if not len(tokens):
        raise ValueError(f"the {split} split of the data is empty")
    result = {"model": {**ml.describe(), "folder": str(ml.folder) if ml.folder else None},
              "data": {"split": split, "phrases": int(len(tokens)),
                       "styles": {ml.styles[i]: int((st == i).sum()) for i in np.unique(st)}},
              "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(settings).items()},
              "seconds": {}}
    ml.model.eval()

    def timed(name, fn):
        if name not in settings.sections:
            return None
        log(f"{name} ...")
        t0 = time.time()
        out = fn()
        result["seconds"][name] = round(time.time() - t0, 1)
        return out

    def recon():
        n = len(tokens) if settings.max_phrases <= 0 else min(settings.max_phrases, len(tokens))
        pick = np.sort(rng.permutation(len(tokens))[:n])
        x, s = tokens[pick], st[pick]
        out = reconstruction_outputs(ml.model, x, s, settings.batch_size, refine=ml.refine)
        names = {i: nm for i, nm in enumerate(ml.styles) if (s == i).any()}
        hit = x > 0
        return {**encoder_only(out, x, s, names, ml.refine),"recon_accuracy_teacher_forced": _overall_and_per_style(out["teacher_forced"], x, s, names),
                "recon_accuracy_sampled": _overall_and_per_style(out["sampled"], x, s, names),
                "recon_accuracy_sampled_hit_steps": float((out["sampled"] == x)[hit].mean()) if hit.any() else None,
                "recon_phrase_exact_sampled": float((out["sampled"] == x).all(1).mean()),
                "nll_per_step": float(out["nll"].mean()), "kl_bits": float(out["kl"].mean() / np.log(2.0)),
                "active_dims": metrics.active_dims(out["mu"]), "phrases": int(n)}

    def realism():
        n = min(settings.samples, len(tokens))
        idx = rng.choice(len(tokens), n, replace=False)
        z = prior_latents(ml, st[idx], settings.temperature, rng)
        gen = decode_batched(ml, z, st[idx], settings.temperature, settings.seed, settings.batch_size)
        return {"temperature": settings.temperature, "samples": int(n),
                **drum_realism(tokens[idx], gen, seed=settings.seed)}

    result.update(timed("reconstruction", recon) or {})
    result["realism"] = timed("realism", realism)
    result["interpolation"] = timed("interpolation", lambda: interpolation_section(ml, tokens, st, settings, rng))
    result["style"] = timed("style", lambda: style_section(ml, data, styles, rows, settings, rng))
    return result


def format_drum_table(result: dict) -> str:
    """The headline numbers of :func:`evaluate_drums` as aligned text."""
    lines = [f"{result['model'].get('name')}: {result['data']['phrases']} grooves of the {result['data']['split']} split"]

    def row(label, value):
        lines.append(f"  {label:48s} {value:.3f}" if isinstance(value, float) else f"  {label:48s} {value}")

    if "recon_accuracy_sampled" in result:
        row("reconstruction, sampled (argmax)", result["recon_accuracy_sampled"]["overall"])
        row("reconstruction, teacher-forced", result["recon_accuracy_teacher_forced"]["overall"])
        if "recon_accuracy_sampled_encoder_only" in result:
            row("  (both: latents refined on the decoder, steps)", result["refine"]["refine_steps"])
            row("  the encoder's mean alone, sampled", result["recon_accuracy_sampled_encoder_only"]["overall"])
            row("  the encoder's mean alone, teacher-forced",
                result["recon_accuracy_teacher_forced_encoder_only"]["overall"])
        row("reconstruction, sampled, hit steps only", result["recon_accuracy_sampled_hit_steps"])
        row("whole groove exact, sampled", result["recon_phrase_exact_sampled"])
        row("NLL per step (nats)", result["nll_per_step"])
        row("KL (bits)", result["kl_bits"])
    if result.get("realism"):
        row("realism: mean overlap area (drum features)", result["realism"]["overlap_area"])
    if result.get("interpolation"):
        row("interpolation monotonicity", result["interpolation"]["monotonicity"])
        row("interpolation monotonicity, data-space baseline", result["interpolation"]["data_space"]["monotonicity"])
    sty = result.get("style") or {}
    if "real" in sty:
        row("style classifier, real held-out (balanced)", sty["real"]["balanced_accuracy"])
        row("style classifier, conditioned samples", sty["conditioned"]["accuracy"])
        row("conditioned / real", sty["conditioned_to_real"])
    elif sty:
        row("style", sty.get("skipped"))
    return "\n".join(lines)
