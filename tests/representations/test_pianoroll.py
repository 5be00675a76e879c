"""Pure representation functions: hand-computed arrays and exact round trips."""

import numpy as np
import pytest

from musiclatent.constants import HOLD, NOTE_ON_OFFSET, REST, ROLL_ONSET, ROLL_SUSTAIN
from musiclatent.representations.pianoroll import (canonicalize_tokens, notes_to_pianoroll, notes_to_tokens, pianoroll_to_notes,
                                                   pianoroll_to_tokens, skyline, tokens_to_notes, tokens_to_pianoroll)

N = NOTE_ON_OFFSET


def test_tokens_hand_computed():
    notes = np.array([[60, 0, 4], [62, 4, 6], [64, 8, 16]])
    expected = [N + 60, 0, 0, 0, N + 62, 0, REST, 0, N + 64, 0, 0, 0, 0, 0, 0, 0]
    assert notes_to_tokens(notes, 16).tolist() == expected
    np.testing.assert_array_equal(tokens_to_notes(np.array(expected)), notes)


def test_repeated_notes_stay_distinct():
    notes = np.array([[60, 0, 2], [60, 2, 4]])
    assert notes_to_tokens(notes, 6).tolist() == [N + 60, HOLD, N + 60, HOLD, REST, HOLD]
    roll = notes_to_pianoroll(notes, 6)
    assert roll[:, 60].tolist() == [ROLL_ONSET, ROLL_SUSTAIN, ROLL_ONSET, ROLL_SUSTAIN, 0, 0]
    np.testing.assert_array_equal(pianoroll_to_notes(roll), notes)


@pytest.mark.parametrize("seed", range(5), ids=lambda s: f"seed{s}")
def test_round_trips_on_random_monophonic_input(seed):
    rng = np.random.default_rng(seed)
    t, notes = int(rng.integers(0, 3)), []
    while True:
        d = int(rng.integers(1, 6))
        if t + d > 64:
            break
        notes.append((int(rng.integers(0, 128)), t, t + d))
        t += d + int(rng.integers(0, 3))
    notes = np.array(notes, dtype=np.int32)
    tokens = notes_to_tokens(notes, 64)
    np.testing.assert_array_equal(tokens_to_notes(tokens), notes)
    np.testing.assert_array_equal(pianoroll_to_notes(notes_to_pianoroll(notes, 64)), notes)
    np.testing.assert_array_equal(pianoroll_to_tokens(tokens_to_pianoroll(tokens)), tokens)
    np.testing.assert_array_equal(canonicalize_tokens(tokens), tokens)


def test_rest_during_silence_is_canonicalized():
    tokens = np.array([REST, HOLD, N + 60, HOLD, REST, REST])
    assert canonicalize_tokens(tokens).tolist() == [HOLD, HOLD, N + 60, HOLD, REST, HOLD]


def test_skyline_keeps_highest_voice():
    chord = np.array([[48, 0, 8], [60, 0, 4], [55, 2, 6], [67, 4, 8]])
    # 60 wins at 0 (highest onset), 55 under it is dropped, 67 starts at 4; 48 never sounds alone
    np.testing.assert_array_equal(skyline(chord), [[60, 0, 4], [67, 4, 8]])
    assert np.all(skyline(chord)[1:, 1] >= skyline(chord)[:-1, 2])


def test_overlapping_notes_rejected_and_bad_tokens_rejected():
    with pytest.raises(ValueError, match="overlap"):
        notes_to_tokens(np.array([[60, 0, 4], [62, 2, 6]]), 8)
    with pytest.raises(ValueError):
        tokens_to_notes(np.array([0, 130]))


def test_empty_inputs():
    assert tokens_to_notes(np.zeros(8, int)).shape == (0, 3)
    assert notes_to_pianoroll(np.zeros((0, 3)), 4).shape == (4, 128)
    assert pianoroll_to_notes(np.zeros((0, 128))).shape == (0, 3)
