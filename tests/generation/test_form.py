"""Pieces with form: returning sections repeat, with a new cadence."""

from __future__ import annotations

import numpy as np
import pytest

from musiclatent.generation.form import default_form, form_pieces


def test_returning_sections_repeat_all_but_their_last_bar(debug_model):
    # the debug model's phrase is 2 bars: AABB of 2-bar sections, cadence = the last bar
    out = form_pieces(debug_model, 3, 8, "AABB", temperature=0.0, seed=1)
    assert out.shape == (3, 8 * 16) and out.dtype == np.int64
    a1, a2, b1, b2 = (out[:, k * 32:(k + 1) * 32] for k in range(4))
    np.testing.assert_array_equal(a1[:, :16], a2[:, :16])
    np.testing.assert_array_equal(b1[:, :16], b2[:, :16])


def test_same_seed_same_piece(debug_model):
    a = form_pieces(debug_model, 2, 4, "AB", temperature=0.5, seed=7)
    np.testing.assert_array_equal(a, form_pieces(debug_model, 2, 4, "AB", temperature=0.5, seed=7))


@pytest.mark.parametrize("bars, form, match", [
    pytest.param(6, "AABB", "split", id="uneven-sections"),
    pytest.param(16, "AB", "longer than", id="section-longer-than-phrase"),
    pytest.param(4, "A-B", "letters", id="not-letters"),
])
def test_bad_forms_are_value_errors(debug_model, bars, form, match):
    with pytest.raises(ValueError, match=match):
        form_pieces(debug_model, 1, bars, form)


def test_default_forms():
    assert default_form(32) == "AABB" and default_form(64) == "AABA" and default_form(16) == "AB"


def test_studio_sample_gives_long_pieces_form_when_sections_fit(debug_model):
    from musiclatent.generation import studio

    formed = studio.sample(debug_model, n=2, bars=8, seed=3, temperature=0.0, form="AABB")
    piece = formed.segments["sample_01"]
    assert piece.shape == (1, 8 * 16) and any("form AABB" in note for note in formed.notes)
    np.testing.assert_array_equal(piece[:, :16], piece[:, 32:48])        # A returns
    walked = studio.sample(debug_model, n=2, bars=8, seed=3, temperature=0.0, form="walk")
    assert walked.segments["sample_01"].shape == (1, 8 * 16) and not any("form" in n for n in walked.notes)
    # no form given: the defaults (32 bars AABB of 8-bar sections) do not fit 2-bar phrases, so a walk
    default = studio.sample(debug_model, n=1, bars=32, seed=3)
    assert default.segments["sample_01"].shape == (1, 32 * 16) and not any("form" in n for n in default.notes)
    assert studio.piece_form(debug_model, 2, "AABB") is None                # one phrase: no form
    with pytest.raises(ValueError, match="split"):
        studio.sample(debug_model, n=1, bars=8, form="ABC")


def test_sample_cli_writes_formed_pieces_and_names_a_bad_form(debug_model_dir, tmp_path, capsys):
    from musiclatent.cli.main import main

    assert main(["sample", "--model", str(debug_model_dir), "--bars", "8", "--form", "AABB", "--n", "1",
                 "--out", str(tmp_path / "ok")]) == 0
    assert "form AABB: 4 sections of 2 bars" in capsys.readouterr().out
    assert list((tmp_path / "ok").glob("*.mid"))
    assert main(["sample", "--model", str(debug_model_dir), "--bars", "8", "--form", "ABC",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "8 bars do not split into 3 sections (ABC)" in capsys.readouterr().err


def _song(n: int = 2, steps: int = 32, seed: int = 0) -> np.ndarray:
    from musiclatent.constants import NOTE_ON_OFFSET

    rng = np.random.default_rng(seed)
    song = np.zeros((n, steps), np.int64)                   # holds ...
    song[:, ::4] = NOTE_ON_OFFSET + rng.integers(60, 80, (n, steps // 4))   # ... after a note every beat
    return song


def test_continuation_brings_back_the_songs_opening_with_a_new_cadence(debug_model):
    from musiclatent.generation.form import default_continuation_form, form_continuation

    song = _song()
    out = form_continuation(debug_model, song, n=4, temperature=0.0, seed=2)      # BBAA
    assert default_continuation_form(4) == "BBAA" and default_continuation_form(3) == "BBA"
    assert out.shape == (4, 32) and out.dtype == np.int64
    for k in (2, 3):                                          # A: the song's first phrase, its first bar kept
        np.testing.assert_array_equal(out[k, :16], song[0, :16])
    np.testing.assert_array_equal(out[1, :16], out[0, :16])   # B comes back
    assert not np.array_equal(out[0, :16], song[0, :16])
    with pytest.raises(ValueError, match="one letter per new phrase"):
        form_continuation(debug_model, song, n=2, form="ABA")


def test_continue_cli_takes_a_form_or_a_walk(debug_model, debug_model_dir, tmp_path, capsys):
    from musiclatent.cli.main import main
    from musiclatent.generation import studio
    from musiclatent.generation.stream import stream_notes
    from musiclatent.midi.melody import Melody

    mel = Melody(stream_notes([_song(1)]), np.array([(0, 16), (16, 16)], np.int32))
    walked = studio.continue_song(debug_model, mel, n=2, form="walk", seed=4)
    phrases = walked.segments["original"].reshape(-1, 32)
    np.testing.assert_array_equal(walked.segments["continuation"],
                                  debug_model.continuation(phrases, 2, 0.9, seed=4))
    formed = studio.continue_song(debug_model, mel, n=2, form="BA", seed=4)
    np.testing.assert_array_equal(formed.segments["continuation"][1, :16], phrases[0, :16])
    # a song ending early in its last phrase: the new phrases start on the bar line after its last note
    short = Melody(stream_notes([_song(1)[:, :20]]), np.array([(0, 16), (16, 16)], np.int32))
    cut = studio.continue_song(debug_model, short, n=1, seed=4)
    assert cut.segments["original"].shape == (32,) and cut.stream("continued").shape == (64,)
    three = Melody(stream_notes([_song(3).reshape(1, -1)[:, :72]]), np.array([(16 * i, 16) for i in range(5)], np.int32))
    res = studio.continue_song(debug_model, three, n=1, seed=4)
    assert res.segments["original"].shape == (80,)                   # 4.5 bars of notes: 5 bars kept, not 6
    studio.write_result(formed, tmp_path / "in", png=False)
    src = next((tmp_path / "in").glob("continued*.mid"))
    assert main(["continue", str(src), "--model", str(debug_model_dir), "--n", "3", "--form", "BAB",
                 "--out", str(tmp_path / "ok")]) == 0
    assert list((tmp_path / "ok").glob("*.mid"))
    assert main(["continue", str(src), "--model", str(debug_model_dir), "--n", "3", "--form", "AB",
                 "--out", str(tmp_path / "bad")]) == 2
    assert "one letter per new phrase (3)" in capsys.readouterr().err
