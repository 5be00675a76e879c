"""Per-style priors over the latent space, fitted to the aggregate posterior.

A free-bits VAE writes a phrase's style into z, so a draw from N(0, I) lands
in some style's region whatever style the decoder is told. A style prior puts
z where that style's training phrases put it: for each style, a Gaussian
mixture fitted (EM, full covariances shrunk toward their diagonal) to the
posterior means of the style's training phrases, encoded under that style.
Style "any" gets the mixture of every style's components, weighted by phrase
count.

A spread tau scales each component toward its mean, z = m_k + tau L_k eps, so
tau = 0 gives the component means (the most typical latents) and tau = 1 the
fitted spread. Sampling temperature T sets tau = sqrt(T / 0.5), at most 1:
the density tempered as p(z) ** (0.5 / T), so the default T = 0.5 draws from
the fitted spread and T = 0 gives the most typical latent. An optional latent
critic (:mod:`musiclatent.models.latent_critic`) then keeps, of ``candidates``
draws per sample, those it judges most surely of the style (gamma > 0).

Walks (variations, continuation) move in the whitened coordinates of a
latent's component, w = L_k^{-1} (z - m_k), so their stationary law is the
style's. Restyle moves a latent from the source style's Gaussian to the
target's along the optimal-transport map between them, which keeps its place
within the style (what makes the melody itself) and changes the style.

A prior travels beside a model as ``prior.safetensors`` (``<style>.weights``
(K,), ``<style>.means`` (K, Z), ``<style>.chol`` (K, Z, Z) lower-triangular
Cholesky factors of the covariances, ``critic.*`` its critic) and
``prior.json`` (styles, gamma, what it was fitted to); never a pickle. A model
without one uses N(0, I).

Pure numpy; disk is touched only by :func:`write_prior` and :func:`read_prior`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musiclatent.models.gaussian_mixture import (GaussianMixture, fit_mixture, monge_map,  # noqa: F401 (re-exported)
                                                 shrunk_covariance)
from musiclatent.models.latent_critic import LatentCritic, resample

PRIOR_WEIGHTS, PRIOR_META = "prior.safetensors", "prior.json"
PRIOR_VERSION = 1
REFERENCE_TEMPERATURE = 0.5   # the sampling temperature that draws from the fitted spread
CANDIDATES = 8                # critic: draws per kept sample
CRITIC_GOAL, CONSTRAIN_STEPS, CONSTRAIN_RATE = 0.95, 50, 0.5   # restyle: move until p(style | z) >= goal
@dataclass
class StylePrior:
    """One Gaussian mixture per model style; ``mixtures[0]`` (style "any") pools the others.

    styles : the model's style names, "any" first ; mixtures : style id -> GaussianMixture ;
    info : what it was fitted to (JSON-ready) ; critic, gamma, candidates : the latent constraint
    (none, or gamma 0: plain Gaussian draws).
    """

    styles: tuple[str, ...]
    mixtures: dict[int, GaussianMixture]
    info: dict = field(default_factory=dict)
    critic: LatentCritic | None = None
    gamma: float = 0.0
    candidates: int = CANDIDATES

    def describe(self) -> str:
        """One line: what samples draw z from."""
        kind = "a Gaussian" if all(gm.components == 1 for s, gm in self.mixtures.items() if s) else "a Gaussian mixture"
        critic = (f", latent critic gamma {self.gamma:g} over {self.candidates} draws"
                  if self.critic is not None and self.gamma > 0 else "")
        return f"style prior: {kind} per style over training latents{critic}"

    @staticmethod
    def spread(temperature: float) -> float:
        """tau for a sampling temperature: sqrt(T / 0.5), at most 1 (0 -> the component means)."""
        return float(min(1.0, np.sqrt(max(float(temperature), 0.0) / REFERENCE_TEMPERATURE)))

    def latents(self, n: int, style_id: int, temperature: float, rng: np.random.Generator) -> np.ndarray:
        """n latents of a style at a sampling temperature, through the critic when there is one: (n, Z) float32."""
        tau = self.spread(temperature)
        if self.critic is None or self.gamma <= 0 or int(style_id) not in self.mixtures or style_id == 0 or tau == 0:
            return self.sample(n, style_id, rng, tau)
        cand = self.sample(int(n) * self.candidates, style_id, rng, tau)
        return resample(cand, self.gamma * self.critic.log_probs(cand)[:, int(style_id) - 1], n, rng).astype(np.float32)

    def walk(self, z: np.ndarray, style_id: int, n: int, similarity: float, rng: np.random.Generator,
             spread: float = 1.0) -> np.ndarray:
        """AR(1) walk from each latent in its component's whitened frame: (m, Z) -> (n, m, Z) float32.

        w_{k+1} = s w_k + sqrt(1 - s^2) spread eps_k, so the walk keeps the style's Gaussian (its
        spread times ``spread``) as its stationary law.
        """
        w, comp = self.walk_frame(np.atleast_2d(z), style_id)
        s, out = float(similarity), []
        for _ in range(int(n)):
            w = s * w + np.sqrt(max(0.0, 1.0 - s * s)) * float(spread) * rng.standard_normal(w.shape)
            out.append(self.from_frame(w, comp, style_id))
        return np.asarray(out, np.float32).reshape(int(n), len(comp), w.shape[-1])

    def constrain(self, z: np.ndarray, style_id: int, goal: float = CRITIC_GOAL, steps: int = CONSTRAIN_STEPS,
                  rate: float = CONSTRAIN_RATE) -> np.ndarray:
        """Move latents until the critic gives the style at least ``goal``: (n, Z) -> (n, Z) float32.

        The latent constraint's actor, by gradient: steps along the gradient of log p(style | z),
        preconditioned by the style's covariance so they follow the directions its phrases vary in;
        a latent stops as soon as the critic accepts it. Without a critic the latents are returned as they are.
        """
        z = np.array(z, np.float64, ndmin=2)
        if self.critic is None or int(style_id) == 0:
            return z.astype(np.float32)
        gm = self.mixture(style_id)
        comp = gm.component_of(z)
        covs = {k: gm.chol[k] @ gm.chol[k].T for k in np.unique(comp)}
        for _ in range(int(steps)):
            active = np.exp(self.critic.log_probs(z)[:, int(style_id) - 1]) < goal
            if not active.any():
                break
            grad = self.critic.grad_log_prob(z[active], int(style_id) - 1)
            for k, cov in covs.items():
                m = comp[active] == k
                grad[m] = grad[m] @ cov
            z[active] += rate * grad
        return z.astype(np.float32)

    def guess_style(self, z: np.ndarray) -> np.ndarray:
        """The style each latent most likely belongs to (the critic's, else the likeliest mixture): (n, Z) -> (n,)."""
        ids = sorted(s for s in self.mixtures if s > 0)
        if self.critic is not None:
            return self.critic.log_probs(z).argmax(1).astype(np.int64) + 1
        ll = np.stack([self.mixtures[s].log_likelihood(z) for s in ids], 1)
        return np.asarray(ids, np.int64)[ll.argmax(1)]

    def transport(self, z: np.ndarray, source_ids: np.ndarray, target_id: int) -> np.ndarray:
        """Move latents from their source style's Gaussian to the target's: (n, Z), (n,) -> (n, Z) float32.

        The optimal-transport (Monge) map between two Gaussians, m_t + A (z - m_s) with
        A = S^-1/2 (S^1/2 C_t S^1/2)^1/2 S^-1/2 and S = C_s; with mixtures, between each latent's
        component and the target's component nearest the mean-shifted latent.
        """
        z = np.asarray(z, np.float64)
        out = z.copy()
        tgt = self.mixture(target_id)
        for sid in np.unique(source_ids):
            rows = np.flatnonzero(source_ids == sid)
            src = self.mixture(int(sid))
            ks = src.component_of(z[rows])
            for k in np.unique(ks):
                r = rows[ks == k]
                shifted = z[r] - src.means[k] + (tgt.weights[:, None] * tgt.means).sum(0)
                kt = np.bincount(tgt.component_of(shifted), minlength=tgt.components).argmax()
                a = monge_map(src.chol[k], tgt.chol[kt])
                out[r] = tgt.means[kt] + (z[r] - src.means[k]) @ a.T
        return out.astype(np.float32)

    def mixture(self, style_id: int) -> GaussianMixture:
        """The style's mixture; a style without training phrases falls back to the pooled one."""
        return self.mixtures.get(int(style_id), self.mixtures[0])

    def sample(self, n: int, style_id: int, rng: np.random.Generator, tau: float = 1.0) -> np.ndarray:
        """(n, Z) float32 latents of one style; tau scales the spread toward the component means."""
        return self.mixture(style_id).sample(n, rng, tau)

    def walk_frame(self, z: np.ndarray, style_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Whitened coordinates of latents and their components: (n, Z) -> (n, Z), (n,)."""
        gm = self.mixture(style_id)
        comp = gm.component_of(z)
        return gm.whiten(z, comp), comp

    def from_frame(self, w: np.ndarray, comp: np.ndarray, style_id: int) -> np.ndarray:
        """Back from whitened coordinates: (n, Z), (n,) -> (n, Z) float32."""
        return self.mixture(style_id).color(w, comp)


def pooled_mixture(mixtures: dict[int, GaussianMixture], counts: list[int]) -> GaussianMixture:
    """Style "any": every style's components, each style weighted by its phrase count."""
    total = float(sum(counts))
    parts = list(mixtures.values())
    return GaussianMixture(np.concatenate([gm.weights * c / total for gm, c in zip(parts, counts)]),
                           np.concatenate([gm.means for gm in parts]), np.concatenate([gm.chol for gm in parts]))


def fit_style_prior(latents: np.ndarray, style_ids: np.ndarray, styles: tuple[str, ...], components: int = 1,
                    seed: int = 0, info: dict | None = None, variances: np.ndarray | None = None) -> StylePrior:
    """Fit a :class:`StylePrior` to posterior means.

    Parameters
    ----------
    latents : np.ndarray, shape (n, Z), float
        Posterior means of training phrases, each encoded under its own style.
    style_ids : np.ndarray, shape (n,), int
        Model style id of each phrase (0 = "any" rows join only the pooled mixture).
    styles : tuple of str
        The model's style names, "any" first.
    components : int
        Mixture components per style, at most (fewer for styles with few phrases).
    variances : np.ndarray, shape (n, Z), optional
        Posterior variances of the phrases: each style's Gaussian then matches its aggregate
        posterior (means' covariance plus the mean posterior variance), not the means alone.
    """
    latents, style_ids = np.asarray(latents, np.float64), np.asarray(style_ids, np.int64)
    if len(latents) < 2:
        raise ValueError("a style prior needs at least two encoded phrases")
    rng = np.random.default_rng(seed)
    mixtures: dict[int, GaussianMixture] = {}
    counts = {}
    for sid in range(1, len(styles)):
        mask = style_ids == sid
        if mask.sum() >= 2:
            mixtures[sid] = fit_mixture(latents[mask], components, rng,
                                        variances=None if variances is None else np.asarray(variances)[mask])
            counts[styles[sid]] = int(mask.sum())
    if mixtures:
        mixtures[0] = pooled_mixture(mixtures, [counts[styles[s]] for s in mixtures])
    else:
        mixtures[0] = fit_mixture(latents, components, rng, variances=variances)
        counts[styles[0]] = int(len(latents))
    meta = {"version": PRIOR_VERSION, "components": int(components), "phrases": counts, "any_pooled": len(counts) > 0
            and styles[0] not in counts,
            "mixture_components": {styles[s]: gm.components for s, gm in sorted(mixtures.items())}, **(info or {})}
    return StylePrior(tuple(styles), mixtures, meta)


def write_prior(prior: StylePrior, folder: str | Path) -> Path:
    """Write ``prior.safetensors`` + ``prior.json`` into a model folder; returns the JSON path."""
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for sid, gm in prior.mixtures.items():
        if sid == 0 and prior.info.get("any_pooled"):
            continue   # rebuilt from the styles' mixtures and phrase counts when read
        name = prior.styles[sid]
        tensors[f"{name}.weights"] = torch.from_numpy(gm.weights.astype(np.float32))
        tensors[f"{name}.means"] = torch.from_numpy(gm.means.astype(np.float32))
        tensors[f"{name}.chol"] = torch.from_numpy(np.tril(gm.chol).astype(np.float32))
    if prior.critic is not None:
        tensors.update({f"critic.{k}": torch.from_numpy(v.astype(np.float32)) for k, v in prior.critic.arrays().items()})
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / PRIOR_WEIGHTS))
    path = folder / PRIOR_META
    meta = {"styles": list(prior.styles), "gamma": prior.gamma, "candidates": prior.candidates, "info": prior.info}
    path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return path


def read_prior(folder: str | Path) -> StylePrior | None:
    """The prior beside a model, or None when the folder has none."""
    from musiclatent.training.checkpoint import load_tensors

    folder = Path(folder)
    if not (folder / PRIOR_WEIGHTS).is_file() or not (folder / PRIOR_META).is_file():
        return None
    meta = json.loads((folder / PRIOR_META).read_text())
    styles = tuple(meta["styles"])
    arrays = {k: v.double().numpy() for k, v in load_tensors(folder / PRIOR_WEIGHTS).items()}
    mixtures = {sid: GaussianMixture(arrays[f"{name}.weights"], arrays[f"{name}.means"], arrays[f"{name}.chol"])
                for sid, name in enumerate(styles) if f"{name}.weights" in arrays}
    info = meta.get("info", {})
    if 0 not in mixtures and info.get("any_pooled") and len(mixtures) > 0:
        ids = sorted(mixtures)
        mixtures[0] = pooled_mixture({s: mixtures[s] for s in ids}, [info["phrases"][styles[s]] for s in ids])
    if 0 not in mixtures:
        raise ValueError(f"{folder / PRIOR_WEIGHTS} has no mixture for style {styles[0]!r}")
    critic = (LatentCritic(*(arrays[f"critic.{k}"] for k in ("w1", "b1", "w2", "b2")))
              if "critic.w1" in arrays else None)
    return StylePrior(styles, mixtures, info, critic, float(meta.get("gamma", 0.0)),
                      int(meta.get("candidates", CANDIDATES)))
