"""The style-conditioned recurrent VAE; it owns its objective.

``forward`` returns the total loss and its parts, so the training loop stays
short and the logs are honest.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn
from torch.nn import functional as F

from musiclatent.config import ModelConfig
from musiclatent.models.modules import BiLSTMEncoder, FlatDecoder, HierDecoder
from musiclatent.representations.chords import N_CHORDS, chord_tone_table


MAX_CHORD_STRENGTH = 8.0


def check_chord_strength(strength) -> float:
    """A chord-tone head's strength, checked: a number in [0, MAX_CHORD_STRENGTH] (0 = the head off,
    1 = as trained)."""
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real) or not 0.0 <= strength <= MAX_CHORD_STRENGTH:
        raise ValueError(f"chord strength must be a number in [0, {MAX_CHORD_STRENGTH:g}], not {strength!r}")
    return float(strength)


class MusicVAE(nn.Module):
    """Recurrent VAE over event tokens with a style embedding on both sides.

    Parameters
    ----------
    cfg : ModelConfig
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.style_embed = nn.Embedding(cfg.n_styles, cfg.style_dim)
        spb = cfg.steps_per_bar
        # the interval head needs to know where pitch classes start; only pitched representations have one
        offset = getattr(cfg.rep, "pitch_offset", None)
        if cfg.interval_range and offset is None:
            raise ValueError(f"interval_range needs a pitched representation, not {cfg.representation!r}")
        offset = offset or 0
        self.encoder = BiLSTMEncoder(cfg.n_classes, cfg.embed_dim, cfg.enc_hidden, cfg.enc_layers, cfg.z_dim,
                                     cfg.style_dim, cfg.pos_dim, spb)
        # the chord of each half bar, embedded and fed to the decoder at every step (MusicVAE's mel_chords)
        self.chord_embed = nn.Embedding(N_CHORDS, cfg.chord_dim) if cfg.chord_dim else None
        # each chord's root and tones as pitch-class indicators, for the decoder's chord-tone head (not weights)
        self.register_buffer("tone_table", torch.from_numpy(chord_tone_table()), persistent=False)
        if cfg.decoder == "flat":
            self.decoder = FlatDecoder(cfg.n_classes, cfg.embed_dim, cfg.z_dim, cfg.style_dim, cfg.dec_hidden,
                                       cfg.dec_layers, cfg.steps, cfg.dropout, cfg.pos_dim, cfg.interval_range,
                                       spb, offset, cfg.chord_dim, cfg.chord_tones)
        else:
            self.decoder = HierDecoder(cfg.n_classes, cfg.embed_dim, cfg.z_dim, cfg.style_dim, cfg.dec_hidden,
                                       cfg.dec_layers, cfg.conductor_hidden, cfg.conductor_layers,
                                       cfg.conductor_dim, cfg.bars, spb, cfg.dropout, cfg.pos_dim,
                                       cfg.interval_range, offset)

    # ------------------------------------------------------------------ pieces
    def encode(self, tokens: torch.Tensor, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (B, T) int64, style (B,) int64 -> mu, logvar (B, Z) float32."""
        mu, logvar = self.encoder(tokens, self.style_embed(style))
        return mu.float(), logvar.float().clamp(-12.0, 8.0)

    def chord_vectors(self, chords: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """Chord ids (B, K), one per equal part of the phrase (half bars), -> per-step embeddings
        (B, T, Dc); None for a model without chords. No chords given = "no chord" everywhere."""
        if self.chord_embed is None:
            return None
        steps = self.cfg.steps
        if chords is None:
            chords = torch.zeros(n, 2 * self.cfg.bars, dtype=torch.long, device=self.chord_embed.weight.device)
        if steps % chords.shape[1]:
            raise ValueError(f"{chords.shape[1]} chords do not split a {steps}-step phrase into equal parts")
        return self.chord_embed(chords.long()).repeat_interleave(steps // chords.shape[1], dim=1)

    def chord_tones(self, chords: torch.Tensor | None, strength: float = 1.0) -> torch.Tensor | None:
        """Chord ids (B, K) -> per-step root and tone indicators (B, T, 2, 12) for the decoder's
        chord-tone head, times ``strength`` (the head's bias is linear in them: 1 is as trained,
        more follows the chords more closely); None when the model has none or no chords are given."""
        if chords is None or not self.cfg.chord_tones:
            return None
        tones = self.tone_table[chords.long()].repeat_interleave(self.cfg.steps // chords.shape[1], dim=1)
        return tones * float(strength) if strength != 1.0 else tones

    def logits(self, z: torch.Tensor, style: torch.Tensor, inputs: torch.Tensor,
               chords: torch.Tensor | None = None, chord_strength: float = 1.0) -> torch.Tensor:
        """Teacher-forced logits (B, T, C); ``inputs`` (B, T) are the tokens fed (shifted right inside);
        ``chords`` (B, K) chord ids per half bar (chord models only; None = no chord), their chord-tone
        head at ``chord_strength`` (1 = as trained)."""
        extra = self.chord_vectors(chords, len(z))
        if extra is None:
            return self.decoder(z, self.style_embed(style), inputs)
        return self.decoder(z, self.style_embed(style), inputs, extra, self.chord_tones(chords, chord_strength))

    @torch.no_grad()
    def sample(self, z: torch.Tensor, style: torch.Tensor, temperature: float = 0.0,
               generator: torch.Generator | None = None, chords: torch.Tensor | None = None,
               chord_strength: float = 1.0) -> torch.Tensor:
        """Decode fed with its own outputs -> tokens (B, T) int64 (temperature 0 = argmax).
        ``chord_strength`` scales the chord-tone head (:meth:`chord_tones`; models with one)."""
        extra = self.chord_vectors(chords, len(z))
        if extra is None:
            return self.decoder.sample(z, self.style_embed(style), temperature, generator)
        return self.decoder.sample(z, self.style_embed(style), temperature, generator, extra,
                                   self.chord_tones(chords, chord_strength))

    # ------------------------------------------------------------------ objective
    def forward(self, tokens: torch.Tensor, style: torch.Tensor, beta: float = 1.0, free_bits: float = 0.0,
                p_teacher: float = 1.0, sample_latent: bool = True,
                chords: torch.Tensor | None = None, enc_tokens: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Loss and its parts for a batch.

        Parameters
        ----------
        tokens : (B, T) int64 ; style : (B,) int64 ; chords : (B, K) int64 per half bar, or None
        enc_tokens : (B, T) int64, what the encoder reads instead of ``tokens`` (a chord model's
            key-free training: the melody moved, so the key must come from the chords), or None
        beta : weight of the KL penalty ; free_bits : KL below this (in bits) is not penalised
        p_teacher : scheduled sampling; each input token is the ground truth with this
            probability, else the model's own prediction from a first teacher-forced pass
            (parallel scheduled sampling: two fused passes, no per-step loop).

        Returns
        -------
        dict with ``loss``, ``recon`` (nats per sequence), ``nll_per_step``, ``kl`` (nats),
        ``kl_bits``, ``beta``, ``accuracy`` (teacher-forced, per step).
        """
        mu, logvar = self.encode(tokens if enc_tokens is None else enc_tokens, style)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample_latent else mu
        inputs = tokens
        if p_teacher < 0.999 and self.training:
            with torch.no_grad():
                first = self.logits(z, style, tokens, chords)
                pred = torch.distributions.Categorical(logits=first.float()).sample()
            keep = torch.rand(tokens.shape, device=tokens.device) < p_teacher
            inputs = torch.where(keep, tokens, pred)
        logits = self.logits(z, style, inputs, chords).float()
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1), reduction="none")
        recon = ce.view(tokens.shape).sum(1).mean()
        kl_each = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
        kl = kl_each.mean()
        free_nats = free_bits * math.log(2.0)
        kl_penalty = torch.clamp(kl_each - free_nats, min=0.0).mean()
        loss = recon + beta * kl_penalty
        acc = (logits.argmax(-1) == tokens).float().mean()
        return {
            "loss": loss,
            "recon": recon.detach(),
            "nll_per_step": (recon / tokens.shape[1]).detach(),
            "kl": kl.detach(),
            "kl_bits": (kl / math.log(2.0)).detach(),
            "beta": torch.tensor(float(beta)),
            "accuracy": acc.detach(),
        }

