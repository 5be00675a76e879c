"""The drum representation: hand-built grooves, hand-computed tokens, exact round trips."""

import numpy as np
import pytest

from musiclatent.config import ModelConfig
from musiclatent.representations import DRUMS, get_representation
from musiclatent.representations.drums import (DRUM_CLASS_PITCHES, DRUM_PITCH_GROUPS, PITCH_TO_CLASS, hits_to_tokens,
                                               level_to_velocity, tokens_to_hits, velocity_to_level)

KICK, SNARE, HAT, OPEN_HAT, CRASH = 36, 38, 42, 46, 49


def groove(*hits):
    """(pitch, step) pairs -> notes (n, 3) int32 of one-step hits."""
    return np.asarray([(p, s, s + 1) for p, s in hits], np.int32).reshape(-1, 3)


# a one-bar rock beat: kick on 1 and 3, snare on 2 and 4, closed hats on every 8th, crash on 1
ROCK = groove((KICK, 0), (HAT, 0), (CRASH, 0), (HAT, 2), (SNARE, 4), (HAT, 4), (HAT, 6), (KICK, 8), (HAT, 8),
              (HAT, 10), (SNARE, 12), (HAT, 12), (HAT, 14))
# bit 0 kick, 1 snare, 2 closed hat, 7 crash
ROCK_TOKENS = np.array([1 + 4 + 128, 0, 4, 0, 2 + 4, 0, 4, 0, 1 + 4, 0, 4, 0, 2 + 4, 0, 4, 0])


def test_registered_with_512_classes():
    assert get_representation("drums") is DRUMS
    assert DRUMS.n_classes == 512 and DRUMS.steps_per_bar((4, 4)) == 16
    cfg = ModelConfig(representation="drums", n_classes=512)
    assert cfg.rep is DRUMS and cfg.steps == 32


def test_rock_beat_tokens_by_hand():
    np.testing.assert_array_equal(DRUMS.to_tokens(ROCK, 16), ROCK_TOKENS)


def test_round_trip_is_exact_on_kit_notes():
    back = DRUMS.from_tokens(DRUMS.to_tokens(ROCK, 16))
    key = lambda n: sorted(map(tuple, n.tolist()))  # noqa: E731
    assert key(back) == key(ROCK)
    np.testing.assert_array_equal(DRUMS.to_tokens(back, 16), ROCK_TOKENS)


@pytest.mark.parametrize("token", [0, 1, 255, 256, 511], ids=["silence", "kick", "eight", "ride", "all"])
def test_every_token_round_trips(token):
    tokens = np.array([token, 0, token])
    np.testing.assert_array_equal(DRUMS.to_tokens(DRUMS.from_tokens(tokens), 3), tokens)


def test_all_512_tokens_round_trip_through_hits():
    tokens = np.arange(512)
    np.testing.assert_array_equal(hits_to_tokens(tokens_to_hits(tokens)), tokens)
    assert tokens_to_hits(tokens).shape == (512, 9)


def test_gm_notes_map_to_their_class_and_back_to_the_kit_note():
    # side stick (37) is a snare, pedal hi-hat (44) a closed hat, ride bell (53) a ride
    notes = groove((37, 0), (44, 1), (53, 2), (35, 3))
    np.testing.assert_array_equal(DRUMS.to_tokens(notes, 4), [2, 4, 256, 1])
    np.testing.assert_array_equal(DRUMS.from_tokens([2, 4, 256, 1])[:, 0], [38, 42, 51, 36])


def test_map_is_a_partition_and_kit_notes_map_to_themselves():
    pitches = [p for g in DRUM_PITCH_GROUPS for p in g]
    assert len(pitches) == len(set(pitches))
    for k, p in enumerate(DRUM_CLASS_PITCHES):
        assert PITCH_TO_CLASS[p] == k


def test_outside_the_kit_or_window_is_dropped_and_doubles_merge():
    notes = groove((KICK, 0), (KICK, 0), (81 + 20, 1), (SNARE, 7), (SNARE, -1))  # 101 is no drum
    np.testing.assert_array_equal(DRUMS.to_tokens(notes, 4), [1, 0, 0, 0])


def test_empty_groove():
    assert DRUMS.to_tokens(np.zeros((0, 3), np.int32), 5).tolist() == [0] * 5
    assert DRUMS.from_tokens(np.zeros(5, np.int64)).shape == (0, 3)
    assert DRUMS.describe(np.zeros(4)) == "silence"


def test_velocity_levels_round_trip_at_level_values():
    notes = groove((KICK, 0), (SNARE, 4), (HAT, 4))
    vel = np.array([120, 70, 40])
    levels = DRUMS.to_levels(notes, vel, 8)
    assert levels.shape == (8, 9) and levels[0, 0] == 4 and levels[4, 1] == 2 and levels[4, 2] == 1
    back, back_vel = DRUMS.from_levels(levels)
    assert sorted(zip(map(tuple, back.tolist()), back_vel.tolist())) == sorted(zip(map(tuple, notes.tolist()),
                                                                                    vel.tolist()))
    np.testing.assert_array_equal(DRUMS.levels_to_tokens(levels), DRUMS.to_tokens(notes, 8))


@pytest.mark.parametrize("velocity,level", [(1, 1), (54, 1), (55, 2), (84, 2), (85, 3), (109, 3), (110, 4), (127, 4)])
def test_velocity_level_edges(velocity, level):
    assert velocity_to_level(np.array([velocity]))[0] == level
    assert level_to_velocity(np.array([level]))[0] in (40, 70, 100, 120)


def test_bad_tokens_are_refused():
    with pytest.raises(ValueError):
        DRUMS.from_tokens(np.array([512]))


def test_describe_counts_hits():
    assert DRUMS.describe(ROCK_TOKENS).startswith("2 kick, 2 snare, 8 closed hi-hat")


def test_mix_layers_takes_drums_from_one_groove_and_cymbals_from_the_other():
    from musiclatent.representations.drums import mix_layers
    a = DRUMS.to_tokens(ROCK, 16)
    b = DRUMS.to_tokens(groove((KICK, 3), (OPEN_HAT, 2), (HAT, 7), (SNARE, 9)), 16)
    mixed = mix_layers(a, b)
    hits_a, hits_b, hits = tokens_to_hits(a), tokens_to_hits(b), tokens_to_hits(mixed)
    cymbals = [2, 3, 7, 8]
    drums = [0, 1, 4, 5, 6]
    assert (hits[:, drums] == hits_a[:, drums]).all() and (hits[:, cymbals] == hits_b[:, cymbals]).all()
    assert hits[3, 0] == 0 and hits[0, 7] == 0 and hits[2, 3] == 1      # b's kick gone, a's crash gone, b's open hat
    assert (mix_layers(a, a) == a).all()
