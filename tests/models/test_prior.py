"""Per-style latent priors: fitting, sampling, temperature, walks and the safetensors round trip."""

from __future__ import annotations

import numpy as np
import pytest

from musiclatent.models.prior import (GaussianMixture, fit_mixture, fit_style_prior, read_prior, shrunk_covariance,
                                      write_prior)

STYLES = ("any", "reels", "airs")


def two_styles(n=600, z=4, seed=0):
    """Style 1 around +3 with a correlated pair of dims, style 2 around -3; (2n, z), (2n,)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, z)) * 0.5 + 3.0
    a[:, 1] = a[:, 0] + 0.1 * rng.standard_normal(n)
    b = rng.standard_normal((n, z)) * 0.5 - 3.0
    return np.concatenate([a, b]), np.repeat([1, 2], n)


def test_shrunk_covariance_is_invertible_with_fewer_points_than_dims():
    z = np.random.default_rng(0).standard_normal((5, 20))
    cov = shrunk_covariance(z)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    np.testing.assert_allclose(cov, cov.T)


def test_a_style_prior_samples_where_its_style_lives():
    z, s = two_styles()
    prior = fit_style_prior(z, s, STYLES, components=1)
    rng = np.random.default_rng(1)
    reels, airs = prior.sample(2000, 1, rng), prior.sample(2000, 2, rng)
    np.testing.assert_allclose(reels.mean(0), z[s == 1].mean(0), atol=0.1)
    np.testing.assert_allclose(airs.mean(0), z[s == 2].mean(0), atol=0.1)
    np.testing.assert_allclose(np.cov(reels.T), np.cov(z[s == 1].T), atol=0.1)
    # "any" pools both styles, half each
    pooled = prior.sample(4000, 0, rng)
    assert 0.45 < (pooled[:, 0] > 0).mean() < 0.55
    assert prior.info["phrases"] == {"reels": 600, "airs": 600}


def test_temperature_zero_gives_the_component_means_and_scales_the_spread():
    z, s = two_styles()
    prior = fit_style_prior(z, s, STYLES, components=1)
    rng = np.random.default_rng(2)
    np.testing.assert_allclose(prior.sample(3, 1, rng, tau=0.0), np.repeat(prior.mixture(1).means, 3, 0), atol=1e-5)
    full, half = prior.sample(4000, 2, rng, tau=1.0), prior.sample(4000, 2, rng, tau=0.5)
    assert half.std(0).mean() == pytest.approx(0.5 * full.std(0).mean(), rel=0.1)


def test_mixture_finds_two_clusters_and_is_capped_by_points_per_component():
    z, _ = two_styles()
    gm = fit_mixture(z, 2, np.random.default_rng(0))
    assert gm.components == 2
    np.testing.assert_allclose(np.sort(gm.means[:, 0]), [-3.0, 3.0], atol=0.1)
    assert fit_mixture(z[:100], 8, np.random.default_rng(0)).components == 1   # 100 points: one component
    # the fitted mixture explains the data better than one Gaussian
    one = fit_mixture(z, 1, np.random.default_rng(0))
    assert gm.log_likelihood(z).mean() > one.log_likelihood(z).mean() + 1.0


def test_whiten_and_color_are_inverse():
    z, s = two_styles()
    prior = fit_style_prior(z, s, STYLES, components=2)
    w, comp = prior.walk_frame(z[:50], 0)
    np.testing.assert_allclose(prior.from_frame(w, comp, 0), z[:50], atol=1e-4)


def test_prior_round_trips_through_safetensors_and_json(tmp_path):
    z, s = two_styles()
    prior = fit_style_prior(z, s, STYLES, components=2, info={"encoded_under": "any"})
    write_prior(prior, tmp_path)
    back = read_prior(tmp_path)
    assert back.styles == STYLES and back.info["encoded_under"] == "any"
    for sid in range(3):
        a, b = prior.mixture(sid), back.mixture(sid)
        np.testing.assert_allclose(a.means, b.means, atol=1e-5)
        np.testing.assert_allclose(a.chol, b.chol, atol=1e-5)
    assert read_prior(tmp_path / "missing") is None
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.pt"))


def test_a_style_without_phrases_falls_back_to_the_pooled_mixture():
    z, s = two_styles()
    prior = fit_style_prior(z[s == 1], s[s == 1], STYLES)
    assert prior.mixture(2) is prior.mixture(0)
    assert isinstance(prior.mixture(1), GaussianMixture)
