"""Metric functions on hand-made cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musiclatent.evaluation import metrics
from musiclatent.constants import HOLD, NOTE_ON_OFFSET, REST


def note(p: int) -> int:
    return NOTE_ON_OFFSET + p


# two 8-step phrases: C4 quarter, E4 eighth, rest eighth / G4 half then hold
TARGET = np.array([
    [note(60), HOLD, HOLD, HOLD, note(64), HOLD, REST, HOLD],
    [note(67), HOLD, HOLD, HOLD, HOLD, HOLD, HOLD, HOLD],
])


# --------------------------------------------------------------------------- accuracy

def test_perfect_decoder_has_accuracy_one():
    assert metrics.token_accuracy(TARGET, TARGET) == 1.0
    assert metrics.token_accuracy(TARGET, TARGET, notes_only=True) == 1.0


def test_constant_decoder_scores_the_share_of_its_token():
    pred = np.full_like(TARGET, HOLD)
    holds = (TARGET == HOLD).sum()                       # 5 + 7 = 12 of 16 steps
    assert metrics.token_accuracy(pred, TARGET) == pytest.approx(holds / TARGET.size) == pytest.approx(12 / 16)
    assert metrics.token_accuracy(pred, TARGET, notes_only=True) == 0.0
    correct, counted = metrics.row_correct(pred, TARGET)
    assert correct.tolist() == [5, 7] and counted.tolist() == [8, 8]
    correct, counted = metrics.row_correct(pred, TARGET, notes_only=True)
    assert correct.tolist() == [0, 0] and counted.tolist() == [2, 1]


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        metrics.row_correct(TARGET[:, :4], TARGET)


def test_pooled_by_group_pools_steps_not_phrases():
    correct, counted = np.array([1, 3, 2]), np.array([2, 4, 0])
    out = metrics.pooled_by_group(correct, counted, np.array([1, 1, 2]), {1: "a", 2: "b", 3: "c"})
    assert out == {"a": pytest.approx(4 / 6)}            # "b" counted nothing, "c" is absent


def test_balanced_accuracy_is_mean_recall():
    target = np.array([0, 0, 0, 0, 1, 1])
    pred = np.array([0, 0, 0, 0, 0, 1])
    assert metrics.balanced_accuracy(pred, target) == pytest.approx((1.0 + 0.5) / 2)


# --------------------------------------------------------------------------- features

def test_phrase_features_by_hand():
    f = metrics.phrase_features(TARGET)
    # phrase 0: C4 (4 steps), E4 (2 steps, ends at the rest); phrase 1: G4 (8 steps)
    assert f["note_count"].tolist() == [2, 1]
    assert f["pitch_count"].tolist() == [2, 1]
    assert f["pitch_range"].tolist() == [4, 0]
    assert f["avg_pitch_interval"].tolist() == [4, 0]
    assert f["avg_ioi"].tolist() == [4, 0]
    pch = np.zeros((2, 12))
    pch[0, 0] = pch[0, 4] = 0.5
    pch[1, 7] = 1.0
    np.testing.assert_allclose(f["pitch_class_histogram"], pch)
    classes = list(metrics.NOTE_LENGTH_CLASSES)
    nlh = np.zeros((2, len(classes)))
    nlh[0, classes.index(4)] = nlh[0, classes.index(2)] = 0.5
    nlh[1, classes.index(8)] = 1.0
    np.testing.assert_allclose(f["note_length_histogram"], nlh)


def test_phrase_features_of_silence_are_zero():
    f = metrics.phrase_features(np.zeros((1, 16), np.int64))
    assert all(np.all(v == 0) for v in f.values())


def test_distances_count_and_values():
    x = np.array([0.0, 1.0, 3.0])
    np.testing.assert_allclose(np.sort(metrics.intra_set_distances(x)), [1, 2, 3])
    np.testing.assert_allclose(np.sort(metrics.inter_set_distances(x, np.array([1.0, 5.0]))), [0, 1, 2, 2, 4, 5])
    hist = np.array([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(metrics.intra_set_distances(hist), [math.sqrt(2)])
    assert len(metrics.intra_set_distances(np.arange(10.0), max_pairs=7)) == 7


# --------------------------------------------------------------------------- KDE, overlap, KL

def test_kde_on_grid_matches_the_exact_sum_of_gaussians():
    x = np.array([0.0, 0.3, 2.0])
    grid = np.linspace(-3, 5, 2001)
    bw = 0.5
    exact = np.exp(-0.5 * ((grid[:, None] - x[None]) / bw) ** 2).sum(1) / (len(x) * bw * math.sqrt(2 * math.pi))
    approx = metrics.kde_on_grid(x, grid, bw)
    assert approx.sum() * (grid[1] - grid[0]) == pytest.approx(1.0)
    np.testing.assert_allclose(approx, exact, atol=2e-3)


@pytest.mark.parametrize("shift, expect_overlap", [(0.0, 1.0), (1.0, 0.617), (100.0, 0.0)],
                         ids=["identical", "one-sigma-apart", "disjoint"])
def test_overlap_area_of_gaussian_samples(shift, expect_overlap):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20000)
    y = x + shift                        # the same shape, moved: analytic overlap 2 * Phi(-shift / 2)
    out = metrics.compare_distributions(x, y)
    assert out["overlap_area"] == pytest.approx(expect_overlap, abs=0.02)
    # equal-variance Gaussians: KL = shift^2 / 2 (a little less after KDE smoothing)
    if shift == 0.0:
        assert out["kl"] == pytest.approx(0.0, abs=1e-9)
    elif shift == 1.0:
        assert out["kl"] == pytest.approx(0.5, abs=0.05)
    else:
        assert out["kl"] > 10


def test_overlap_uses_one_grid_so_it_is_symmetric():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(300), 3.0 * rng.standard_normal(500) + 1.0
    a, b = metrics.compare_distributions(x, y), metrics.compare_distributions(y, x)
    assert a["overlap_area"] == pytest.approx(b["overlap_area"], abs=1e-12)
    assert a["kl"] != pytest.approx(b["kl"])      # KL is not symmetric, overlap is


def test_point_masses_overlap_fully_or_not_at_all():
    zeros = np.zeros(50)
    assert metrics.compare_distributions(zeros, zeros)["overlap_area"] == pytest.approx(1.0)
    assert metrics.compare_distributions(zeros, zeros + 10)["overlap_area"] < 1e-6


def _phrases(rng, n, pitches, length, steps=32):
    """n phrases of notes of one length, pitches drawn from ``pitches``, the first two pitches forced."""
    out = np.zeros((n, steps), np.int64)
    for row in out:
        ps = rng.choice(pitches, steps // length)
        ps[:2] = pitches[0], pitches[-1]
        row[::length] = NOTE_ON_OFFSET + ps
    return out


def test_realism_of_identical_sets_is_near_one():
    rng = np.random.default_rng(0)
    real = np.concatenate([_phrases(rng, 40, np.arange(55, 80), 2), _phrases(rng, 40, np.arange(60, 70), 4)])
    res = metrics.realism_metrics(real, real.copy())
    for name, v in res.items():
        assert v["overlap_area"] > 0.95, name
        assert v["overlap_area_generated"] > 0.95, name
        assert v["kl"] < 0.05, name


def test_realism_of_disjoint_feature_ranges_is_near_zero():
    rng = np.random.default_rng(0)
    low_long = _phrases(rng, 60, np.arange(40, 45), 8)     # 4 notes, range 4, IOI 8
    high_short = _phrases(rng, 60, np.arange(60, 91), 2)   # 16 notes, range 30, IOI 2
    res = metrics.realism_metrics(low_long, high_short)
    for name in ("note_count", "pitch_range", "avg_ioi", "note_length_histogram"):
        assert res[name]["overlap_area"] < 0.05, name
        assert res[name]["overlap_area_generated"] < 0.05, name


# --------------------------------------------------------------------------- interpolation

def _monotone_path(a, b):
    """Switch one more step from A to B at each point: (T + 1, 1, T)."""
    t = a.shape[-1]
    return np.stack([np.concatenate([b[:k], a[k:]])[None] for k in range(t + 1)])


def test_monotone_path_scores_perfectly():
    a, b = np.zeros(8, np.int64), np.full(8, note(60))
    res = metrics.interpolation_metrics(_monotone_path(a, b), a[None])
    assert res["monotonicity"] == 1.0
    assert res["linearity_error"] == pytest.approx(0.0)
    assert res["max_jump"] == pytest.approx(1 / 8) == res["max_jump_worst"]


def test_back_and_forth_path():
    a, b = np.zeros((1, 4), np.int64), np.full((1, 4), note(60))
    res = metrics.interpolation_metrics(np.stack([a, b, a]), a)
    assert res["monotonicity"] == 0.5                     # up, then down
    assert res["max_jump"] == 1.0
    assert math.isnan(res["linearity_error"])             # the path ends on A: no scale


def test_linearity_error_by_hand():
    a = np.zeros((1, 4), np.int64)
    # distances to A: 0, 3/4, 3/4, 1 -> ratios 0, .75, .75, 1 vs 0, 1/3, 2/3, 1
    path = np.stack([a, [[9, 9, 9, 0]], [[9, 9, 9, 0]], [[9, 9, 9, 9]]])
    res = metrics.interpolation_metrics(path, a)
    assert res["linearity_error"] == pytest.approx((0 + (0.75 - 1 / 3) + (0.75 - 2 / 3) + 0) / 4)
    assert res["monotonicity"] == 1.0


def test_interpolation_metrics_check_shapes():
    with pytest.raises(ValueError):
        metrics.interpolation_metrics(np.zeros((1, 2, 4), np.int64), np.zeros((2, 4), np.int64))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_data_space_paths_run_from_a_to_b_monotonically(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 130, (5, 32)), rng.integers(0, 130, (5, 32))
    path = metrics.data_space_paths(a, b, 9, rng)
    assert path.shape == (9, 5, 32)
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)
    assert metrics.interpolation_metrics(path, a)["monotonicity"] == 1.0


# --------------------------------------------------------------------------- latent use

def test_active_dims_counts_varying_means():
    rng = np.random.default_rng(0)
    mu = np.stack([np.zeros(5000), 0.05 * rng.standard_normal(5000),    # variance 0.0025: inactive
                   rng.standard_normal(5000), 2 * rng.standard_normal(5000)], axis=1)
    assert metrics.active_dims(mu) == 2
    assert metrics.active_dims(mu[:1]) == 0
