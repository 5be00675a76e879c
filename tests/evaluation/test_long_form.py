"""Held notes and note density of long phrases (issue 18's prior-sample checks)."""

from __future__ import annotations

import numpy as np
import pytest

from musiclatent.evaluation.long_form import held_shares, longest_note_steps, notes_per_bar

N = 2 + 60   # note-on of middle C


@pytest.mark.parametrize("row, longest", [
    pytest.param([N, 0, 0, 1, 0, 0, 0, 0], 3, id="rest-ends-note"),
    pytest.param([0, 0, N, 0, N + 2, 0, 0, 0], 4, id="new-note-ends-note"),
    pytest.param([1, 0, 0, 0, 0, 0, 0, 0], 0, id="silence-is-no-note"),
    pytest.param([0, 0, 0, 0, 0, 0, 0, N], 1, id="leading-holds-are-silence"),
])
def test_longest_note_steps(row, longest):
    assert longest_note_steps(np.array([row])).tolist() == [longest]


def test_notes_per_bar_counts_note_ons_per_16_steps():
    tok = np.zeros((2, 32), np.int64)
    tok[0, [0, 4, 8, 16]] = N
    assert notes_per_bar(tok).tolist() == [2.0, 0.0]


def test_held_shares_over_two_and_four_bars():
    tok = np.full((4, 256), 0, np.int64)
    tok[:, 0] = N
    tok[0, 16::16] = N            # a note every bar: nothing held long
    tok[1, 33] = 1                # held 33 steps: over 2 bars
    tok[2, 65] = 1                # held 65 steps: over 4 bars
    # row 3: one note held through all 16 bars
    assert held_shares(tok) == {"held_over_2_bars": 0.75, "held_over_4_bars": 0.5}
