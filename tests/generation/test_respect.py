"""Restyle and vary respect the input: rests stay rests, the register stays the input's."""

from __future__ import annotations

import numpy as np
import pytest

from musiclatent.generation import studio
from musiclatent.generation.respect import (keep_register, keep_rests, pitch_centre, respect_input, respect_measures,
                                            sounding)
from musiclatent.midi.melody import Melody
from musiclatent.representations.pianoroll import notes_to_tokens


def test_keep_rests_cuts_notes_to_the_sounding_steps():
    mask = sounding(np.array([[60, 0, 4], [62, 8, 18]]), 20)
    assert mask.tolist() == [True] * 4 + [False] * 4 + [True] * 10 + [False] * 2
    out = keep_rests(np.array([[70, 0, 16], [72, 16, 20], [74, 5, 7]]), mask)
    # a note over a rest splits; the part after the rest starts where the input's note starts
    assert out.tolist() == [[70, 0, 4], [70, 8, 16], [72, 16, 18]]


@pytest.mark.parametrize("notes, reference, expected", [
    ([[84, 0, 4], [86, 4, 8]], [[60, 0, 4], [62, 4, 8]], [[60, 0, 4], [62, 4, 8]]),     # two octaves down
    ([[60, 0, 4], [90, 4, 8]], [[60, 0, 4], [67, 4, 8]], [[60, 0, 4], [66, 4, 8]]),     # one note folded
    ([[48, 0, 4], [61, 4, 8]], [[60, 0, 4], [62, 4, 8]], [[60, 0, 4], [61, 4, 8]]),     # a narrow range
    ([[5, 0, 4]], [[0, 0, 4]], [[5, 0, 4]]),                                             # stays in 0..127
    ([[71, 0, 4], [72, 4, 8]], [[60, 0, 4], [72, 4, 8]], [[59, 0, 4], [72, 4, 8]]),     # centre 5.5 above
], ids=["octaves", "fold-one", "narrow-range", "bottom", "pull-centre"])
def test_keep_register_moves_by_octaves_only(notes, reference, expected):
    out = keep_register(np.array(notes), np.array(reference))
    assert out.tolist() == expected
    assert ((out[:, 0] - np.array(notes)[:, 0]) % 12 == 0).all()        # pitch classes (the key) unchanged


def test_respect_measures_on_hand_built_streams():
    src = notes_to_tokens(np.array([[60, 0, 8], [64, 16, 24]]), 32).reshape(2, 16)
    out = notes_to_tokens(np.array([[72, 0, 12], [76, 16, 32]]), 32).reshape(2, 16)
    m = respect_measures(out, src)
    assert m["rests_kept"] == pytest.approx(4 / 16)           # 16 silent input steps, 12 filled
    assert m["centre_diff"] == pytest.approx((72 * 12 + 76 * 16) / 28 - 62)
    assert m["range_diff"] == 0
    fixed = respect_input(out, src)
    m = respect_measures(fixed, src)
    assert m["rests_kept"] == 1.0 and abs(m["centre_diff"]) <= 4
    assert (respect_input(out, src, rests=False, register=False) == out).all()


def intro_melody() -> Melody:
    """Eight bars: two silent, then a line around middle C that rests a bar in the middle."""
    notes = np.array([[60 + (k % 5), 32 + 4 * k, 36 + 4 * k] for k in range(8)] +
                     [[67 - (k % 4), 80 + 4 * k, 84 + 4 * k] for k in range(12)], np.int32)
    return Melody(notes, np.array([(16 * i, 16) for i in range(8)], np.int32))


@pytest.mark.parametrize("op", ["restyle", "vary"])
def test_restyle_and_vary_rest_where_the_input_rests(op, debug_model):
    mel = intro_melody()
    style = debug_model.styles[-1]
    run = {"restyle": lambda **kw: studio.restyle_song(debug_model, mel, style, temperature=1.0, seed=2, **kw),
           "vary": lambda **kw: studio.vary_song(debug_model, mel, n=3, similarity=0.3, temperature=1.0, seed=2,
                                                 **kw)}[op]
    res = run()
    outputs = [s for s in res.files if s != "original"]
    for stem in outputs:
        m = respect_measures(res.segments[stem], res.segments["original"])
        notes = res.file_notes(stem)
        assert m["rests_kept"] == 1.0
        if len(notes):
            assert notes[0, 1] >= 32                                              # nothing in the intro
            assert abs(m["centre_diff"]) <= 4
            assert notes[:, 0].min() >= 60 - 2 - 11 and notes[:, 0].max() <= 67 + 2 + 11
    assert any("rests where the input rests" in r for r in res.notes)
    free = run(keep_rests=False, keep_register=False)
    assert not any("rests where" in r for r in free.notes)
    measured = [respect_measures(free.segments[s], free.segments["original"]) for s in outputs]
    assert min(m["rests_kept"] for m in measured) < 1.0       # the option gives the model's own rests back


def test_pitch_centre_weighs_by_duration():
    assert pitch_centre(np.array([[60, 0, 12], [72, 12, 16]])) == pytest.approx(63.0)
    assert np.isnan(pitch_centre(np.zeros((0, 3))))
