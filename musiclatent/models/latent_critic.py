"""A style critic on latents: the latent constraint that sharpens a style prior.

After Engel, Hoffman & Roberts (2018), "Latent Constraints": a small network
on z (no retraining of the VAE) says which style a latent belongs to, and
prior samples are moved toward the region it accepts. Here the move is
sampling-importance-resampling: draw ``candidates`` latents per wanted sample
from the style's Gaussian, keep n of them with probability proportional to
p(style | z) ** gamma. gamma = 0 is the plain Gaussian; larger gamma leaves
the regions several styles share. The realism side of Engel's pair is the
Gaussian itself: every candidate is a draw from the style's fitted density.

The critic is an MLP (Z -> hidden -> ReLU -> styles) trained on the posterior
means of the training phrases with class-balanced cross-entropy. Inference
is numpy (two matrix products), so sampling needs no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CRITIC_HIDDEN = 256
CRITIC_STEPS = 3000          # at most; about 40 epochs of the training latents, at least 200 steps
CRITIC_BATCH = 512


@dataclass
class LatentCritic:
    """w1 (H, Z), b1 (H,), w2 (C, H), b2 (C,); class c is model style id c + 1 (style "any" has no class)."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def log_probs(self, z: np.ndarray) -> np.ndarray:
        """log p(style | z): (n, Z) -> (n, C) float64; column c is model style id c + 1."""
        h = np.maximum(np.asarray(z, np.float64) @ self.w1.T + self.b1, 0.0)
        logits = h @ self.w2.T + self.b2
        top = logits.max(1, keepdims=True)
        return logits - top - np.log(np.exp(logits - top).sum(1, keepdims=True))

    def grad_log_prob(self, z: np.ndarray, cls: int) -> np.ndarray:
        """Gradient of log p(class cls | z) with respect to z: (n, Z) -> (n, Z) float64."""
        pre = np.asarray(z, np.float64) @ self.w1.T + self.b1
        h = np.maximum(pre, 0.0)
        logits = h @ self.w2.T + self.b2
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        d_logits = -p
        d_logits[:, int(cls)] += 1.0
        return ((d_logits @ self.w2) * (pre > 0)) @ self.w1

    def arrays(self) -> dict[str, np.ndarray]:
        return {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self.b2}


def train_latent_critic(latents: np.ndarray, style_ids: np.ndarray, n_styles: int, hidden: int = CRITIC_HIDDEN,
                        steps: int | None = None, seed: int = 0, stds: np.ndarray | None = None) -> LatentCritic:
    """Fit the critic with Adam on class-balanced cross-entropy.

    Parameters
    ----------
    latents : np.ndarray, shape (n, Z), float
        Posterior means of training phrases (encoded under style "any").
    style_ids : np.ndarray, shape (n,), int
        Model style ids, 1..n_styles (rows of style 0 are left out).
    n_styles : int
        Number of real styles (the model's styles minus "any").
    steps : int, optional
        Adam steps (default: about 40 epochs, between 200 and ``CRITIC_STEPS``).
    stds : np.ndarray, shape (n, Z), optional
        Posterior standard deviations: each batch then sees draws z = mu + std eps from the
        phrases' posteriors, the latents a prior fitted to the aggregate posterior samples.
    """
    import torch
    from torch.nn import functional as F

    keep = np.asarray(style_ids) > 0
    x = torch.as_tensor(np.asarray(latents, np.float32)[keep])
    sd = torch.as_tensor(np.asarray(stds, np.float32)[keep]) if stds is not None else None
    y = torch.as_tensor(np.asarray(style_ids, np.int64)[keep] - 1)
    if len(torch.unique(y)) < 2:
        raise ValueError("a latent critic needs phrases of at least two styles")
    if steps is None:
        steps = int(np.clip(40 * len(y) // CRITIC_BATCH, 200, CRITIC_STEPS))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    counts = torch.bincount(y, minlength=n_styles).float()
    weight = torch.where(counts > 0, len(y) / (n_styles * counts.clamp(min=1)), torch.zeros_like(counts))
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_styles))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in range(int(steps)):
        idx = torch.randint(0, len(y), (min(CRITIC_BATCH, len(y)),), generator=gen)
        xb = x[idx] if sd is None else x[idx] + sd[idx] * torch.randn(len(idx), x.shape[1], generator=gen)
        loss = F.cross_entropy(net(xb), y[idx], weight=weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    first, last = net[0], net[2]
    as_np = lambda t: t.detach().double().numpy().copy()  # noqa: E731
    return LatentCritic(as_np(first.weight), as_np(first.bias), as_np(last.weight), as_np(last.bias))


def resample(candidates: np.ndarray, log_weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n of the candidates (m, Z), drawn without replacement with probability ~ exp(log_weights) (m,)."""
    w = np.exp(log_weights - log_weights.max())
    return candidates[rng.choice(len(candidates), int(n), replace=False, p=w / w.sum())]
