"""A small style classifier on event tokens, used to judge style control.

A dilated 1-D CNN over token embeddings with mean + max pooling. It trains on
the real phrases of a training split (class-balanced batches, the same
transposition augmentation as the VAE, so it judges style rather than key) in
well under a minute on two CPU cores, and travels beside a model as
``classifier.safetensors`` + ``classifier.json`` (never a pickle).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn import functional as F

from musiclatent.training.checkpoint import CheckpointError, load_model_weights, load_tensors
from musiclatent.data.dataset import transpose_tokens
from musiclatent.representations import MELODY

WEIGHTS_FILE, CONFIG_FILE = "classifier.safetensors", "classifier.json"


@dataclass(frozen=True)
class ClassifierConfig:
    """Shape of the classifier; ``styles`` are its class names, in order."""

    styles: tuple[str, ...]
    steps: int
    n_tokens: int = MELODY.n_classes
    embed_dim: int = 32
    channels: tuple[int, ...] = (48, 64, 64)
    kernel: int = 5

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        d["styles"] = tuple(d["styles"])
        if "channels" in d:
            d["channels"] = tuple(d["channels"])
        return cls(**d)


@dataclass(frozen=True)
class ClassifierTraining:
    """Training settings, sized for two CPU cores."""

    steps: int = 500
    batch_size: int = 0            # 0: max(32, 4096 // T) phrases, so a step costs about the same at any length
    lr: float = 3e-3
    augment_semitones: int = 5
    max_phrases: int = 30000
    seed: int = 0


class StyleClassifier(nn.Module):
    """Tokens (B, T) int64 -> style logits (B, C).

    Embedding, then convolutions with max-pooling by 2 between them (T, T/2,
    T/4, ...), then mean + max pooling over time and a linear head.
    """

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.n_tokens, cfg.embed_dim)
        widths = (cfg.embed_dim,) + cfg.channels
        self.convs = nn.ModuleList(nn.Conv1d(a, b, cfg.kernel, padding=cfg.kernel // 2)
                                   for a, b in zip(widths[:-1], widths[1:]))
        self.head = nn.Linear(2 * widths[-1], len(cfg.styles))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens).transpose(1, 2)           # (B, E, T)
        for i, conv in enumerate(self.convs):
            if i:
                x = F.max_pool1d(x, 2, ceil_mode=True)
            x = F.relu(conv(x))
        pooled = torch.cat([x.mean(-1), x.amax(-1)], dim=-1)
        return self.head(pooled)


def balanced_batch(by_class: list[np.ndarray], batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a batch whose classes are drawn uniformly.

    by_class : one (n_c,) array of row indices per class -> (batch_size,) int64.
    """
    picks = rng.integers(0, len(by_class), batch_size)
    out = np.empty(batch_size, np.int64)
    for c, rows in enumerate(by_class):
        m = picks == c
        out[m] = rows[rng.integers(0, len(rows), int(m.sum()))]
    return out


def train_classifier(tokens: np.ndarray, labels: np.ndarray, styles: tuple[str, ...],
                     settings: ClassifierTraining = ClassifierTraining()) -> tuple[StyleClassifier, dict]:
    """Train a style classifier.

    Parameters
    ----------
    tokens : np.ndarray, shape (n, T), int
        Real phrases (a training split).
    labels : np.ndarray, shape (n,), int
        Class index into ``styles`` of each phrase.
    styles : tuple of str
        Class names.
    settings : ClassifierTraining

    Returns
    -------
    (StyleClassifier in eval mode, info dict: phrases, steps, seconds, final loss)
    """
    labels = np.asarray(labels, np.int64)
    if len(tokens) == 0 or len(np.unique(labels)) < 2:
        raise ValueError("a style classifier needs training phrases of at least two styles")
    rng = np.random.default_rng(settings.seed)
    if len(tokens) > settings.max_phrases:
        keep = np.sort(rng.permutation(len(tokens))[:settings.max_phrases])
        tokens, labels = tokens[keep], labels[keep]
    torch.manual_seed(settings.seed)
    gen = torch.Generator().manual_seed(settings.seed)
    clf = StyleClassifier(ClassifierConfig(styles=tuple(styles), steps=int(tokens.shape[1])))
    opt = torch.optim.Adam(clf.parameters(), lr=settings.lr)
    batch_size = settings.batch_size or max(32, 4096 // int(tokens.shape[1]))
    data = torch.from_numpy(np.asarray(tokens, np.int64))
    target = torch.from_numpy(labels)
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    clf.train()
    t0, loss = time.time(), torch.tensor(float("nan"))
    for step in range(settings.steps):
        for group in opt.param_groups:  # cosine decay to 10 %
            group["lr"] = settings.lr * (0.1 + 0.45 * (1 + np.cos(np.pi * step / settings.steps)))
        idx = torch.from_numpy(balanced_batch(by_class, batch_size, rng))
        x = transpose_tokens(data[idx], settings.augment_semitones, gen)
        loss = F.cross_entropy(clf(x), target[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    clf.eval()
    info = {"phrases": int(len(tokens)), "steps": settings.steps, "batch_size": batch_size,
            "seconds": round(time.time() - t0, 1), "final_loss": round(float(loss.detach()), 4)}
    return clf, info


@torch.no_grad()
def predict(clf: StyleClassifier, tokens: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Predicted class index of each phrase; (n, T) int -> (n,) int64."""
    tokens = np.asarray(tokens, np.int64)
    if tokens.ndim != 2 or tokens.shape[1] != clf.cfg.steps:
        raise ValueError(f"tokens must have shape (n, {clf.cfg.steps}); got {tokens.shape}")
    out = [clf(torch.from_numpy(tokens[i:i + batch_size])).argmax(-1).numpy()
           for i in range(0, len(tokens), batch_size)]
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def save_classifier(clf: StyleClassifier, folder: str | Path, info: dict | None = None) -> Path:
    """Write ``classifier.safetensors`` + ``classifier.json`` into folder; returns the JSON path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in clf.state_dict().items()}, str(folder / WEIGHTS_FILE))
    path = folder / CONFIG_FILE
    path.write_text(json.dumps({"config": clf.cfg.to_dict(), "info": info or {}}, indent=2, sort_keys=True))
    return path


def classifier_path(path: str | Path) -> Path | None:
    """The folder holding a classifier (given the folder or either file), or None."""
    path = Path(path)
    folder = path.parent if path.name in (WEIGHTS_FILE, CONFIG_FILE) else path
    return folder if (folder / CONFIG_FILE).exists() and (folder / WEIGHTS_FILE).exists() else None


def load_classifier(path: str | Path) -> tuple[StyleClassifier, dict]:
    """Load a saved classifier (folder or file path) -> (classifier in eval mode, info)."""
    folder = classifier_path(path)
    if folder is None:
        raise FileNotFoundError(f"no style classifier at {path} (expected {CONFIG_FILE} + {WEIGHTS_FILE})")
    try:
        meta = json.loads((folder / CONFIG_FILE).read_text())
        cfg = ClassifierConfig.from_dict(meta["config"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(f"bad classifier config in {folder}: {err}") from None
    clf = StyleClassifier(cfg)
    load_model_weights(clf, load_tensors(folder / WEIGHTS_FILE))
    return clf.eval(), meta.get("info", {})


def hear_styles(ml, melodies: list[np.ndarray]) -> list[tuple[str, float]] | None:
    """The style the classifier beside a model hears in each melody, and how surely.

    Parameters
    ----------
    ml : MusicLatent
        Its folder's ``classifier.safetensors`` + ``classifier.json`` judge (loaded once, cached on ``ml``).
    melodies : list of np.ndarray, each (k, T) or (k * T,) tokens
        A melody of several phrases is judged by the mean of its phrases' probabilities.

    Returns
    -------
    One (style name, probability) per melody, or None when the model ships no classifier.
    """
    if "_style_classifier" not in ml.__dict__:
        folder = classifier_path(ml.folder) if ml.folder is not None else None
        ml.__dict__["_style_classifier"] = load_classifier(folder)[0] if folder is not None else None
    clf = ml.__dict__["_style_classifier"]
    if clf is None:
        return None
    out = []
    steps = clf.cfg.steps
    for mel in melodies:
        flat = np.asarray(mel, np.int64).reshape(-1)
        flat = np.concatenate([flat, np.zeros((-len(flat)) % steps, np.int64)])   # pad the last phrase with holds
        with torch.no_grad():
            probs = torch.softmax(clf(torch.from_numpy(flat.reshape(-1, steps))), -1).mean(0).numpy()
        out.append((clf.cfg.styles[int(probs.argmax())], float(probs.max())))
    return out

