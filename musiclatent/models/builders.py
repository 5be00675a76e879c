"""Builders: a ``ModelConfig`` in, a model out (audiocraft's ``models/builders.py`` idea).

The one place that knows every model kind, so the kinds need not import each other.
"""

from __future__ import annotations

from musiclatent.config import ModelConfig
from musiclatent.models.latent_seq import LatentSeqVAE
from musiclatent.models.vae import MusicVAE


def build_vae(cfg: ModelConfig) -> MusicVAE | LatentSeqVAE:
    """Config -> model. A ``latent-seq`` config builds a :class:`LatentSeqVAE` (one z over the
    2-bar latents of a frozen base model), which has the same interface as :class:`MusicVAE`."""
    if cfg.decoder == "latent-seq":
        return LatentSeqVAE(cfg)
    return MusicVAE(cfg)
