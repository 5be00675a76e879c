"""Frozen dataclass configs, stored as JSON beside every checkpoint.

A model can be rebuilt from its folder alone: ``ModelConfig.from_json`` plus
the safetensors weights (nanoGPT's ``GPTConfig`` idea, with a JSON round trip).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from musiclatent.constants import NUM_CLASSES, STYLE_ANY
from musiclatent.representations import Representation, get_representation


DECODERS = ("flat", "hier", "latent-seq")


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the recurrent VAE.

    ``styles`` lists style names; id 0 is always ``"any"`` (unconditioned).
    ``representation`` names how notes become tokens (:mod:`musiclatent.representations`)
    and ``meter`` the bar the model's phrases are measured in; together they give ``steps``.
    """

    representation: str = "melody"
    meter: tuple[int, int] = (4, 4)

    bars: int = 2
    decoder: str = "flat"          # "flat", "hier" or "latent-seq" (a VAE over a frozen base model's chunk latents)
    n_classes: int = NUM_CLASSES
    embed_dim: int = 64
    enc_hidden: int = 512          # per direction
    enc_layers: int = 1
    z_dim: int = 256
    dec_hidden: int = 256
    dec_layers: int = 2
    conductor_hidden: int = 256
    conductor_layers: int = 2
    conductor_dim: int = 128       # size of one bar embedding
    style_dim: int = 16
    styles: tuple[str, ...] = (STYLE_ANY,)
    dropout: float = 0.0
    pos_dim: int = 0               # learned step-in-bar embedding fed to encoder and decoder (0 = off)
    interval_range: int = 0        # decoder head over intervals -K..K from the latest note (0 = off)
    base_model: str = ""           # latent-seq: the frozen chunk model (pretrained name or model folder)
    chord_dim: int = 0             # flat decoder: embedding of the chord of each half bar fed at every step (0 = off)
    chord_tones: bool = False      # chord models: a head that raises the sounding chord's root and tones (pitch logits)

    @property
    def rep(self) -> Representation:
        """The representation object this model reads and writes."""
        return get_representation(self.representation)

    @property
    def steps_per_bar(self) -> int:
        return self.rep.steps_per_bar(self.meter)

    @property
    def steps(self) -> int:
        return self.bars * self.steps_per_bar

    @property
    def n_styles(self) -> int:
        return len(self.styles)

    def __post_init__(self):
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, not {self.decoder!r}")
        if (self.decoder == "latent-seq") != bool(self.base_model):
            raise ValueError("a latent-seq model needs base_model, and only it takes one")
        if not self.styles or self.styles[0] != STYLE_ANY:
            raise ValueError(f"styles must start with {STYLE_ANY!r}")
        rep = get_representation(self.representation)   # ValueError naming the known ones
        rep.check_meter(self.meter)
        if self.n_classes != rep.n_classes:
            raise ValueError(f"n_classes {self.n_classes} does not match the {rep.name} representation's "
                             f"{rep.n_classes} classes")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}")
        if self.chord_dim and (self.decoder != "flat" or self.representation != "melody"
                               or rep.steps_per_bar(self.meter) % 2):
            raise ValueError("chords (chord_dim > 0) condition flat melody decoders in meters with half bars")
        if self.chord_tones and not self.chord_dim:
            raise ValueError("chord_tones needs a chord model (chord_dim > 0)")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        d = dict(d)
        for key in ("styles", "meter"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


# TrainConfig field -> (lowest, highest, lowest is allowed); None = unbounded on that side.
_TRAIN_RANGES = {
    "batch_size": (1, 1 << 16, True), "lr": (0.0, 1.0, False), "lr_decay": (0.0, 1.0, False),
    "min_lr": (0.0, 1.0, True), "grad_clip": (0.0, None, False), "max_steps": (0, None, True),
    "beta_max": (0.0, None, True), "beta_rate": (0.0, 1.0, True), "free_bits": (0.0, None, True),
    "sampling_rate": (0.0, None, True), "augment_semitones": (0, 24, True), "style_dropout": (0.0, 1.0, True),
    "style_balance": (0.0, 1.0, True), "chord_dropout": (0.0, 1.0, True), "free_key": (0, 11, True), "chord_share": (0.0, 1.0, True), "free_key_share": (0.0, 1.0, True), "free_key_cells": (0, 64, True),
    "layer_mix": (0.0, 1.0, True),
    "schedule_offset": (0, None, True), "eval_every": (1, None, True), "checkpoint_every": (1, None, True),
    "val_batches": (1, None, True), "log_every": (1, None, True), "threads": (0, 1024, True),
}


def _train_config_problem(tc) -> str | None:
    """Why a TrainConfig (from a preset, ``--set`` or a checkpoint file) cannot train (None if it can)."""
    for f in dataclasses.fields(tc):
        value = getattr(tc, f.name)
        kind = type(f.default)
        numeric = (int, float) if kind is float else (int,)
        if kind is bool:
            if type(value) is not bool:
                return f"{f.name} must be true or false, not {value!r}"
            continue
        if type(value) not in numeric or value != value or value in (float("inf"), float("-inf")):
            return f"{f.name} must be a finite {kind.__name__}, not {value!r}"
        if f.name not in _TRAIN_RANGES:
            continue
        lo, hi, lo_ok = _TRAIN_RANGES[f.name]
        if (value < lo or (value == lo and not lo_ok)) or (hi is not None and value > hi):
            upper = "inf" if hi is None else hi
            return f"{f.name} must be in {'[' if lo_ok else '('}{lo}, {upper}], not {value!r}"
    return None


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (MusicVAE-style objective and schedules)."""

    batch_size: int = 128
    lr: float = 1e-3
    lr_decay: float = 0.9999       # per step, exponential ...
    min_lr: float = 1e-5           # ... down to this floor
    grad_clip: float = 1.0
    max_steps: int = 20000
    beta_max: float = 0.2
    beta_rate: float = 0.9995      # beta = beta_max * (1 - beta_rate ** step)
    free_bits: float = 48.0        # KL below this many bits is free
    sampling_rate: float = 2000.0  # scheduled sampling, p_tf = k / (k + exp(step / k)); 0 = always teacher-forced
    augment_semitones: int = 5
    style_dropout: float = 0.15    # train the "any" style id on this share of batches' rows
    style_balance: float = 0.0     # latent-seq models: draw rows with weight count(style) ** -this (0 = uniform)
    chord_dropout: float = 0.5     # chord models: train this share of rows with "no chord" (chordless sampling works)
    free_key: int = 0              # chord models: the encoder reads chord rows moved by up to this many semitones
    chord_share: float = 0.0       # chord models: draw this share of each batch from phrases with chords (0 = uniform)
    free_key_share: float = 1.0    # chord models: the share of chord rows whose encoder input free_key moves
    free_key_cells: int = 0        # chord models: move every this many steps by its own shift (0 = whole rows)
    layer_mix: float = 0.0         # drum models: share of rows whose drums play under another groove's cymbals
    schedule_offset: int = 0       # beta and scheduled sampling run as if at step + offset (fine-tuning)
    eval_every: int = 500
    checkpoint_every: int = 250
    val_batches: int = 8
    log_every: int = 50
    seed: int = 1234
    bf16: bool = True
    threads: int = 0               # 0 = torch default

    def __post_init__(self):
        problem = _train_config_problem(self)
        if problem:
            raise ValueError(problem)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class Preset:
    """A named bundle: model shape, data settings and training settings."""

    name: str
    model: ModelConfig
    train: TrainConfig
    description: str = ""
    data: dict = field(default_factory=dict)


def dump_json(obj: dict) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
