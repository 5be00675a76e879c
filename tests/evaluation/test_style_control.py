"""Style-control measures on hand-made phrases, and the feature classifier as a second judge."""

from __future__ import annotations

import numpy as np
import pytest

from musiclatent.constants import HOLD, NOTE_ON_OFFSET, REST
from musiclatent.evaluation.feature_classifier import style_features, train_feature_classifier
from musiclatent.evaluation.style_control import contour_correlation, onset_agreement, sounding_pitch

C4, D4, E4, G4 = (NOTE_ON_OFFSET + p for p in (60, 62, 64, 67))
A = np.array([[C4, HOLD, D4, HOLD, E4, HOLD, G4, HOLD]])          # rises every 2 steps
SAME_RHYTHM_HIGHER = np.where(A >= NOTE_ON_OFFSET, A + 12, A)      # same onsets, same contour
OTHER_RHYTHM = np.array([[C4, HOLD, HOLD, D4, HOLD, HOLD, E4, REST]])
FALLING = np.array([[G4, HOLD, E4, HOLD, D4, HOLD, C4, HOLD]])


@pytest.mark.parametrize("b, expected", [
    (A, 1.0),
    (SAME_RHYTHM_HIGHER, 1.0),
    (OTHER_RHYTHM, 2 * 2 / (4 + 3)),      # onsets {0,2,4,6} vs {0,3,6}: 2 shared
    (np.full((1, 8), HOLD), 0.0),
], ids=["same", "transposed", "other-rhythm", "silent"])
def test_onset_agreement(b, expected):
    assert onset_agreement(A, b)[0] == pytest.approx(expected)


def test_two_silent_phrases_agree():
    silent = np.full((1, 8), HOLD)
    assert onset_agreement(silent, silent)[0] == 1.0


def test_sounding_pitch_carries_through_holds_and_rests():
    np.testing.assert_array_equal(sounding_pitch(OTHER_RHYTHM)[0], [60, 60, 60, 62, 62, 62, 64, 64])
    assert np.isnan(sounding_pitch(np.array([[HOLD, C4]]))[0, 0])


# mirror: pitches 60 62 64 67 against 67 64 62 60, two steps each: r = -26.25 / 26.75
@pytest.mark.parametrize("b, expected", [(SAME_RHYTHM_HIGHER, 1.0), (FALLING, -26.25 / 26.75)],
                         ids=["parallel", "mirror"])
def test_contour_correlation(b, expected):
    assert contour_correlation(A, b)[0] == pytest.approx(expected)


def test_contour_of_a_flat_line_is_undefined():
    flat = np.array([[C4, HOLD, C4, HOLD, C4, HOLD, C4, HOLD]])
    assert np.isnan(contour_correlation(A, flat)[0])


def test_style_features_by_hand():
    f = style_features(A)[0]
    pc = f[:12]
    np.testing.assert_allclose(pc[[0, 2, 4, 7]], 0.25)             # four notes of two steps each
    intervals = f[24:24 + 27]
    assert intervals[12 + 1 + 2] == pytest.approx(2 / 3)          # +2 twice of three intervals
    assert intervals[12 + 1 + 3] == pytest.approx(1 / 3)          # +3 once
    lengths = f[51:59]
    assert lengths[1] == 1.0                                       # every note lasts 2 steps
    silent = style_features(np.full((2, 8), HOLD))
    np.testing.assert_array_equal(silent[:, :-14], 0.0)            # no notes: every histogram is empty
    np.testing.assert_array_equal(silent[:, -13], 1.0)             # and the phrase is silent throughout


def test_feature_classifier_separates_registers():
    rng = np.random.default_rng(0)
    low = np.where(rng.random((60, 16)) < 0.3, NOTE_ON_OFFSET + rng.integers(48, 60, (60, 16)), HOLD)
    high = np.where(rng.random((60, 16)) < 0.3, NOTE_ON_OFFSET + rng.integers(72, 84, (60, 16)), HOLD)
    clf = train_feature_classifier(np.concatenate([low, high]), np.repeat([0, 1], 60), ("low", "high"))
    assert (clf.predict(high[:10] - 0) == 1).all() and (clf.predict(low[:10]) == 0).all()
