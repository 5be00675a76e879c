"""Chords in datasets: chord events through shards, the half-bar chords of a phrase and the coverage counts."""

import numpy as np
import pytest

from musiclatent.data.chords import ChordTally, pack_chord_events, unpack_chord_events
from musiclatent.midi.chords import ChordReading
from musiclatent.representations.chords import parse_chord
from musiclatent.representations.pianoroll import notes_to_tokens

C, G7, AM = parse_chord("C"), parse_chord("G7"), parse_chord("Am")


def test_chord_events_round_trip_and_untrusted_readings_keep_none():
    good = ChordReading(events=np.array([[0, C], [8, G7], [16, 0]], np.int32), source="chord symbols")
    junk = ChordReading(events=np.array([[0, AM]], np.int32), n_symbols=3, unparsed=["x", "y"])
    arrays = pack_chord_events([good, None, junk])
    events = unpack_chord_events(arrays, 3)
    assert events[0].tolist() == good.events.tolist() and len(events[1]) == 0 and len(events[2]) == 0
    old_shard = {"notes": np.zeros((0, 3))}                      # written before chords were read
    assert [len(e) for e in unpack_chord_events(old_shard, 2)] == [0, 0]


def test_tally_windows_and_coverage():
    tally = ChordTally(bars=2)
    events = np.array([[4, C], [20, G7], [36, 0]])
    chords = tally.window(events, 4)
    assert chords.tolist() == [C, C, G7, G7]
    tokens = notes_to_tokens(np.array([[60, 0, 8], [62, 8, 16], [67, 16, 32]]), 32)  # C, D (not in C), G
    assert tally.add(chords, tokens, "jazz") == pytest.approx(2 / 3)
    assert np.isnan(tally.add(np.zeros(4, np.uint8), tokens, "jazz"))
    assert tally.piece("a.xml", {"source": "chord symbols"}, [2 / 3, np.nan])["chord_tone_share"] == 0.667
    assert tally.piece("b.xml", {"source": "chord symbols"}, [0.25, 0.25])["chord_tone_share"] == 0.25
    out = tally.manifest()
    assert tally.array().shape == (2, 4) and tally.array().dtype == np.uint8
    assert out["chord_coverage"]["jazz"] == {"phrases": 2, "phrases_with_chords": 1, "half_bars_with_chord": 0.5,
                                             "chord_tone_share": pytest.approx(0.6667, abs=1e-4)}
    assert out["pieces_by_chord_source"] == {"chord symbols": 2} and "97 chord ids" in out["chord_vocabulary"]
    assert out["chord_tone_share_under_0.3"] == [{"path": "b.xml", "chord_tone_share": 0.25}]   # listed, not skipped
