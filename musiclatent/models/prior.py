"""Per-style priors over the latent space, fitted to the aggregate posterior.

A free-bits VAE writes a phrase's style into z, so a draw from N(0, I) lands
in some style's region whatever style the decoder is told. A style prior puts
z where that style's training phrases put it: for each style, a Gaussian
mixture fitted (EM, full covariances shrunk toward their diagonal) to the
posterior means of the style's training phrases, encoded under that style.
Style "any" gets the mixture of every style's components, weighted by phrase
count.

Temperature tau scales each component's spread toward its mean, z = m_k +
tau L_k eps, so tau = 0 gives the component means (the most typical latents)
and tau = 1 the fitted spread. Walks (variations, continuation) move in the
whitened coordinates of a latent's component, w = L_k^{-1} (z - m_k), so they
stay inside the style's region.

A prior travels beside a model as ``prior.safetensors`` (``<style>.weights``
(K,), ``<style>.means`` (K, Z), ``<style>.chol`` (K, Z, Z) lower-triangular
Cholesky factors of the covariances) and ``prior.json`` (styles, what it was
fitted to); never a pickle. A model without one uses N(0, I).

Pure numpy; disk is touched only by :func:`write_prior` and :func:`read_prior`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PRIOR_WEIGHTS, PRIOR_META = "prior.safetensors", "prior.json"
PRIOR_VERSION = 1
MIN_PER_COMPONENT = 64        # phrases per mixture component, at least
EM_ITERATIONS = 60


@dataclass
class GaussianMixture:
    """weights (K,), means (K, Z), chol (K, Z, Z): lower Cholesky factors of the covariances."""

    weights: np.ndarray
    means: np.ndarray
    chol: np.ndarray

    @property
    def components(self) -> int:
        return len(self.weights)

    def log_density(self, z: np.ndarray) -> np.ndarray:
        """Log density of each component at each point: (n, Z) -> (n, K)."""
        z = np.asarray(z, np.float64)
        out = np.empty((len(z), self.components))
        for k in range(self.components):
            sol = np.linalg.solve(self.chol[k], (z - self.means[k]).T)            # (Z, n)
            logdet = 2.0 * np.log(np.abs(np.diag(self.chol[k]))).sum()
            out[:, k] = -0.5 * ((sol ** 2).sum(0) + logdet + z.shape[1] * np.log(2 * np.pi))
        return out

    def log_likelihood(self, z: np.ndarray) -> np.ndarray:
        """log p(z) of each point under the mixture: (n, Z) -> (n,)."""
        return _logsumexp(self.log_density(z) + np.log(np.maximum(self.weights, 1e-300)), 1)

    def component_of(self, z: np.ndarray) -> np.ndarray:
        """The most responsible component of each point: (n, Z) -> (n,) int64."""
        return (self.log_density(z) + np.log(np.maximum(self.weights, 1e-300))).argmax(1).astype(np.int64)

    def sample(self, n: int, rng: np.random.Generator, tau: float = 1.0) -> np.ndarray:
        """n draws with each component's spread scaled by tau: (n, Z) float32."""
        comp = rng.choice(self.components, int(n), p=self.weights / self.weights.sum())
        eps = rng.standard_normal((int(n), self.means.shape[1]))
        return self.color(eps * float(tau), comp)

    def whiten(self, z: np.ndarray, comp: np.ndarray) -> np.ndarray:
        """w = L_k^{-1} (z - m_k) per row: (n, Z), (n,) -> (n, Z) float64."""
        z = np.asarray(z, np.float64)
        out = np.empty_like(z)
        for k in np.unique(comp):
            m = comp == k
            out[m] = np.linalg.solve(self.chol[k], (z[m] - self.means[k]).T).T
        return out

    def color(self, w: np.ndarray, comp: np.ndarray) -> np.ndarray:
        """z = m_k + L_k w per row: (n, Z), (n,) -> (n, Z) float32."""
        w = np.asarray(w, np.float64)
        out = np.empty_like(w)
        for k in np.unique(comp):
            m = comp == k
            out[m] = self.means[k] + w[m] @ self.chol[k].T
        return out.astype(np.float32)


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis, keepdims=True))).squeeze(axis)


def shrunk_covariance(z: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted covariance shrunk toward its diagonal by Z / (Z + n_eff): (n, Z), (n,) -> (Z, Z).

    Few points in many dimensions give a singular sample covariance; the
    shrinkage keeps it invertible and fades as points accumulate.
    """
    z = np.asarray(z, np.float64)
    w = np.ones(len(z)) if weights is None else np.asarray(weights, np.float64)
    total = max(w.sum(), 1e-9)
    mean = (w[:, None] * z).sum(0) / total
    d = z - mean
    cov = (w[:, None] * d).T @ d / total
    n_eff = total ** 2 / max((w ** 2).sum(), 1e-9)
    a = z.shape[1] / (z.shape[1] + n_eff)
    diag = np.diag(np.maximum(np.diag(cov), 1e-6))
    return (1.0 - a) * cov + a * diag + 1e-6 * np.eye(z.shape[1])


def fit_mixture(z: np.ndarray, components: int, rng: np.random.Generator,
                iterations: int = EM_ITERATIONS) -> GaussianMixture:
    """EM for a Gaussian mixture with shrunk full covariances; (n, Z) -> GaussianMixture.

    The number of components is cut so that each has about ``MIN_PER_COMPONENT``
    points; one component is the plain (shrunk) Gaussian. Starts from k-means++
    seeds with hard assignments.
    """
    z = np.asarray(z, np.float64)
    k = int(max(1, min(components, len(z) // MIN_PER_COMPONENT)))
    if k == 1:
        cov = shrunk_covariance(z)
        return GaussianMixture(np.ones(1), z.mean(0, keepdims=True), np.linalg.cholesky(cov)[None])
    centres = [z[rng.integers(len(z))]]
    for _ in range(k - 1):   # k-means++ seeding
        d2 = np.min([((z - c) ** 2).sum(1) for c in centres], 0)
        centres.append(z[rng.choice(len(z), p=d2 / d2.sum())])
    assign = np.argmin([((z - c) ** 2).sum(1) for c in centres], 0)
    resp = np.eye(k)[assign]
    gm = None
    for _ in range(int(iterations)):
        nk = resp.sum(0)
        keep = nk > 1e-6
        resp, nk = resp[:, keep], nk[keep]
        means = resp.T @ z / nk[:, None]
        chol = np.stack([np.linalg.cholesky(shrunk_covariance(z, resp[:, j])) for j in range(len(nk))])
        gm = GaussianMixture(nk / nk.sum(), means, chol)
        logp = gm.log_density(z) + np.log(gm.weights)
        new = np.exp(logp - _logsumexp(logp, 1)[:, None])
        if np.abs(new - resp).max() < 1e-4:
            break
        resp = new
    return gm


@dataclass
class StylePrior:
    """One Gaussian mixture per model style; ``mixtures[0]`` (style "any") pools the others.

    styles : the model's style names, "any" first ; mixtures : style id -> GaussianMixture ;
    info : what it was fitted to (JSON-ready).
    """

    styles: tuple[str, ...]
    mixtures: dict[int, GaussianMixture]
    info: dict = field(default_factory=dict)

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


def fit_style_prior(latents: np.ndarray, style_ids: np.ndarray, styles: tuple[str, ...], components: int = 1,
                    seed: int = 0, info: dict | None = None) -> StylePrior:
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
    """
    latents, style_ids = np.asarray(latents, np.float64), np.asarray(style_ids, np.int64)
    if len(latents) < 2:
        raise ValueError("a style prior needs at least two encoded phrases")
    rng = np.random.default_rng(seed)
    mixtures: dict[int, GaussianMixture] = {}
    counts = {}
    for sid in range(1, len(styles)):
        rows = latents[style_ids == sid]
        if len(rows) >= 2:
            mixtures[sid] = fit_mixture(rows, components, rng)
            counts[styles[sid]] = int(len(rows))
    if mixtures:
        total = sum(counts.values())
        parts = [(styles[s], gm) for s, gm in mixtures.items()]
        mixtures[0] = GaussianMixture(
            np.concatenate([gm.weights * counts[name] / total for name, gm in parts]),
            np.concatenate([gm.means for _, gm in parts]), np.concatenate([gm.chol for _, gm in parts]))
    else:
        mixtures[0] = fit_mixture(latents, components, rng)
        counts[styles[0]] = int(len(latents))
    meta = {"version": PRIOR_VERSION, "components": int(components), "phrases": counts,
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
        name = prior.styles[sid]
        tensors[f"{name}.weights"] = torch.from_numpy(gm.weights.astype(np.float32))
        tensors[f"{name}.means"] = torch.from_numpy(gm.means.astype(np.float32))
        tensors[f"{name}.chol"] = torch.from_numpy(np.tril(gm.chol).astype(np.float32))
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / PRIOR_WEIGHTS))
    path = folder / PRIOR_META
    path.write_text(json.dumps({"styles": list(prior.styles), "info": prior.info}, indent=2, sort_keys=True) + "\n")
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
    if 0 not in mixtures:
        raise ValueError(f"{folder / PRIOR_WEIGHTS} has no mixture for style {styles[0]!r}")
    return StylePrior(styles, mixtures, meta.get("info", {}))
