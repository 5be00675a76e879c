"""Drum grooves in the latent tools: files read as drum tokens, indexed and scored without loss."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from musiclatent.generation.facade import MusicLatent
from musiclatent.latent import index as latent
from musiclatent.latent.typicality import near_variants
from musiclatent.midi.drums import to_drum_midi
from musiclatent.midi.io import write_midi
from musiclatent.models.builders import build_vae
from musiclatent.presets import get_preset
from musiclatent.representations import DRUMS

RIDE = 1 << 8                                              # class 8: a token of 256 or more
GROOVE = np.array([1 + RIDE, 0, RIDE, 0, 2 + RIDE, 0, RIDE, 0] * 2)      # one 4/4 bar of 16 steps


@pytest.fixture(scope="module")
def drum_model():
    torch.manual_seed(0)
    cfg = dataclasses.replace(get_preset("debug-drums").model, styles=("any", "jazz"))
    return MusicLatent(build_vae(cfg), name="debug drums")


@pytest.fixture(scope="module")
def groove_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("grooves")
    (root / "jazz").mkdir()
    tokens = np.tile(GROOVE, 4)                            # 4 bars: two 2-bar phrases
    write_midi(root / "jazz" / "ride.mid", to_drum_midi(DRUMS.from_tokens(tokens), 80, qpm=120.0))
    (root / "jazz" / "tune.abc").write_text("X:1\nK:C\nCDEF|\n")   # not a drum file
    return root, tokens


def test_drum_files_are_read_as_drum_tokens(drum_model, groove_folder):
    root, tokens = groove_folder
    corpus = latent.read_corpus_files([root], drum_model.steps, drum_model.bars, drums=True)
    assert corpus.tokens.dtype == np.uint16 and len(corpus) == 2
    np.testing.assert_array_equal(corpus.tokens.reshape(-1), tokens)
    assert list(corpus.style) == ["jazz", "jazz"] and list(corpus.bar) == [0, 2]
    assert any("drums are read from MIDI files" in s for s in corpus.skipped)


def test_an_index_keeps_drum_tokens_above_255(drum_model, groove_folder, tmp_path):
    root, tokens = groove_folder
    corpus = latent.read_corpus_files([root], drum_model.steps, drum_model.bars, drums=True)
    index = latent.build_index(drum_model, corpus)
    back = latent.read_index(latent.write_index(index, tmp_path / "index"))
    np.testing.assert_array_equal(back.tokens.reshape(-1), tokens)
    np.testing.assert_allclose(back.score_any, latent.batched_scores(drum_model, tokens.reshape(2, -1), "any"),
                               rtol=1e-5)


def test_near_variants_of_drums_stay_in_the_drum_vocabulary(groove_folder):
    _, tokens = groove_folder
    variants = near_variants(tokens.reshape(2, -1), n_classes=DRUMS.n_classes)
    assert variants.max() < DRUMS.n_classes and variants.max() >= RIDE       # no hit clipped to melody classes
    assert (variants != tokens.reshape(2, -1)[None]).any(-1).all()            # every variant is edited
