"""A VAE over the sequence of 2-bar latents of a long phrase (``ModelConfig.decoder = "latent-seq"``).

A 16-bar phrase is cut into eight 2-bar chunks; a frozen 2-bar VAE (``cfg.base_model``,
``melody-2bar``) encodes each to its posterior mean. This model learns one z over those
eight vectors: a BiLSTM reads them (with the style) to ``(mu, logvar)``, and a
non-autoregressive LSTM reads z, the style and the chunk position back out to eight
latents, which the frozen 2-bar decoder turns into notes. The route of Mittal et al.
(2021), who model sequences of MusicVAE 2-bar latents; here with a VAE over them.

The objective is the Gaussian negative log-likelihood of each base posterior mean
under the base encoder's own posterior width: a predicted latent must land where
the 2-bar encoder itself is sure, tightly on the dimensions that carry notes and
loosely on those that carry nothing. Plus beta times the KL with free bits, as the
token VAE.

It keeps :class:`~musiclatent.models.vae.MusicVAE`'s interface (``encode`` and
``logits`` and ``sample`` on (B, T) tokens), so the facade, ``evaluate`` and every
tool work unchanged. Its public latent is **whitened**: after training,
:meth:`LatentSeqVAE.fit_prior` fits a Gaussian (mean and Cholesky factor, per
style, shrunk towards the pooled one) to the posterior means of the training
phrases, and ``encode`` returns ``L_s^-1 (mu - m_s)``, ``sample`` maps back. So a
draw from N(0, I) in the public space is a draw from the aggregate posterior,
where the training phrases live, and latent walks that keep N(0, I) keep to it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

from musiclatent.config import ModelConfig
from musiclatent.constants import PRETRAINED_DIR


def base_folder(name: str) -> Path:
    """A pretrained name or a model folder -> the folder holding its config.json and weights."""
    path = Path(name)
    if (path / "config.json").is_file():
        return path
    if (PRETRAINED_DIR / name / "config.json").is_file():
        return PRETRAINED_DIR / name
    raise ValueError(f"base model {name!r}: no config.json there (give a pretrained name or a model folder)")


def repeat_sources(lat: torch.Tensor, radius: float) -> torch.Tensor:
    """Which earlier chunk each chunk repeats: chunk latents (B, K, Zb) -> (B, K) int64 indices.

    In order, a chunk whose latent lies within ``radius`` times the median distance between its
    phrase's chunk latents of an earlier chunk's repeats that chunk (the nearest; what that one
    repeats, if it repeats one), else itself. Real tunes repeat their 2-bar motifs exactly; a phrase
    drawn from the prior proposes motifs that come back only roughly. ``radius`` 0: each itself.
    """
    b, k = lat.shape[:2]
    src = torch.arange(k).repeat(b, 1)
    if radius <= 0 or k < 2:
        return src
    upper = torch.triu(torch.ones(k, k, dtype=torch.bool), diagonal=1)
    for i in range(b):
        limit = float(radius) * torch.cdist(lat[i], lat[i])[upper].median()
        for j in range(1, k):
            d = (lat[i, :j] - lat[i, j]).norm(dim=-1)
            if d.min() < limit:
                src[i, j] = src[i, int(d.argmin())]
    return src


def base_config(name: str) -> ModelConfig:
    from musiclatent.training.checkpoint import model_config_from

    cfg = model_config_from(json.loads((base_folder(name) / "config.json").read_text()))
    if cfg.decoder == "latent-seq":
        raise ValueError(f"base model {name!r} is itself a latent-sequence model")
    return cfg


class LatentSeqVAE(nn.Module):
    """VAE over K chunk latents of a frozen base VAE; a drop-in for :class:`MusicVAE`.

    Parameters
    ----------
    cfg : ModelConfig
        ``decoder="latent-seq"``, ``base_model`` names the frozen chunk model; ``enc_hidden``,
        ``enc_layers``, ``dec_hidden``, ``dec_layers``, ``z_dim``, ``style_dim``, ``pos_dim``
        and ``dropout`` shape this model.
    """

    TRIANGULAR = ("prior_chol",)      # lower-triangular buffers, stored packed

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        from musiclatent.models.vae import MusicVAE

        self.cfg = cfg
        bcfg = base_config(cfg.base_model)
        if tuple(bcfg.meter) != tuple(cfg.meter):
            raise ValueError(f"base model {cfg.base_model!r} is measured in {bcfg.meter[0]}/{bcfg.meter[1]} bars, "
                             f"the phrases in {cfg.meter[0]}/{cfg.meter[1]}: give a base model of that meter")
        if cfg.steps % bcfg.steps:
            raise ValueError(f"{cfg.steps}-step phrases do not split into the base model's {bcfg.steps}-step chunks")
        self.base = MusicVAE(bcfg)
        self.base.requires_grad_(False)
        self.chunks, self.chunk_steps, zb = cfg.steps // bcfg.steps, bcfg.steps, bcfg.z_dim
        self.base_z = zb
        pos = max(cfg.pos_dim, 1)
        self.style_embed = nn.Embedding(cfg.n_styles, cfg.style_dim)
        self.pos = nn.Embedding(self.chunks, pos)
        self.enc = nn.LSTM(zb + cfg.style_dim + pos, cfg.enc_hidden, num_layers=cfg.enc_layers, batch_first=True,
                           bidirectional=True)
        self.to_stats = nn.Linear(2 * cfg.enc_hidden, 2 * cfg.z_dim)
        self.dec_init = nn.Linear(cfg.z_dim + cfg.style_dim, 2 * cfg.dec_layers * cfg.dec_hidden)
        self.dec = nn.LSTM(cfg.z_dim + cfg.style_dim + pos, cfg.dec_hidden, num_layers=cfg.dec_layers,
                           batch_first=True, dropout=cfg.dropout if cfg.dec_layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.dec_hidden, zb)
        # the public latent's whitening, per style (identity until fit_prior)
        self.register_buffer("prior_mean", torch.zeros(cfg.n_styles, cfg.z_dim))
        self.register_buffer("prior_chol", torch.eye(cfg.z_dim).repeat(cfg.n_styles, 1, 1))

    def init_fresh(self) -> None:
        """Load the frozen base weights (a model built for training from scratch)."""
        from musiclatent.training.checkpoint import load_model_weights, load_tensors

        load_model_weights(self.base, load_tensors(base_folder(self.cfg.base_model) / "model.safetensors"))

    def base_weights_file(self) -> Path:
        return base_folder(self.cfg.base_model) / "model.safetensors"

    def lent_weights(self) -> dict[str, Path]:
        """Weights a model folder may leave out, by prefix: the frozen base, read from its own folder."""
        return {"base.": self.base_weights_file()}

    def batch_source(self, data_dir, train_set, tc, log=None) -> "LatentBatches":
        """What the training loop draws batches from: cached chunk posteriors of ``train_set``."""
        return LatentBatches(self, data_dir, train_set, tc, log)

    def train(self, mode: bool = True):
        super().train(mode)
        self.base.eval()            # frozen, always in inference mode
        return self

    # ------------------------------------------------------------------ chunks
    @torch.no_grad()
    def chunk_posteriors(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) -> packed base posteriors (B, K, 2 Zb): means, then log-variances (style "any")."""
        b = tokens.shape[0]
        x = tokens.reshape(b * self.chunks, self.chunk_steps)
        with torch.autocast("cpu", enabled=False):
            mu, lv = self.base.encode(x, torch.zeros(len(x), dtype=torch.long, device=x.device))
        return torch.cat([mu, lv], dim=-1).view(b, self.chunks, -1)

    def _pos(self, b: int, device) -> torch.Tensor:
        return self.pos(torch.arange(self.chunks, device=device))[None].expand(b, -1, -1)

    # ------------------------------------------------------------------ internal latent
    def encode_internal(self, lat: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Chunk means (B, K, Zb), style (B,) -> internal mu, logvar (B, Z) float32."""
        b = lat.shape[0]
        sv = self.style_embed(style)[:, None, :].expand(-1, self.chunks, -1)
        _, (h, _) = self.enc(torch.cat([lat, sv, self._pos(b, lat.device)], dim=-1))
        mu, logvar = self.to_stats(torch.cat([h[-2], h[-1]], dim=-1)).float().chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode_internal(self, z: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Internal z (B, Z), style (B,) -> chunk latents (B, K, Zb) float32."""
        b = z.shape[0]
        cz = torch.cat([z, self.style_embed(style)], dim=-1)
        L, H = self.cfg.dec_layers, self.cfg.dec_hidden
        hc = torch.tanh(self.dec_init(cz)).view(b, 2, L, H)
        state = (hc[:, 0].transpose(0, 1).contiguous(), hc[:, 1].transpose(0, 1).contiguous())
        y, _ = self.dec(torch.cat([cz[:, None, :].expand(-1, self.chunks, -1), self._pos(b, z.device)], dim=-1), state)
        return self.out(self.drop(y)).float()

    # ------------------------------------------------------------------ public (whitened) latent
    def whiten(self, mu: torch.Tensor, logvar: torch.Tensor, style: torch.Tensor):
        """Internal posterior -> public: L_s^-1 (mu - m_s); the log-variance is the diagonal of
        L_s^-1 diag(exp(logvar)) L_s^-T."""
        chol = self.prior_chol[style].float()
        inv = torch.linalg.solve_triangular(chol, torch.eye(chol.shape[-1], device=mu.device).expand_as(chol),
                                            upper=False)
        w = (inv @ (mu - self.prior_mean[style].float())[..., None])[..., 0]
        var = (inv.pow(2) @ logvar.exp()[..., None])[..., 0]
        return w, var.clamp_min(1e-12).log()

    def unwhiten(self, z: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.prior_mean[style].float() + (self.prior_chol[style].float() @ z.float()[..., None])[..., 0]

    def encode(self, tokens: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (B, T) int64, style (B,) int64 -> public mu, logvar (B, Z) float32."""
        lat = self.chunk_posteriors(tokens)[..., :self.base_z]
        return self.whiten(*self.encode_internal(lat, style), style)

    def latents(self, z: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Public z (B, Z) -> the K chunk latents (B, K, Zb) the base decoder reads."""
        return self.decode_internal(self.unwhiten(z, style), style)

    def logits(self, z: torch.Tensor, style: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, T, C) of tokens ``inputs`` (B, T) from public z (B, Z)."""
        b = inputs.shape[0]
        lat = self.latents(z, style).reshape(b * self.chunks, -1)
        x = inputs.reshape(b * self.chunks, self.chunk_steps)
        out = self.base.logits(lat, torch.zeros(len(x), dtype=torch.long, device=x.device), x)
        return out.reshape(b, self.cfg.steps, -1)

    @torch.no_grad()
    def sample(self, z: torch.Tensor, style: torch.Tensor, temperature: float = 0.0,
               generator: torch.Generator | None = None, repeat: float = 0.0) -> torch.Tensor:
        """Public z (B, Z) -> tokens (B, T) int64; each chunk decoded by the base model (temperature 0 =
        argmax). ``repeat`` > 0: a chunk near an earlier one repeats its notes (:func:`repeat_sources`)."""
        b = z.shape[0]
        lat = self.latents(z, style)
        out = self.base.sample(lat.reshape(b * self.chunks, -1), torch.zeros(b * self.chunks, dtype=torch.long,
                               device=z.device), temperature, generator).reshape(b, self.chunks, -1)
        if repeat > 0:
            src = repeat_sources(lat, repeat).to(out.device)
            out = torch.gather(out, 1, src[..., None].expand(-1, -1, out.shape[-1]))
        return out.reshape(b, self.cfg.steps)

    # ------------------------------------------------------------------ objective
    def forward(self, x: torch.Tensor, style: torch.Tensor, beta: float = 1.0, free_bits: float = 0.0,
                p_teacher: float = 1.0, sample_latent: bool = True) -> dict[str, torch.Tensor]:
        """Loss and its parts for a batch.

        Parameters
        ----------
        x : (B, T) int64 tokens, or (B, K, 2 Zb) float packed chunk posteriors (from the latent cache)
        style : (B,) int64 ; beta, free_bits : KL weight and free bits, as :class:`MusicVAE`
        p_teacher : unused (the decoder is not autoregressive)

        Returns
        -------
        dict with ``loss``, ``recon`` (nats per phrase, the latents' Gaussian NLL), ``latent_nll``
        (nats per latent dimension), ``kl``, ``kl_bits``, ``beta`` and ``accuracy``. On tokens,
        ``nll_per_step`` and ``accuracy`` are the base decoder's teacher-forced token NLL and
        accuracy from the reconstructed latents; on cached latents, ``nll_per_step`` is the
        latent NLL per step and ``accuracy`` the share of latent dimensions within one base
        posterior standard deviation.
        """
        tokens = None
        if not torch.is_floating_point(x):
            tokens, x = x, self.chunk_posteriors(x)
        target, tlv = x[..., :self.base_z].float(), x[..., self.base_z:].float()
        mu, logvar = self.encode_internal(target, style)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample_latent else mu
        pred = self.decode_internal(z, style)
        err2 = (pred - target).pow(2)
        nll = 0.5 * (err2 * torch.exp(-tlv) + tlv + math.log(2 * math.pi))
        recon = nll.sum((1, 2)).mean()
        kl_each = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
        kl = kl_each.mean()
        kl_penalty = torch.clamp(kl_each - free_bits * math.log(2.0), min=0.0).mean()
        out = {
            "loss": recon + beta * kl_penalty,
            "recon": recon.detach(),
            "latent_nll": (nll.mean()).detach(),
            "kl": kl.detach(),
            "kl_bits": (kl / math.log(2.0)).detach(),
            "beta": torch.tensor(float(beta)),
        }
        if tokens is None:
            out["nll_per_step"] = (recon / self.cfg.steps).detach()
            out["accuracy"] = (err2 < torch.exp(tlv)).float().mean().detach()
            return out
        with torch.no_grad():
            b = tokens.shape[0]
            chunks = tokens.reshape(b * self.chunks, self.chunk_steps)
            logits = self.base.logits(pred.reshape(b * self.chunks, -1),
                                      torch.zeros(len(chunks), dtype=torch.long, device=tokens.device), chunks).float()
            ce = nn.functional.cross_entropy(logits.transpose(1, 2), chunks, reduction="none")
            out["nll_per_step"] = ce.mean().detach()
            out["accuracy"] = (logits.argmax(-1) == chunks).float().mean()
        return out

    # ------------------------------------------------------------------ prior
    @torch.no_grad()
    def fit_prior(self, lat: torch.Tensor, style: torch.Tensor, batch: int = 1024, seed: int = 0) -> dict[str, int]:
        """Fit the public latent's whitening to internal posterior means of training phrases.

        lat : (N, K, Zb) chunk means ; style : (N,) their style ids. Each style s gets the Gaussian
        (:func:`musiclatent.models.prior.fit_mixture` with one component: covariance shrunk toward its
        diagonal) of its phrases encoded under s; style 0 ("any") that of all phrases encoded
        unconditioned. Returns the phrase count per style.
        """
        import numpy as np

        from musiclatent.models.prior import fit_mixture

        was = self.training
        self.eval()

        def means(st):
            return torch.cat([self.encode_internal(lat[i:i + batch].float(), st[i:i + batch])[0]
                              for i in range(0, len(lat), batch)]).double().numpy()

        rng = np.random.default_rng(seed)
        fits = {0: fit_mixture(means(torch.zeros_like(style)), 1, rng)}
        styled, ids = means(style), style.numpy()
        counts = {self.cfg.styles[0]: int(len(lat))}
        for sid in range(1, self.cfg.n_styles):
            counts[self.cfg.styles[sid]] = int((ids == sid).sum())
            if counts[self.cfg.styles[sid]] >= 2:
                fits[sid] = fit_mixture(styled[ids == sid], 1, rng)
        for sid in range(self.cfg.n_styles):
            gm = fits.get(sid, fits[0])
            self.prior_mean[sid] = torch.as_tensor(gm.means[0], dtype=torch.float32)
            self.prior_chol[sid] = torch.as_tensor(np.tril(gm.chol[0]), dtype=torch.float32)
        self.train(was)
        return counts


class LatentBatches:
    """Training batches of a :class:`LatentSeqVAE`: packed chunk posteriors from the latent cache
    (:mod:`musiclatent.data.latent_cache`), transposed like token batches and, with
    ``tc.style_balance`` a > 0, drawn with row weights count(style)^-a so that no style
    dominates the gradient (a = 0.5: a style with 4x the phrases is drawn 2x as often)."""

    def __init__(self, model: LatentSeqVAE, data_dir, train_set, tc, log=None):
        import numpy as np

        from musiclatent.data.latent_cache import load_or_build

        self.cache = load_or_build(data_dir, model.base, model.base_weights_file(), train_set.tokens,
                                   tc.augment_semitones, log or print)
        self.style = torch.as_tensor(np.asarray(train_set.style, np.int64))
        counts = np.bincount(train_set.style, minlength=int(train_set.style.max()) + 1).astype(np.float64)
        w = np.maximum(counts[train_set.style], 1.0) ** -float(getattr(tc, "style_balance", 0.0))
        self.weights = torch.as_tensor(w / w.sum())

    def draw(self, batch_size: int, gen: torch.Generator, augment: int, style_dropout: float):
        """-> packed posteriors (B, K, 2 Zb) float32 and style ids (B,) int64."""
        from musiclatent.data.latent_cache import draw_shifts, latent_batch

        rows = torch.multinomial(self.weights, batch_size, replacement=True, generator=gen).numpy()
        u = torch.rand(batch_size, generator=gen).numpy()
        shifts = draw_shifts(self.cache.lo[rows], self.cache.hi[rows], min(augment, self.cache.max_shift), u)
        s = self.style[rows]
        if style_dropout > 0:
            s = torch.where(torch.rand(batch_size, generator=gen) < style_dropout, torch.zeros_like(s), s)
        return latent_batch(self.cache, rows, shifts), s

    def finish(self, model: LatentSeqVAE) -> dict:
        """Fit the model's prior (its latent whitening) to the untransposed training phrases."""
        import numpy as np

        from musiclatent.data.latent_cache import latent_batch

        rows = np.arange(len(self.cache.index))
        lat = latent_batch(self.cache, rows, np.zeros(len(rows), np.int64))[..., :model.base_z]
        return model.fit_prior(lat, self.style)
