"""Fit a model's style prior from its training data (``musiclatent fit-prior``, and ``export-model``).

The training split is encoded under style "any" (so each latent keeps the
phrase's style, as attribute vectors and the index do); each style's
aggregate posterior (the mixture of its phrases' posteriors) gets a Gaussian
(or a small mixture) with the same mean and covariance, and a latent critic
is trained on draws from those posteriors
(:mod:`musiclatent.models.prior`, :mod:`musiclatent.models.latent_critic`).
The result is written beside the model as ``prior.safetensors`` +
``prior.json``; a model without them samples from N(0, I).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from musiclatent.data.dataset import load_dataset
from musiclatent.models.latent_critic import train_latent_critic
from musiclatent.models.prior import StylePrior, fit_style_prior, write_prior

DEFAULT_GAMMA = 3.0          # critic sharpness: p(style | z) ** gamma (0: plain Gaussian draws)
MAX_PER_STYLE = 20_000       # training phrases encoded per style, at most


def encode_training_split(ml, data_dir: str | Path, max_per_style: int = MAX_PER_STYLE,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior means and variances of training phrases under style "any", and their model style
    ids: (n, Z), (n, Z), (n,).

    Styles are matched to the model's by name; phrases of styles the model does not know are left out.
    """
    import torch

    from musiclatent.evaluation.evaluate import model_style_ids

    train = load_dataset(data_dir).train()
    styles = model_style_ids(ml, train)
    rng = np.random.default_rng(seed)
    rows = []
    for sid in np.unique(styles[styles > 0]):
        idx = np.flatnonzero(styles == sid)
        rows.append(np.sort(rng.permutation(idx)[:max_per_style]))
    if not rows:   # a model without styles: every phrase as "any"
        rows = [np.sort(rng.permutation(len(train))[:max_per_style])]
    pick = np.concatenate(rows)
    mus, variances = [], []
    with torch.no_grad():
        for i in range(0, len(pick), 512):
            tokens = torch.as_tensor(train.tokens[pick[i:i + 512]].astype(np.int64))
            mu, logvar = ml.model.encode(tokens, torch.zeros(len(tokens), dtype=torch.long))
            mus.append(mu.numpy())
            variances.append(logvar.exp().numpy())
    return np.concatenate(mus).astype(np.float64), np.concatenate(variances).astype(np.float64), styles[pick]


def fit_model_prior(ml, data_dir: str | Path, components: int = 1, gamma: float = DEFAULT_GAMMA,
                    seed: int = 0, log=None) -> StylePrior:
    """Encode the training split of ``data_dir`` and fit the model's :class:`StylePrior` with its critic.

    Raises ValueError for a model whose latent is already whitened per style (a latent-sequence
    model: N(0, I) decoded under a style is that style's Gaussian, and encoding under "any" and
    decoding under a style use different frames, so a prior over "any" latents would not fit).
    """
    if not has_shared_frame(ml):
        raise ValueError(f"{ml.name}: its latent is whitened per style by the model itself (decoder "
                         f"{ml.cfg.decoder!r}), so N(0, I) already samples each style's Gaussian; no style prior fitted")
    log = log or (lambda msg: None)
    t0 = time.time()
    z, variances, styles = encode_training_split(ml, data_dir, seed=seed)
    log(f"encoded {len(z)} training phrases in {time.time() - t0:.0f} s")
    info = {"fitted_to": "each style's aggregate posterior (mean and covariance of its training phrases' "
                         "posteriors, encoded under style 'any')", "data": str(data_dir),
            "model": ml.name, "z_dim": int(ml.z_dim), "seed": int(seed)}
    prior = fit_style_prior(z, styles, tuple(ml.styles), components=components, seed=seed, info=info,
                            variances=variances)
    n_styles = len(ml.styles) - 1
    if gamma > 0 and len(np.unique(styles[styles > 0])) >= 2:
        prior.critic = train_latent_critic(z, styles, n_styles, seed=seed, stds=np.sqrt(variances))
        prior.gamma = float(gamma)
    prior.info["seconds"] = round(time.time() - t0, 1)
    log(f"fitted the prior in {time.time() - t0:.0f} s")
    return prior


def has_shared_frame(ml) -> bool:
    """Whether latents encoded under "any" live in the frame a style's decoder reads (every model
    but one that whitens its latent per style, such as a latent-sequence model)."""
    return ml.cfg.decoder != "latent-seq"


def write_model_prior(ml, data_dir: str | Path, out_dir: str | Path, components: int = 1,
                      gamma: float = DEFAULT_GAMMA, seed: int = 0, log=None, strict: bool = True) -> Path | None:
    """Fit and write ``prior.safetensors`` + ``prior.json`` into ``out_dir``; returns the JSON path.

    A model that whitens its latent per style gets none: ValueError, or None when not ``strict``.
    """
    if not strict and not has_shared_frame(ml):
        return None
    return write_prior(fit_model_prior(ml, data_dir, components, gamma, seed, log), out_dir)
