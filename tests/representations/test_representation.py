"""The representation seam: a small pure object per kind of music, named by the model config."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musiclatent.config import ModelConfig
from musiclatent.constants import HOLD, NOTE_ON_OFFSET, REST
from musiclatent.representations import (MELODY, REPRESENTATIONS, UnsupportedMeterError, get_representation)


@pytest.mark.parametrize("meter, steps", [((4, 4), 16), ((2, 2), 16), ((2, 4), 8), ((3, 4), 12), ((6, 8), 12),
                                          ((9, 8), 18), ((12, 8), 24), ((3, 2), 24), ((3, 8), 6)],
                         ids=lambda v: str(v))
def test_steps_per_bar_follow_the_meter(meter, steps):
    assert MELODY.steps_per_bar(meter) == steps


@pytest.mark.parametrize("meter", [(3, 0), (0, 4), (4, 3), (5, 32)], ids=str)
def test_a_meter_that_is_no_whole_bar_of_steps_is_refused(meter):
    with pytest.raises(UnsupportedMeterError):
        MELODY.steps_per_bar(meter)


def test_melody_round_trip_and_meaning():
    notes = np.array([[60, 0, 4], [62, 6, 10], [67, 10, 16]], np.int32)
    tokens = MELODY.to_tokens(notes, 16)
    assert tokens.tolist() == [62, 0, 0, 0, REST, 0, 64, 0, 0, 0, 69, 0, 0, 0, 0, 0]
    assert MELODY.from_tokens(tokens).tolist() == notes.tolist()
    assert MELODY.onsets(tokens).sum() == 3
    assert MELODY.pitches(tokens)[[0, 1, 6]].tolist() == [60, -1, 62]
    assert MELODY.note_on(60) == NOTE_ON_OFFSET + 60
    assert MELODY.describe(tokens) == "3 notes, C4-G4"
    assert MELODY.describe(np.full(16, HOLD)) == "silence"
    with pytest.raises(ValueError, match=r"\[0, 130\)"):
        MELODY.check_tokens(np.array([0, 130]))


def test_config_names_its_representation_and_meter_through_json():
    cfg = ModelConfig(bars=2, meter=(2, 4))
    back = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and back.meter == (2, 4) and back.rep is MELODY
    assert back.steps_per_bar == 8 and back.steps == 16
    # configs written before the seam carry neither key and read as 4/4 melodies
    old = cfg.to_dict()
    del old["representation"], old["meter"]
    assert ModelConfig.from_dict(old).steps == 32


def test_config_refuses_what_its_representation_cannot_hold():
    with pytest.raises(ValueError, match="unknown representation 'chords'"):
        ModelConfig(representation="chords")
    with pytest.raises(ValueError, match="512 classes"):
        ModelConfig(representation="drums")          # n_classes left at the melody's 130
    with pytest.raises(ValueError, match="melody models take the meters"):
        ModelConfig(meter=(7, 8))
    with pytest.raises(ValueError, match="n_classes 512"):
        ModelConfig(n_classes=512)


def test_registry_lookup():
    assert get_representation("melody") is MELODY and set(REPRESENTATIONS) == {"melody", "drums"}
