"""Style control on the debug preset: the fitted style prior moves a style classifier, and every
operation that takes a style uses it (sample, restyle, vary, continue, studio, fit-prior)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from musiclatent.data.dataset import load_dataset
from musiclatent.evaluation.feature_classifier import train_feature_classifier
from musiclatent.generation import studio
from musiclatent.generation.facade import MusicLatent
from musiclatent.models.prior import read_prior

N = 96   # samples per style


@pytest.fixture(scope="module")
def styled_model(tiny_dataset, tmp_path_factory):
    """The debug preset trained long enough to make notes (400 teacher-forced steps, 8 free bits; ~30 s),
    exported with its fitted style prior. The session's 40-step debug model writes almost no notes."""
    from musiclatent.training.loop import train
    from musiclatent.training.ship import export_model

    run, out = tmp_path_factory.mktemp("styled-run"), tmp_path_factory.mktemp("styled-model")
    train(tiny_dataset, "debug", run, max_steps=400, progress=False,
          overrides={"sampling_rate": 1e6, "lr": 1e-2, "free_bits": 8.0})
    export_model(run, tiny_dataset, out)
    return MusicLatent.from_checkpoint(out)


@pytest.fixture(scope="module")
def judge(tiny_dataset):
    """A feature classifier fitted on the tiny dataset's training split; predicts model style ids."""
    train = load_dataset(tiny_dataset).train()
    ids = sorted(set(train.style.tolist()))
    clf = train_feature_classifier(train.tokens, np.searchsorted(ids, train.style), tuple(map(str, ids)))
    return lambda tokens: np.asarray(ids)[clf.predict(tokens)]


def hits(judge, ml, style, seed=0) -> float:
    """Share of n samples asked for ``style`` (or unconditioned, None) that the judge calls each real style."""
    return {s: float((judge(ml.sample(N, style=style, temperature=0.5, seed=seed)) == s).mean())
            for s in range(1, len(ml.styles))}


def test_export_model_fits_a_prior_that_the_facade_loads(styled_model):
    folder = styled_model.folder
    prior = read_prior(folder)
    assert prior is not None and prior.styles == tuple(styled_model.styles)
    assert (folder / "prior.safetensors").is_file() and (folder / "prior.json").is_file()
    assert styled_model.prior is not None and styled_model.prior_description().startswith("style prior")
    assert set(prior.info["phrases"]) == set(styled_model.styles[1:]) and prior.critic is not None


def asked_hits(judge, ml) -> np.ndarray:
    """Per style: the share of samples asked for it that the judge calls it; (styles,)."""
    return np.asarray([hits(judge, ml, name)[sid] for sid, name in enumerate(ml.styles[1:], start=1)])


def test_conditioned_samples_move_a_style_classifier_more_than_unconditioned_samples(styled_model, judge):
    unconditioned = np.asarray(list(hits(judge, styled_model, None).values()))
    asked = asked_hits(judge, styled_model)
    # asking for a style makes the judge hear it more often than in unconditioned samples, for every style
    assert (asked > unconditioned).all(), (asked, unconditioned)
    assert asked.mean() > unconditioned.mean() + 0.3, (asked, unconditioned)


def test_the_prior_beats_n01_with_the_style_label_alone(styled_model, judge):
    plain = MusicLatent(styled_model.model, styled_model.extras, name="no prior")
    assert plain.prior is None and plain.prior_description() == "N(0, I)"
    with_prior, label_only = asked_hits(judge, styled_model), asked_hits(judge, plain)
    assert with_prior.mean() > label_only.mean(), (with_prior, label_only)


def test_temperature_zero_is_the_styles_most_typical_phrase(styled_model):
    out = styled_model.sample(5, style=styled_model.styles[1], temperature=0.0, seed=3)
    assert (out == out[0]).all()   # one Gaussian per style: every draw is its mean, decoded by argmax
    assert len({r.tobytes() for r in styled_model.sample(8, style=styled_model.styles[1], temperature=1.0, seed=3)}) > 1


def test_restyle_moves_the_judges_verdict_toward_the_target(styled_model, judge, tiny_dataset):
    data = load_dataset(tiny_dataset)
    toks = data.tokens.astype(np.int64)
    for target in range(1, len(styled_model.styles)):
        rows = data.style != target
        out = styled_model.restyle(toks[rows], target, 1.0, source_style=None)
        before = (judge(toks[rows]) == target).mean()
        assert (judge(out) == target).mean() > before + 0.3, styled_model.styles[target]
    np.testing.assert_array_equal(styled_model.restyle(toks[:4], 1, 0.0),
                                  styled_model.decode(styled_model.encode(toks[:4])))


def test_walks_settle_in_the_asked_styles_gaussian(styled_model):
    ml, rng = styled_model, np.random.default_rng(0)
    start = ml.prior_latents(8, ml.styles[1], 0.5, rng)
    means = {sid: ml.prior.mixture(sid).means[0] for sid in range(1, len(ml.styles))}
    for sid, name in enumerate(ml.styles[1:], start=1):
        late = ml.walk_latents(start, 300, 0.5, name, rng)[100:].reshape(-1, ml.z_dim).mean(0)
        dist = {s: np.linalg.norm(late - m) for s, m in means.items()}
        assert min(dist, key=dist.get) == sid, (name, dist)   # the walk's law is the asked style's Gaussian
    # the facade's walks: similarity 1 repeats the phrase; continuation has one phrase per step
    phrases = ml.sample(3, style=ml.styles[2], seed=5)
    same = ml.variations(phrases, n=2, similarity=1.0, style=ml.styles[1], seed=0)
    np.testing.assert_array_equal(same[0], same[1])
    np.testing.assert_array_equal(same[0], ml.decode(ml.encode(phrases), ml.styles[1]))
    assert ml.continuation(phrases, n=5, similarity=0.7, style=ml.styles[3], seed=0).shape == (5, ml.steps)


def test_studio_chains_and_fit_prior_command(styled_model, debug_model_dir, tiny_dataset, tmp_path):
    from musiclatent.cli.main import main

    res = studio.sample(styled_model, n=2, bars=3 * styled_model.bars, style=styled_model.styles[2], seed=4)
    assert all(v.shape == (1, 3 * styled_model.steps) for v in res.segments.values())
    folder = tmp_path / "model"
    shutil.copytree(debug_model_dir, folder)
    assert MusicLatent.from_checkpoint(folder).prior is None   # exported without one: N(0, I)
    assert main(["fit-prior", str(folder), "--data", str(tiny_dataset), "--gamma", "0"]) == 0
    refit = MusicLatent.from_checkpoint(folder)
    assert refit.prior is not None and refit.prior.critic is None
