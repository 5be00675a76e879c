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


def test_bar_repeat_share_counts_matching_bar_pairs():
    from musiclatent.evaluation.long_form import bar_repeat_share

    bar_a = np.zeros(16, np.int64)
    bar_a[[0, 8]] = N
    bar_b = np.zeros(16, np.int64)
    bar_b[[0, 4, 12]] = N + 2
    piece = np.concatenate([bar_a, bar_a, bar_b, np.ones(16, np.int64)])   # the silent bar is left out
    assert bar_repeat_share(piece[None]).tolist() == [pytest.approx(1 / 3)]


def test_mittal_scores_are_one_for_identical_sets_and_fall_for_constant_pieces():
    from musiclatent.evaluation.long_form import framewise_overlaps, mittal_scores

    rng = np.random.default_rng(0)
    real = np.zeros((8, 16 * 16), np.int64)
    for row in real:
        row[::4] = N + rng.integers(-7, 8, 64)
    oa = framewise_overlaps(real)
    assert len(oa["pitch"]) == 8 * 6                     # 4-bar frames, hop 2 bars: 7 frames, 6 adjacent pairs
    same = mittal_scores(oa, oa)
    assert same["pitch_consistency"] == 1.0 and same["duration_variance"] == 1.0
    flat = np.zeros_like(real)
    flat[:, ::4] = N                                      # one pitch throughout: adjacent frames overlap fully
    assert mittal_scores(framewise_overlaps(flat), oa)["pitch_consistency"] < 1.0
