"""Drum operations on a tiny untrained drum model: shapes, velocities, General MIDI drums out."""

import dataclasses

import numpy as np
import pretty_midi
import pytest
import torch

from musiclatent.cli.drums import dispatch
from musiclatent.generation import drums
from musiclatent.generation.facade import MusicLatent
from musiclatent.midi.drums import DrumPart
from musiclatent.models.builders import build_vae
from musiclatent.presets import get_preset
from musiclatent.representations import DRUMS

ROCK_BAR = np.array([1 + 4, 0, 4, 0, 2 + 4, 0, 4, 0, 1 + 4, 0, 4, 0, 2 + 4, 0, 4, 0])


@pytest.fixture(scope="module")
def drum_model():
    torch.manual_seed(0)
    cfg = dataclasses.replace(get_preset("debug-drums").model, styles=("any", "rock", "funk"))
    return MusicLatent(build_vae(cfg), name="debug drums")


def rock_song(bars=5, level=2, qpm=96.0):
    tokens = np.tile(ROCK_BAR, bars)
    notes = DRUMS.from_tokens(tokens)
    part = DrumPart(notes=notes, velocities=np.full(len(notes), 70), offsets=np.zeros(len(notes), np.float32),
                    n_steps=len(tokens), qpm=qpm, source="rock.mid")
    return drums.drum_song(part, 32)


def test_drum_song_cuts_phrases_and_pads():
    song = rock_song(bars=5)
    assert song.phrases.shape == (3, 32) and song.levels.shape == (3, 32, 9)
    np.testing.assert_array_equal(song.phrases[0], np.tile(ROCK_BAR, 2))
    assert (song.phrases[2, 16:] == 0).all()
    assert set(np.unique(song.levels[song.levels > 0])) == {2}


def test_drum_song_refuses_other_meters():
    part = DrumPart(notes=np.array([[36, 0, 1]], np.int32), velocities=np.array([90]), offsets=np.zeros(1),
                    n_steps=1, time_signature=(3, 4))
    with pytest.raises(ValueError, match="4/4"):
        drums.drum_song(part, 32)


def test_levels_follow_the_reference_then_the_profile(drum_model):
    tokens = np.tile(ROCK_BAR, 2)[None]
    ref = np.zeros((1, 32, 9), np.uint8)
    ref[0, 0, 0] = 4                                   # the reference's kick on step 0 is loud
    lev = drums.levels_for(drum_model, tokens, ref)
    assert lev[0, 0, 0] == 4 and lev[0, 8, 0] == drums.DEFAULT_LEVEL   # no reference there: the default
    assert ((lev > 0) == DRUMS.hits(tokens)).all()     # a level exactly where a class is hit


def test_velocity_table_by_hand():
    tokens = np.array([[1, 0], [1, 2]])
    levels = np.zeros((2, 2, 9), np.uint8)
    levels[0, 0, 0], levels[1, 0, 0], levels[1, 1, 1] = 2, 4, 1
    table = drums.velocity_table(tokens, levels)
    assert table[0, 0] == 3.0 and table[1, 1] == 1.0 and table[1, 0] == drums.DEFAULT_LEVEL


def test_drum_attributes_by_hand():
    attrs = drums.drum_attributes(np.tile(ROCK_BAR, 2)[None])
    assert attrs["note_density"][0] == pytest.approx(8 * 2 / 8)    # 16 hit steps over 8 quarters
    assert attrs["syncopation"][0] == pytest.approx(0.5)           # the 8th hats between the beats


def test_sample_writes_loopable_gm_drums(drum_model, tmp_path):
    res = drums.sample_drums(drum_model, n=2, bars=4, style="funk", seed=3, qpm=110)
    assert list(res.files) == ["sample_01", "sample_02"]
    tokens, levels = res.files["sample_01"]
    assert tokens.shape == (1, 64) and levels.shape == (1, 64, 9)
    paths = drums.write_drum_result(res, tmp_path, png=True)
    assert {p.suffix for p in paths} == {".mid", ".png"}
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "sample_01.mid"))
    assert [i.is_drum for i in pm.instruments] == [True]
    assert pm.get_tempo_changes()[1][0] == pytest.approx(110, abs=0.01)
    assert pm.get_end_time() == pytest.approx(64 * 60 / 110 / 4, abs=1e-3)     # whole bars: it loops
    assert all(n.pitch in DRUMS.class_pitches for n in pm.instruments[0].notes)


def test_sample_is_seeded(drum_model):
    a = drums.sample_drums(drum_model, n=1, seed=5).files["sample_01"][0]
    b = drums.sample_drums(drum_model, n=1, seed=5).files["sample_01"][0]
    np.testing.assert_array_equal(a, b)


def test_interpolate_phrase_by_phrase(drum_model):
    a, b = rock_song(bars=4), rock_song(bars=6, qpm=120)
    res = drums.interpolate_drums(drum_model, a, b, steps=3)
    assert res.qpm == 96.0 and "extended" in res.notes[0]
    assert res.files["step_01"][0].shape == (3, 32) and res.files["morph"][0].shape == (3, 32)
    np.testing.assert_array_equal(res.files["recon_a"][0], res.files["step_01"][0])
    with pytest.raises(ValueError):
        drums.interpolate_drums(drum_model, a, b, steps=1)


def test_vary_keeps_the_input_velocities_where_it_agrees(drum_model):
    song = rock_song(bars=2)
    res = drums.vary_drums(drum_model, song, n=2, similarity=1.0)
    tokens, levels = res.files["variation_01"]
    same = DRUMS.hits(tokens) & DRUMS.hits(song.phrases)
    assert (levels[same] == 2).all()


def test_cli_dispatch_refuses_melody_only_commands(drum_model):
    from musiclatent.cli.main import UserError

    with pytest.raises(UserError, match="melody models"):
        dispatch(drum_model, None, "restyle")
