"""Gaussian mixtures with full covariances, fitted by EM (pure numpy).

The building block of :mod:`musiclatent.models.prior`: each style's latents get one. Covariances
are shrunk toward their diagonal (few points in many dimensions give a singular sample
covariance) and stored as lower Cholesky factors; :func:`monge_map` is the optimal-transport
map between two Gaussians.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def sqrtm(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric square root and its pseudo-inverse of a covariance: (Z, Z) -> (Z, Z), (Z, Z)."""
    w, v = np.linalg.eigh(c)
    w = np.maximum(w, 0.0)
    inv = np.where(w > 1e-10 * max(w.max(), 1e-300), 1.0 / np.sqrt(np.maximum(w, 1e-300)), 0.0)
    return (v * np.sqrt(w)) @ v.T, (v * inv) @ v.T


def monge_map(chol_s: np.ndarray, chol_t: np.ndarray) -> np.ndarray:
    """The linear part of the optimal-transport map N(., L_s L_s^T) -> N(., L_t L_t^T): (Z, Z)."""
    root, inv = sqrtm(chol_s @ chol_s.T)
    middle, _ = sqrtm(root @ (chol_t @ chol_t.T) @ root)
    return inv @ middle @ inv


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


def fit_mixture(z: np.ndarray, components: int, rng: np.random.Generator, iterations: int = EM_ITERATIONS,
                variances: np.ndarray | None = None) -> GaussianMixture:
    """EM for a Gaussian mixture with shrunk full covariances; (n, Z) -> GaussianMixture.

    The number of components is cut so that each has about ``MIN_PER_COMPONENT``
    points; one component is the plain (shrunk) Gaussian. Starts from k-means++
    seeds with hard assignments. ``variances`` (n, Z), the posterior variances of
    the points, are added to each component's diagonal (weighted by its
    responsibilities): the mixture then matches the aggregate posterior, a
    mixture of the phrases' posteriors, rather than their means alone.
    """
    z = np.asarray(z, np.float64)
    k = int(max(1, min(components, len(z) // MIN_PER_COMPONENT)))
    if k == 1:
        cov = shrunk_covariance(z) + (np.diag(np.mean(variances, 0)) if variances is not None else 0.0)
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
    if variances is not None:
        nk = resp.sum(0)
        extra = resp.T @ np.asarray(variances, np.float64) / nk[:, None]
        gm.chol = np.stack([np.linalg.cholesky(c @ c.T + np.diag(e)) for c, e in zip(gm.chol, extra)])
    return gm
