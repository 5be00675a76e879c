"""Typicality scored by a model folder's density-trained twin (``MODEL/scorer``)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from musiclatent.latent import index as latent
from musiclatent.training.checkpoint import CheckpointError
from musiclatent.generation.facade import MusicLatent


def _with_scorer(model_dir, folder, scale: float = 1.5):
    """A copy of ``model_dir`` whose ``scorer/`` is the same model with the output layer rescaled."""
    shutil.copytree(model_dir, folder)
    shutil.copytree(model_dir, folder / "scorer")
    weights = load_file(str(folder / "scorer" / "model.safetensors"))
    weights["decoder.core.out.weight"] = weights["decoder.core.out.weight"] * scale
    save_file(weights, str(folder / "scorer" / "model.safetensors"))
    return folder


@pytest.fixture(scope="module")
def scored_model(debug_model_dir, tmp_path_factory):
    return MusicLatent.from_checkpoint(_with_scorer(debug_model_dir, tmp_path_factory.mktemp("scored") / "m"))


def test_scorer_twin_is_loaded_and_scores_the_index(scored_model, debug_model, tiny_dataset):
    scorer = scored_model.scorer
    assert scorer is not scored_model and scorer is scored_model.scorer   # loaded once
    assert scorer.steps == scored_model.steps and scorer.styles == scored_model.styles
    corpus = latent.read_corpus_dataset(tiny_dataset)
    index = latent.build_index(scored_model, corpus)
    own = latent.batched_scores(scored_model, corpus.tokens, "any")
    twin = latent.batched_scores(scorer, corpus.tokens, "any")
    assert not np.allclose(own, twin)
    np.testing.assert_allclose(index.score_any, twin, rtol=1e-5)
    plain = latent.build_index(debug_model, corpus)        # the same generator, no scorer
    np.testing.assert_array_equal(index.latents, plain.latents)    # map and search still use its latents
    np.testing.assert_allclose(plain.score_any, own, rtol=1e-5)
    assert index.meta["score_model"] == "scorer"
    assert index.meta["score_model_fingerprint"] == latent.model_fingerprint(scorer) != index.meta["model_fingerprint"]
    scores, rel, _ = latent.typicality_parts(scored_model, corpus.tokens[:8], index=index)
    np.testing.assert_allclose(scores, twin[:8], rtol=1e-5)


def test_a_model_without_scorer_scores_itself(debug_model):
    assert debug_model.scorer is debug_model
    assert latent.scoring_model(debug_model) is debug_model


def test_index_scored_by_another_model_is_refused(scored_model, debug_model, tiny_dataset):
    plain = latent.build_index(debug_model, latent.read_corpus_dataset(tiny_dataset))
    assert plain.meta["score_model"] == "model"
    with pytest.raises(ValueError, match="another scoring model"):
        latent.typicality_parts(scored_model, plain.tokens[:4], index=plain)


def test_scorer_for_other_styles_is_refused(debug_model_dir, tmp_path):
    folder = _with_scorer(debug_model_dir, tmp_path / "m")
    cfg_path = folder / "scorer" / "config.json"
    config = json.loads(cfg_path.read_text())
    config["model"]["styles"][1] = "polka"
    cfg_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="styles"):
        MusicLatent.from_checkpoint(folder).scorer


def test_a_scorer_of_its_own_shape_is_used(debug_model_dir, tmp_path):
    """Like melody-16bar-scorer: same steps and styles, another decoder width (random weights here)."""
    import dataclasses

    import torch

    from musiclatent.training.checkpoint import model_config_from
    from musiclatent.models.builders import build_vae

    folder = tmp_path / "m"
    shutil.copytree(debug_model_dir, folder)
    shutil.copytree(debug_model_dir, folder / "scorer")
    config = json.loads((folder / "scorer" / "config.json").read_text())
    mc = dataclasses.replace(model_config_from(config), dec_hidden=24, dropout=0.3)
    config["model"] = mc.to_dict()
    (folder / "scorer" / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    save_file({k: v.half().contiguous() for k, v in build_vae(mc).state_dict().items()},
              str(folder / "scorer" / "model.safetensors"))
    ml = MusicLatent.from_checkpoint(folder)
    assert ml.scorer.cfg.dec_hidden == 24 != ml.cfg.dec_hidden
    tokens = np.zeros((3, ml.steps), np.int64)
    tokens[:, ::4] = 62
    np.testing.assert_allclose(latent.batched_scores(latent.scoring_model(ml), tokens, "any"),
                               ml.scorer.score(tokens, "any"), rtol=1e-6)
    assert not np.allclose(ml.scorer.score(tokens, "any"), ml.score(tokens, "any"))


def _with_chord_scorer(model_dir, folder):
    """A copy of ``model_dir`` whose ``scorer/`` hears chords (random weights, the chord-tone head on)."""
    import dataclasses

    import torch

    from musiclatent.models.builders import build_vae
    from musiclatent.training.checkpoint import model_config_from

    shutil.copytree(model_dir, folder)
    shutil.copytree(model_dir, folder / "scorer")
    config = json.loads((folder / "scorer" / "config.json").read_text())
    mc = dataclasses.replace(model_config_from(config), chord_dim=4, chord_tones=True)
    config["model"] = mc.to_dict()
    (folder / "scorer" / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    state = {k: (v + 0.5 if "tone" in k else v) for k, v in build_vae(mc).state_dict().items()}  # head not at zero
    save_file({k: v.half().contiguous() for k, v in state.items()}, str(folder / "scorer" / "model.safetensors"))
    return folder


def test_a_chord_scorer_scores_phrases_over_their_chords(debug_model_dir, song_folder, tmp_path):
    ml = MusicLatent.from_checkpoint(_with_chord_scorer(debug_model_dir, tmp_path / "m"))
    scorer = latent.scoring_model(ml)
    assert scorer.takes_chords and not ml.takes_chords
    corpus = latent.read_corpus_files([song_folder], ml.steps, ml.bars, chords=True)
    assert corpus.chords is not None and corpus.chords.shape == (len(corpus), ml.steps // 8)
    assert (corpus.chords > 0).mean() > 0.9                       # every song has a chord track
    assert latent.read_corpus_files([song_folder], ml.steps, ml.bars).chords is None
    heard = latent.batched_scores(scorer, corpus.tokens, "any", chords=corpus.chords)
    bare = latent.batched_scores(scorer, corpus.tokens, "any")
    assert not np.allclose(heard, bare)
    index = latent.build_index(ml, corpus)
    np.testing.assert_array_equal(index.chords, corpus.chords)
    np.testing.assert_allclose(index.score_any, heard, rtol=1e-5)
    back = latent.read_index(latent.write_index(index, tmp_path / "index"))
    np.testing.assert_array_equal(back.chords, corpus.chords)
    scores, _, _ = latent.typicality_parts(ml, corpus.tokens[:6], index=back, chords=corpus.chords[:6])
    np.testing.assert_allclose(scores, heard[:6], rtol=1e-5)
    scores, _, _ = latent.typicality_parts(ml, corpus.tokens[:6], index=back)
    np.testing.assert_allclose(scores, bare[:6], rtol=1e-5)


def test_an_index_of_a_chordless_scorer_keeps_no_chords(debug_model, song_folder, tmp_path):
    corpus = latent.read_corpus_files([song_folder], debug_model.steps, debug_model.bars, chords=True)
    index = latent.build_index(debug_model, corpus)
    assert index.chords is None
    assert latent.read_index(latent.write_index(index, tmp_path / "index")).chords is None


def test_score_command_reads_chords_for_a_chord_scorer(debug_model_dir, song_folder, tmp_path, capsys):
    from musiclatent.cli.main import main

    folder = _with_chord_scorer(debug_model_dir, tmp_path / "m")
    assert main(["index", str(song_folder), "--model", str(folder), "--out", str(folder / "index"), "--quiet"]) == 0
    assert latent.read_index(folder / "index").chords is not None          # songs indexed over their chords
    capsys.readouterr()
    assert main(["score", str(song_folder), "--model", str(folder)]) == 0
    assert "over the chords read with the melody" in capsys.readouterr().out
