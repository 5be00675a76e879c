"""Drum evaluation: features computed by hand, and every section on a tiny dataset and model."""

import dataclasses

import numpy as np
import pytest
import torch

from musiclatent.data.dataset import PhraseSet
from musiclatent.evaluation.drums import DRUM_FEATURES, drum_features, drum_realism, evaluate_drums, format_drum_table
from musiclatent.evaluation.evaluate import EvalSettings

ROCK_BAR = np.array([1 + 4, 0, 4, 0, 2 + 4, 0, 4, 0, 1 + 4, 0, 4, 0, 2 + 4, 0, 4, 0])
FUNK_BAR = np.array([1 + 4, 0, 4, 1, 2 + 4, 0, 4, 1, 4, 1, 4, 0, 2 + 4, 0, 4, 2])


def test_features_of_a_rock_beat_by_hand():
    f = drum_features(np.tile(ROCK_BAR, 2)[None])
    assert set(f) == set(DRUM_FEATURES)
    assert f["hits_per_bar.kick"][0] == 2 and f["hits_per_bar.snare"][0] == 2
    assert f["hits_per_bar.closed_hi-hat"][0] == 8 and f["hits_per_bar.ride"][0] == 0
    assert f["hit_steps_per_bar"][0] == 8 and f["syncopation"][0] == pytest.approx(0.5)
    np.testing.assert_allclose(f["step_histogram"][0], np.tile([1, 0], 8) / 8)


def test_a_set_against_itself_overlaps_more_than_against_silence():
    rng = np.random.default_rng(0)
    real = np.stack([np.tile(ROCK_BAR if rng.random() < 0.5 else FUNK_BAR, 2) for _ in range(60)])
    same = drum_realism(real, real[::-1].copy())["overlap_area"]
    empty = drum_realism(real, np.zeros_like(real))["overlap_area"]
    assert same > 0.9 and empty < same


@pytest.fixture(scope="module")
def tiny():
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.models.builders import build_vae
    from musiclatent.presets import get_preset

    torch.manual_seed(0)
    cfg = dataclasses.replace(get_preset("debug-drums").model, styles=("any", "rock", "funk"))
    ml = MusicLatent(build_vae(cfg), name="debug drums")
    rng = np.random.default_rng(1)
    n = 180
    style = rng.integers(0, 2, n)
    tokens = np.stack([np.tile(ROCK_BAR if s == 0 else FUNK_BAR, 2) for s in style])
    tokens[:, rng.integers(0, 32, n)] ^= 8          # a few open hats here and there
    split = np.where(np.arange(n) % 3 == 0, 2, 0).astype(np.uint8)
    data = PhraseSet(tokens.astype(np.int16), style + 1, np.arange(n, dtype=np.int32), np.zeros(n, np.int32), split,
                     ("any", "rock", "funk"), {})
    return ml, data


def test_evaluate_drums_runs_every_section_on_the_test_split(tiny):
    ml, data = tiny
    settings = EvalSettings(split="auto", samples=30, pairs=6, interp_steps=4, style_samples=10, batch_size=64)
    res = evaluate_drums(ml, data, settings)
    assert res["data"]["split"] == "test" and res["data"]["phrases"] == 60
    assert 0 <= res["recon_accuracy_sampled"]["overall"] <= 1
    assert 0 <= res["realism"]["overlap_area"] <= 1 and set(res["realism"]["features"]) == set(DRUM_FEATURES)
    assert 0 <= res["interpolation"]["monotonicity"] <= 1
    assert set(res["style"]["real"]["per_style"]) == {"rock", "funk"}
    assert "conditioned / real" in format_drum_table(res)
