"""Inference beyond the encoder's guess: a phrase's negative ELBO, and semi-amortized encoding.

:func:`elbo_per_step` is what typicality scores. :func:`refine_latents` moves the encoder's latent
by a few gradient steps on the decoder.

The encoder's mean is an amortized guess: one network answers for every phrase, and on music it
never trained on it misses latents the decoder could read back exactly. A few Adam steps on
``log p(x | z)`` from that guess find them (Kim et al. 2018, "Semi-Amortized Variational
Autoencoders"; Marino et al. 2018, "Iterative Amortized Inference"). A small pull towards the
prior's centre keeps the latent where the decoder was trained.

Each phrase refines alone: the loss is a sum over rows, Adam scales each coordinate by its own
history and a phrase stops when it comes back exactly, so a phrase reaches the same latent in
any batch. Only the latent moves; the model's weights get no gradient.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch
from torch.nn import functional as F

MAX_REFINE_STEPS = 500


@dataclass(frozen=True)
class RefineSettings:
    """How an encoding is refined: ``steps`` Adam steps (0 = the encoder's mean as it is) of
    learning rate ``lr`` on the phrase's negative log-likelihood plus ``prior_weight`` * |z|^2 / 2."""

    steps: int = 0
    lr: float = 0.1
    prior_weight: float = 1e-3

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, numbers.Integral) \
                or not 0 <= self.steps <= MAX_REFINE_STEPS:
            raise ValueError(f"refine steps must be a whole number in [0, {MAX_REFINE_STEPS}], not {self.steps!r}")
        for name in ("lr", "prior_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 10:
                raise ValueError(f"refine {name} must be a number in [0, 10], not {value!r}")

    @classmethod
    def from_dict(cls, d: dict | None) -> "RefineSettings":
        """``config.json``'s ``encoding`` section ({"refine_steps", "refine_lr", "refine_prior_weight"})."""
        d = d or {}
        return cls(steps=d.get("refine_steps", 0), lr=d.get("refine_lr", 0.1),
                   prior_weight=d.get("refine_prior_weight", 1e-3))

    def to_dict(self) -> dict:
        return {"refine_steps": self.steps, "refine_lr": self.lr, "refine_prior_weight": self.prior_weight}


def refine_latents(model, tokens: torch.Tensor, style: torch.Tensor, z: torch.Tensor, settings: RefineSettings,
                   chords: torch.Tensor | None = None, chord_strength: float = 1.0) -> torch.Tensor:
    """Latents (B, Z) moved by up to ``settings.steps`` Adam steps towards ones the decoder reads back
    as ``tokens`` (B, T) under ``style`` (B,) -> (B, Z) float32. A chord model reads them over
    ``chords`` (B, K) with its chord-tone head at ``chord_strength``, as it will decode them.

    A phrase stops as soon as the decoder's teacher-forced argmax gives it back exactly (phrases
    the encoder already gets right are not moved at all), and only the phrases still moving are
    decoded. ``model`` is anything with ``logits(z, style, inputs[, chords])``, in eval mode."""
    if settings.steps == 0 or len(z) == 0:
        return z
    z = z.detach().float().clone()
    m, v = torch.zeros_like(z), torch.zeros_like(z)       # Adam's moments, one row per phrase
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    active = torch.arange(len(z))
    with torch.enable_grad():
        for step in range(1, settings.steps + 1):   # after the last step no decode is needed
            zi = z[active].requires_grad_(True)
            kw = {} if chords is None else {"chords": chords[active], "chord_strength": chord_strength}
            logits = model.logits(zi, style[active], tokens[active], **kw).float()
            moving = (logits.argmax(-1) != tokens[active]).any(1)
            if not moving.any():
                break
            nll = F.cross_entropy(logits.transpose(1, 2), tokens[active], reduction="sum")
            (grad,) = torch.autograd.grad(nll + settings.prior_weight * 0.5 * zi.pow(2).sum(), [zi])
            active, grad = active[moving], grad[moving]
            m[active] = beta1 * m[active] + (1 - beta1) * grad
            v[active] = beta2 * v[active] + (1 - beta2) * grad.pow(2)
            m_hat, v_hat = m[active] / (1 - beta1 ** step), v[active] / (1 - beta2 ** step)
            z[active] = z[active] - settings.lr * m_hat / (v_hat.sqrt() + eps)
    return z


def elbo_per_step(model, tokens: torch.Tensor, style: torch.Tensor, chords: torch.Tensor | None = None,
                  samples: int = 1) -> torch.Tensor:
    """Negative ELBO per step (nats) of phrases (B, T) under ``style`` (B,), over ``chords`` (B, K)
    for a chord model: -> (B,). The reconstruction term is read at the posterior mean, or averaged
    over ``samples`` > 1 posterior draws (from torch's global generator)."""
    mu, logvar = model.encode(tokens, style)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
    kw = {} if chords is None else {"chords": chords}
    total = torch.zeros(len(tokens))
    for _ in range(max(1, samples)):
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if samples > 1 else mu
        logits = model.logits(z, style, tokens, **kw).float()
        total += F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none").sum(1)
    return (total / max(1, samples) + kl) / tokens.shape[1]
