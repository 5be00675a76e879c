"""The inference facade: ``MusicLatent``.

Thin on purpose: load a model (``from_pretrained`` / ``from_checkpoint``),
then ``encode``, ``decode``, ``sample``, ``interpolate``, ``restyle``,
``variations`` and ``score`` on token arrays (n, steps) of the model's
representation (``m.representation``; melodies use the 130-class convention).
Song-level work (files in, MIDI out) lives in :mod:`musiclatent.generation.songs`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from musiclatent.generation.attributes import ATTRIBUTES
from musiclatent.training.checkpoint import CheckpointError, find_checkpoint, load_model, load_tensors, read_config
from musiclatent.latent import index as latent_tools
from musiclatent.latent.walks import latent_walk, slerp  # noqa: F401  (re-exported)
from musiclatent.constants import PRETRAINED_DIR, STYLE_ANY
from musiclatent.models.prior import StylePrior, read_prior
from musiclatent.models.refine import RefineSettings, elbo_per_step, refine_latents
from musiclatent.models.vae import MusicVAE, check_chord_strength
from musiclatent.models.builders import build_vae

PRETRAINED = ("melody-2bar", "melody-16bar")
SCORER_DIRNAME = "scorer"  # a model folder's density-trained model for typicality scores


class UnknownStyleError(ValueError):
    """An unknown style name; the message lists the valid ones."""


class MusicLatent:
    """A trained model plus its latent tools.

    Parameters
    ----------
    model : MusicVAE (or LatentSeqVAE)
    extras : dict of np.ndarray
        Optional: ``attr.<name>`` (Z,) attribute vectors and ``style_mean.<style>`` (Z,) mean latents.
    card : str, the model card (markdown), if any
    prior : StylePrior, optional
        Where each style's latents live (``prior.safetensors``); without one, z ~ N(0, I).
    """

    def __init__(self, model: MusicVAE, extras: dict[str, np.ndarray] | None = None, card: str = "",
                 name: str = "", folder: Path | None = None, prior: StylePrior | None = None,
                 chord_strength: float = 1.0, refine: RefineSettings | None = None):
        self.model = model.eval()
        self.refine = refine or RefineSettings()   # how encode refines the encoder's latent (0 steps: not)
        self.chord_strength = check_chord_strength(chord_strength)   # the chord-tone head's default strength
        self.prior = prior
        self.cfg = model.cfg
        self.extras = extras or {}
        self.card = card
        self.name = name or f"{self.cfg.bars}-bar model"
        self.folder = folder

    # ------------------------------------------------------------------ loading
    @property
    def scorer(self) -> "MusicLatent":
        """The model typicality is scored with: ``<folder>/scorer`` (a density-trained model for the same
        steps and styles, see ``musiclatent.latent``) when there is one, else this model. Loaded once."""
        if "_scorer" not in self.__dict__:
            sub = Path(self.folder) / SCORER_DIRNAME if self.folder is not None else None
            twin = self
            if sub is not None and (sub / "model.safetensors").exists():
                twin = MusicLatent.from_checkpoint(sub, name=f"{self.name} scorer")
                if twin.steps != self.steps or twin.styles != self.styles:
                    raise CheckpointError(f"{sub} scores {twin.steps}-step phrases of styles {twin.styles}, but "
                                          f"the model takes {self.steps} steps and styles {self.styles}")
            self.__dict__["_scorer"] = twin
        return self.__dict__["_scorer"]

    @classmethod
    def from_pretrained(cls, name: str = "melody-2bar") -> "MusicLatent":
        """Load a model shipped inside the package (no network)."""
        folder = PRETRAINED_DIR / name
        if not (folder / "model.safetensors").exists():
            avail = sorted(p.name for p in PRETRAINED_DIR.glob("*") if (p / "model.safetensors").exists())
            raise FileNotFoundError(f"no pretrained model {name!r}; available: {', '.join(avail) or 'none'}")
        return cls.from_checkpoint(folder, name=name)

    @classmethod
    def from_checkpoint(cls, path: str | Path, name: str = "") -> "MusicLatent":
        """Load from a run folder, a checkpoint folder or an exported model folder."""
        path = Path(path)
        folder = path
        if not (path / "model.safetensors").exists():
            found = find_checkpoint(path)
            if found is None:
                raise CheckpointError(f"no model in {path} (expected model.safetensors + config.json)")
            folder = found
        config = read_config(folder)
        model = load_model(build_vae, config, folder)
        model.float()
        extras = {}
        if (folder / "extras.safetensors").exists():
            extras = {k: v.float().numpy() for k, v in load_tensors(folder / "extras.safetensors").items()}
        card = (folder / "README.md").read_text() if (folder / "README.md").exists() else ""
        prior = read_prior(folder)
        if prior is not None and list(prior.styles) != list(model.cfg.styles):
            raise CheckpointError(f"{folder}/prior.json is for styles {list(prior.styles)}, but the model has "
                                  f"{list(model.cfg.styles)}; refit it with `musiclatent fit-prior {folder} --data DATA`")
        try:   # how the model samples over chords and refines its encodings
            strength = check_chord_strength(config.get("sampling", {}).get("chord_strength", 1.0))
            refine = RefineSettings.from_dict(config.get("encoding"))
        except (ValueError, AttributeError) as err:
            raise CheckpointError(f"{folder}/config.json: bad sampling or encoding settings ({err})") from None
        return cls(model, extras, card, name=name or config.get("preset", ""), folder=folder, prior=prior,
                   chord_strength=strength, refine=refine)

    @classmethod
    def load(cls, name_or_path: str) -> "MusicLatent":
        """A pretrained name or a path."""
        if name_or_path in PRETRAINED or (PRETRAINED_DIR / name_or_path / "model.safetensors").exists():
            return cls.from_pretrained(name_or_path)
        return cls.from_checkpoint(name_or_path)

    # ------------------------------------------------------------------ basics
    @property
    def styles(self) -> list[str]:
        """Style names the model knows; the first is "any" (unconditioned)."""
        return list(self.cfg.styles)

    steps = property(lambda self: self.cfg.steps, doc="phrase length in steps")
    bars = property(lambda self: self.cfg.bars, doc="phrase length in the model's bars")
    steps_per_bar = property(lambda self: self.cfg.steps_per_bar, doc="steps in one of the model's bars")
    meter = property(lambda self: tuple(self.cfg.meter), doc="the model's bar, e.g. (4, 4)")
    z_dim = property(lambda self: self.cfg.z_dim, doc="latent size")

    @property
    def representation(self):
        """How the model's tokens read as music (:mod:`musiclatent.representations`)."""
        return self.cfg.rep

    @property
    def attribute_names(self) -> list[str]:
        return [a for a in ATTRIBUTES if f"attr.{a}" in self.extras]

    def style_id(self, style: str | int | None) -> int:
        """Style name (or id) -> id; None and "any" mean unconditioned (0)."""
        if style is None or style == "" or style == STYLE_ANY:
            return 0
        if isinstance(style, (int, np.integer)):
            if 0 <= int(style) < len(self.styles):
                return int(style)
        elif style in self.styles:
            return self.styles.index(style)
        raise UnknownStyleError(f"unknown style {style!r}; valid styles: {', '.join(self.styles)}")

    def _styles(self, style, n: int) -> torch.Tensor:
        if isinstance(style, (list, tuple, np.ndarray)):
            ids = [self.style_id(s) for s in style]
            if len(ids) != n:
                raise ValueError(f"{len(ids)} styles for {n} phrases")
            return torch.tensor(ids, dtype=torch.long)
        return torch.full((n,), self.style_id(style), dtype=torch.long)

    def _tokens(self, tokens) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(tokens), dtype=torch.long)
        if t.ndim == 1:
            t = t[None]
        if t.ndim != 2 or t.shape[1] != self.steps:
            raise ValueError(f"tokens must have shape (n, {self.steps}); got {tuple(t.shape)}")
        if t.numel() and (t.min() < 0 or t.max() >= self.cfg.n_classes):
            raise ValueError(f"tokens must lie in [0, {self.cfg.n_classes})")
        return t

    # ------------------------------------------------------------------ latent ops
    @torch.no_grad()
    def encode(self, tokens, style=None, refine: int | None = None, chords=None) -> np.ndarray:
        """tokens (n, steps) int -> latents (n, z_dim) float32: the encoder's means refined by ``refine``
        steps on the decoder (None: :attr:`refine`), read over ``chords`` as :meth:`decode` reads them.
        Restyle, variations, continuations and the index read the means (``refine=0``)."""
        t = self._tokens(tokens)
        if len(t) == 0:
            return np.zeros((0, self.z_dim), np.float32)
        s, c = self._styles(style, len(t)), self._chords(chords, len(t))
        settings = self.refine if refine is None else dataclasses.replace(self.refine, steps=refine)
        z = refine_latents(self.model, t, s, self.model.encode(t, s)[0], settings, c, self.chord_strength)
        return z.numpy().astype(np.float32)

    @property
    def takes_chords(self) -> bool:   # a chord model: its decoder hears the chord of every half bar
        return bool(getattr(self.cfg, "chord_dim", 0))

    def _chords(self, chords, n: int) -> torch.Tensor | None:
        """Chord ids per half bar, (n, K) or one row (K,) for all -> (n, K); None if none or unheard."""
        if chords is None or not self.takes_chords:
            return None
        c = torch.as_tensor(np.asarray(chords, np.int64))
        return (c[None] if c.ndim == 1 else c).expand(n, -1)

    @torch.no_grad()
    def decode(self, z, style=None, temperature: float = 0.0, seed: int | None = None, chords=None,
               chord_strength: float | None = None, repeat: float = 0.0) -> np.ndarray:
        """Latents (n, z_dim) -> tokens (n, steps) int64. Temperature 0 is argmax. ``chords``: chord ids
        per half bar, (n, 2 * bars) or one row (2 * bars,) for all (:mod:`musiclatent.representations.chords`);
        only a chord model hears them (:attr:`takes_chords`), None = no chord. ``chord_strength``: how
        closely a chord-tone head follows them (None: the model's :attr:`chord_strength`). ``repeat``:
        a latent-sequence model repeats near-repeated 2-bar motifs exactly (``latent_seq.repeat_sources``)."""
        z = torch.as_tensor(np.asarray(z, np.float32)).reshape(-1, self.z_dim)
        if len(z) == 0:
            return np.zeros((0, self.steps), np.int64)
        gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        kw = {}
        if chords is not None and self.takes_chords:
            kw["chords"] = self._chords(chords, len(z))
            kw["chord_strength"] = self.chord_strength if chord_strength is None else check_chord_strength(chord_strength)
        if repeat and self.cfg.decoder == "latent-seq":
            kw["repeat"] = float(repeat)
        out = self.model.sample(z, self._styles(style, len(z)), float(temperature), gen, **kw)
        return out.numpy().astype(np.int64)

    def attribute_offset(self, attributes: dict[str, float] | None) -> np.ndarray:
        """Sum of amount * attribute vector; amounts in [-2, 2]."""
        off = np.zeros(self.z_dim, np.float32)
        for name, amount in (attributes or {}).items():
            if not amount:
                continue
            key = f"attr.{name}"
            if key not in self.extras:
                raise ValueError(f"unknown attribute {name!r}; available: {', '.join(self.attribute_names) or 'none'}")
            if not -2.0 <= float(amount) <= 2.0:
                raise ValueError(f"attribute amount for {name} must lie in [-2, 2], got {amount}")
            off += float(amount) * self.extras[key]
        return off

    def prior_latents(self, n: int, style=None, temperature: float = 0.5,
                      rng: np.random.Generator | None = None) -> np.ndarray:
        """n latents (n, Z) float32 for a style.

        From the model's style prior when it has one (:mod:`musiclatent.models.prior`): the style's
        Gaussian, its spread tempered by ``temperature`` (0 = the most typical latent, 0.5 = the fitted
        spread), kept where its latent critic hears the style. Without a prior, z ~ N(0, I) whatever
        the temperature.
        """
        rng = rng if rng is not None else np.random.default_rng()
        if self.prior is None:
            return rng.standard_normal((int(n), self.z_dim)).astype(np.float32)
        return self.prior.latents(int(n), self.style_id(style), float(temperature), rng)

    def walk_latents(self, z: np.ndarray, n: int, similarity: float, style=None,
                     rng: np.random.Generator | None = None, spread: float = 1.0) -> np.ndarray:
        """n steps of an AR(1) walk from each latent, z_{k+1} = s z_k + sqrt(1 - s^2) spread eps_k:
        (m, Z) -> (n, m, Z) float32. With a style prior the walk runs in the whitened frame of the
        style's Gaussian, so it stays where that style lives; else in N(0, I)."""
        rng = rng if rng is not None else np.random.default_rng()
        z = np.atleast_2d(np.asarray(z, np.float32))
        if self.prior is None:
            return latent_walk(z, int(n), float(similarity), rng, spread).reshape(int(n), len(z), self.z_dim)
        return self.prior.walk(z, self.style_id(style), int(n), float(similarity), rng, float(spread))

    def prior_description(self) -> str:
        """One line: where this model's samples draw z from."""
        return self.prior.describe() if self.prior is not None else "N(0, I)"

    def sample(self, n: int = 1, style=None, temperature: float = 0.5, seed: int | None = 0,
               attributes: dict[str, float] | None = None, chords=None) -> np.ndarray:
        """Draw n phrases of a style: z from :meth:`prior_latents` (+ attribute offsets) -> tokens (n, steps).

        ``temperature`` tempers both the latent spread (with a style prior; 0 = the style's most
        typical phrase) and the decoder's softmax (0 = argmax); ``chords`` as in :meth:`decode`.
        """
        rng = np.random.default_rng(seed)
        z = self.prior_latents(n, style, temperature, rng) + self.attribute_offset(attributes)
        return self.decode(z, style, temperature, seed, chords)

    def interpolate_latents(self, z_a: np.ndarray, z_b: np.ndarray, steps: int) -> np.ndarray:
        """Slerp paths: (n, Z), (n, Z) -> (steps, n, Z), endpoints included."""
        ts = np.linspace(0.0, 1.0, int(steps)) if steps > 1 else np.array([0.0])
        return np.stack([slerp(z_a, z_b, t) for t in ts])

    def interpolate(self, tokens_a, tokens_b, steps: int = 5, style=None, temperature: float = 0.0,
                    seed: int | None = 0, attributes: dict[str, float] | None = None, chords=None) -> np.ndarray:
        """Phrase-wise slerp from A to B: (n, T), (n, T) -> (steps, n, T) tokens; ``chords`` (steps, n, K)
        or None: the chords each step's phrases are decoded over (a chord model hears them)."""
        ends = (None, None) if chords is None else (np.asarray(chords)[0], np.asarray(chords)[-1])
        za, zb = self.encode(tokens_a, style, chords=ends[0]), self.encode(tokens_b, style, chords=ends[1])
        path = self.interpolate_latents(za, zb, steps) + self.attribute_offset(attributes)
        flat = self.decode(path.reshape(-1, self.z_dim), style, temperature, seed,
                           None if chords is None else np.asarray(chords).reshape(len(path) * len(za), -1))
        return flat.reshape(len(path), -1, self.steps)

    def style_mean(self, style) -> np.ndarray:
        key = f"style_mean.{self.styles[self.style_id(style)]}"
        return self.extras.get(key, np.zeros(self.z_dim, np.float32))

    def restyle(self, tokens, target_style, strength: float = 1.0, source_style=None, temperature: float = 0.0,
                seed: int | None = 0, attributes: dict[str, float] | None = None, chords=None) -> np.ndarray:
        """Play phrases in another style; (n, T) -> (n, T), over their ``chords`` (n, K) if given.

        The phrases are encoded unconditioned (so z keeps their style), then moved by
        ``strength`` s in [0, 1]: z' = z + s * (0.5 (m_t - z) + (m_t - m_s)), i.e. blended
        halfway toward the target style's mean latent m_t and shifted by the difference
        between the target's and the source style's means (m_s: the source style's mean,
        or the mean over styles when the source is unknown). The result is decoded under
        the target style. At s = 0 this is the plain reconstruction.

        With a style prior, the move is z' = z + s (c_t(M(z)) - z): M is the optimal-transport
        map from the source style's Gaussian to the target's (the source guessed by the prior's
        critic when unknown), which keeps the phrase's place within its style, and c_t the latent
        constraint that then moves it until the critic hears the target style."""
        if not 0.0 <= float(strength) <= 1.0:
            raise ValueError(f"strength must lie in [0, 1], got {strength}")
        target = self.style_id(target_style)
        z = self.encode(tokens, None, refine=0)   # the style geometry was fitted to the encoder's means
        if strength <= 0:
            return self.decode(z + self.attribute_offset(attributes), None, temperature, seed, chords)
        if self.prior is not None and target > 0:
            src = (np.full(len(z), self.style_id(source_style), np.int64)
                   if source_style not in (None, "", STYLE_ANY) else self.prior.guess_style(z))
            moved = self.prior.constrain(self.prior.transport(z, src, target), target)
            z = z + float(strength) * (moved - z) + self.attribute_offset(attributes)
            return self.decode(z.astype(np.float32), target, temperature, seed, chords)
        m_t = self.style_mean(target)
        if source_style not in (None, "", STYLE_ANY):
            m_s = self.style_mean(source_style)
        else:
            means = [self.style_mean(s) for s in self.styles[1:]]
            m_s = np.mean(means, axis=0) if means else np.zeros(self.z_dim, np.float32)
        s = float(strength)
        z = z + s * (0.5 * (m_t - z) + (m_t - m_s)) + self.attribute_offset(attributes)
        return self.decode(z.astype(np.float32), target, temperature, seed, chords)

    def variations(self, tokens, n: int = 4, similarity: float = 0.8, style=None, temperature: float = 0.0,
                   seed: int | None = 0, chords=None) -> np.ndarray:
        """z' = s z + sqrt(1 - s^2) eps for each input phrase; (m, T) -> (n, m, T), over ``chords`` (m, K).

        With a style prior the phrases are encoded under "any" and the step is taken in the
        whitened frame of ``style``'s Gaussian (:meth:`walk_latents`), so low similarity drifts
        toward that style rather than toward N(0, I).
        """
        if not 0.0 <= float(similarity) <= 1.0:
            raise ValueError(f"similarity must lie in [0, 1], got {similarity}")
        z = self.encode(tokens, None if self.prior is not None else style, refine=0)
        rng = np.random.default_rng(seed)
        s = float(similarity)
        if self.prior is not None:
            zs = np.concatenate([self.walk_latents(z, 1, s, style, rng) for _ in range(int(n))])
        else:
            eps = rng.standard_normal((int(n),) + z.shape).astype(np.float32)
            zs = s * z[None] + np.sqrt(max(0.0, 1.0 - s * s)) * eps
        tiled = None if chords is None else np.tile(np.asarray(chords), (int(n), 1))
        return self.decode(zs.reshape(-1, self.z_dim), style, temperature, seed, tiled).reshape(int(n), len(z), self.steps)

    def continuation(self, tokens, n: int = 4, similarity: float = 0.9, style=None, temperature: float = 0.0,
                     seed: int | None = 0, chords=None) -> np.ndarray:
        """Continue a melody with a latent walk from its last phrase; (m, T) -> the n new phrases (n, T),
        over ``chords`` (n, K) if given. z_0 is the last phrase's mean and z_{k+1} = s z_k + sqrt(1 - s^2) eps_k
        (s = 1 repeats it); with a style prior the walk runs in ``style``'s whitened frame."""
        if not 0.0 <= float(similarity) <= 1.0:
            raise ValueError(f"similarity must lie in [0, 1], got {similarity}")
        if int(n) < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        rng = np.random.default_rng(seed)
        if self.prior is not None:
            walk = self.walk_latents(self.encode(tokens, None, refine=0)[-1:], int(n), float(similarity), style, rng)[:, 0]
        else:
            walk = latent_walk(self.encode(tokens, style, refine=0)[-1], int(n), float(similarity), rng)
        return self.decode(walk, style, temperature, seed, chords)

    @torch.no_grad()
    def score(self, tokens, style=None, samples: int = 1, seed: int = 0, chords=None) -> np.ndarray:
        """Negative ELBO per step (nats) of each phrase: (n, T) -> (n,). Higher = less typical. A chord
        model scores them over ``chords`` (as in :meth:`decode`; None = no chord)."""
        t = self._tokens(tokens)
        torch.manual_seed(seed)
        return elbo_per_step(self.model, t, self._styles(style, len(t)), self._chords(chords, len(t)), samples).numpy()

    def describe(self) -> dict:
        return {"name": self.name, "representation": self.cfg.representation, "meter": "{}/{}".format(*self.meter),
                "bars": self.bars, "steps": self.steps, "z_dim": self.z_dim, "styles": self.styles,
                "attributes": self.attribute_names, "decoder": self.cfg.decoder, "chords": self.takes_chords}

    def __repr__(self) -> str:
        return f"MusicLatent({json.dumps(self.describe())})"
    # ------------------------------------------------------------------ latent space tools (musiclatent.latent)
    def latent_index(self, path=None) -> "latent_tools.LatentIndex":
        """The corpus index: ``path``, or this model's ``index/`` folder (cached)."""
        return latent_tools.index_for(self, path)

    def nearest(self, tokens, k: int = 10, metric: str = "cosine", index=None) -> list[list[dict]]:
        """k nearest corpus phrases of each phrase (n, T): records with file, bar, style, distance."""
        return latent_tools.nearest_phrases(self, tokens, k, metric, index)

    def map_coords(self, tokens, index=None) -> np.ndarray:
        """Phrases (n, T) placed on the corpus map: (n, 2) PCA coordinates."""
        return latent_tools.place_on_map(self, tokens, index)

    def typicality(self, tokens, style=None, index=None, chords=None) -> tuple[np.ndarray, np.ndarray]:
        """Negative ELBO per step (n,) of phrases (n, T) under :attr:`scorer`, over their ``chords`` (n, K)
        if it hears chords, and its percentile (n,) among the index's phrases (:mod:`musiclatent.latent`)."""
        return latent_tools.typicality(self, tokens, style, index, chords)
