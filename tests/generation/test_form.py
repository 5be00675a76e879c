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
