"""Bad input never crashes: every reader succeeds or raises MusicReadError.

Hypothesis drives about 300 examples in all (see ``budget`` below): random
bytes, truncated valid files, valid files with mutated bytes (header, chunk
lengths, running status, huge delta times, tempo 0, division 0), absurd note
counts, notes past an hour, and ABC / MusicXML / MXL garbage. The named edge
cases below pin what each of those must give. ``benchmarks/fuzz_long.py``
runs the same mutations 10,000 times.
"""

from __future__ import annotations

import io

import mido
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import fuzz_cases as fc
from musiclatent.constants import MAX_QUARTERS, MAX_TICKS, STEPS_PER_QUARTER
from musiclatent.midi.guards import count_midi_events
from musiclatent.midi.io import MusicReadError, from_midi_bytes, read_melodies


def budget(n: int):
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


MIDI_SEEDS = [fc.melody_midi(4, seed=1), fc.melody_midi(16, tpb=96, seed=2), fc.many_notes_midi(24)]
SCORE_SEEDS = [("tune.abc", fc.ABC_TUNE.encode()), ("voices.abc", fc.ABC_TWO_VOICES.encode()),
               ("score.xml", fc.MUSICXML.encode()), ("score.mxl", fc.mxl())]
ints = st.integers(min_value=0, max_value=2**32 - 1) | st.integers(min_value=0, max_value=300)


@pytest.mark.parametrize("data", MIDI_SEEDS + [d for _, d in SCORE_SEEDS],
                         ids=["midi-4", "midi-16-tpb96", "midi-running-status", "abc", "abc-two-voices", "musicxml", "mxl"])
def test_seed_files_are_valid(data):
    """Mutations start from files that read: a crash-free fuzz of only-broken files proves little."""
    assert fc.read_untrusted(data, {b"X:": "a.abc", b"<?": "a.xml", b"PK": "a.mxl"}.get(data[:2], "a.mid")) == "ok"


# --------------------------------------------------------------------------- hypothesis

@budget(40)
@given(st.binary(max_size=512) | st.binary(max_size=512).map(lambda b: b"MThd" + b)
       | st.binary(max_size=512).map(lambda b: fc.header() + b"MTrk" + b))
def test_random_bytes(data):
    fc.read_untrusted(data, "upload.mid")


@budget(40)
@given(st.sampled_from(MIDI_SEEDS + [d for _, d in SCORE_SEEDS]), ints)
def test_truncated_files(data, n):
    fc.read_untrusted(fc.truncate(data, n), "upload")


@budget(100)
@given(st.sampled_from(MIDI_SEEDS),
       st.lists(st.tuples(st.sampled_from(sorted(fc.MIDI_MUTATIONS)), st.lists(ints, min_size=4, max_size=4)),
                min_size=1, max_size=3))
def test_mutated_midi(seed, mutations):
    data = seed
    for name, args in mutations:
        data = fc.mutate(data, name, args)
    fc.read_untrusted(data, "upload.mid")
    # the memory guard counts exactly the events mido builds (an undercount would let a big file through)
    try:
        events = sum(len(t) for t in mido.MidiFile(file=io.BytesIO(data), clip=True).tracks)
    except Exception:
        return
    assert count_midi_events(data, 10**9) == events


@budget(20)
@given(st.integers(0, 3000), st.sampled_from([1, 24, 96, 480, 0x7FFF]),
       st.integers(0, 2**28 - 1), st.integers(1, 2**20))
def test_note_counts_and_late_notes(n_notes, tpb, first_delta, step):
    """Many notes, any division, starting anywhere up to the 4-byte delta maximum."""
    one = fc.vlq(0) + b"\x3c\x50" + fc.vlq(step) + b"\x3c\x00"
    body = fc.vlq(first_delta) + b"\x90\x3c\x50" + fc.vlq(step) + b"\x3c\x00" + one * n_notes + fc.END_OF_TRACK
    data = fc.header(0, 1, tpb) + fc.chunk(b"MTrk", body)
    last_tick = first_delta + (n_notes + 1) * step
    try:
        mel = from_midi_bytes(data)
    except MusicReadError as err:
        assert str(err)
        return
    fc.check_melody(mel)
    assert last_tick <= MAX_TICKS
    assert mel.notes[:, 1].max() <= MAX_QUARTERS * STEPS_PER_QUARTER
    past_limit = last_tick - step >= MAX_QUARTERS * tpb  # the last note starts past the cut
    assert ("cut" in mel.track) == past_limit


@budget(60)
@given(st.sampled_from(SCORE_SEEDS),
       st.lists(st.tuples(ints, st.sampled_from(fc.SCORE_PIECES) | st.text(max_size=8), st.integers(1, 3),
                          ints), min_size=1, max_size=4))
def test_score_garbage(seed, edits):
    name, data = seed
    text = (fc.MUSICXML if name.endswith(".mxl") else data.decode())
    for pos, piece, times, cut in edits:
        text = fc.text_mutation(text, pos, piece * times, cut)
    data = text.encode("utf-8", "surrogatepass")
    fc.read_untrusted(fc.mxl(data) if name.endswith(".mxl") else data, name)


@budget(40)
@given(st.sampled_from([("score.mxl", fc.mxl()), ("tune.abc", fc.ABC_TUNE.encode())]),
       st.lists(st.tuples(ints, ints), min_size=1, max_size=4))
def test_score_bytes_mutated(seed, edits):
    name, data = seed
    for pos, value in edits:
        data = fc.set_bytes(data, pos, bytes([value & 0xFF]))
    fc.read_untrusted(data, name)


# --------------------------------------------------------------------------- named edge cases

def _one_track(body: bytes, tpb: int = 480, fmt: int = 0) -> bytes:
    return fc.header(fmt, 1, tpb) + fc.chunk(b"MTrk", body)


NOTE = b"\x00\x90\x3c\x50\x83\x60\x3c\x00"  # one quarter note at tpb 480
SIMPLE = _one_track(NOTE + NOTE + fc.END_OF_TRACK)

EDGE_CASES = {
    # name: (bytes, None if it reads, else a fragment of the error)
    "empty": (b"", "empty file"),
    "header_only": (fc.header(0, 1), "truncated"),
    "zero_ticks_per_beat": (fc.set_header(SIMPLE, 0, 1, 0), "ticks per beat"),
    "smpte_division": (fc.set_header(SIMPLE, 0, 1, 0xE728), "SMPTE"),
    "type_2": (fc.set_header(SIMPLE, 2, 1, 480), "type 2"),
    "more_tracks_declared": (fc.set_header(SIMPLE, 1, 9, 480), "truncated"),
    "header_length_huge": (fc.set_header_length(SIMPLE, 0xFFFFFFFF), "corrupt"),
    "chunk_length_zero": (fc.set_chunk_length(SIMPLE, 0, 0), "no notes"),
    "chunk_length_past_end": (fc.set_chunk_length(SIMPLE, 0, 0xFFFFFFFF), "truncated"),
    "orphan_running_status": (_one_track(b"\x00\x3c\x50" + NOTE + fc.END_OF_TRACK), "running status"),
    "tempo_zero": (_one_track(fc.tempo_event(0) + NOTE + NOTE + fc.END_OF_TRACK), None),
    "tempo_wrong_length": (_one_track(b"\x00\xff\x51\x00" + NOTE + fc.END_OF_TRACK), "corrupt"),
    "time_signature_zero": (_one_track(fc.time_signature_event(0, 0) + NOTE + fc.END_OF_TRACK), None),
    "time_signature_2_pow_255": (_one_track(fc.time_signature_event(255, 255) + NOTE + fc.END_OF_TRACK), None),
    "huge_delta_past_limit": (_one_track(NOTE + (fc.vlq(2**28 - 1) + b"\x3c\x50") * 2 + NOTE + fc.END_OF_TRACK),
                              "too long"),
    "note_off_only": (_one_track(b"\x00\x80\x3c\x40" + fc.END_OF_TRACK), "no notes"),
    "never_released": (_one_track(b"\x00\x90\x3c\x50" + fc.END_OF_TRACK), "no notes"),
    "drums_only": (_one_track(b"\x00\x99\x24\x50\x83\x60\x24\x00" + fc.END_OF_TRACK), "drum"),
    "undefined_status": (_one_track(b"\x00\xf4" + NOTE + fc.END_OF_TRACK), "corrupt"),
    "riff_wrapped": (b"RIFF\x00\x00\x00\x00RMIDdata" + SIMPLE, "corrupt"),
    "all_notes_past_the_cut": (_one_track(fc.vlq((MAX_QUARTERS + 1) * 480) + NOTE[1:] + fc.END_OF_TRACK), "no notes"),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_midi_edge_case(name):
    data, error = EDGE_CASES[name]
    if error is None:
        mel = from_midi_bytes(data)
        fc.check_melody(mel)
        assert read_melodies(f"{name}.mid", data=data)[0][1].notes.tolist() == mel.notes.tolist()
        return
    with pytest.raises(MusicReadError, match=f"(?i){error}"):
        from_midi_bytes(data)
    with pytest.raises(MusicReadError, match=f"(?i){error}"):
        read_melodies(f"{name}.mid", data=data)


def test_notes_past_an_hour_are_cut_with_a_message():
    tpb = 96
    late = MAX_QUARTERS * tpb + 5 * tpb  # five quarters past the cut
    body = NOTE.replace(b"\x83\x60", fc.vlq(tpb)) * 8 + fc.vlq(late) + b"\x90\x40\x50" + fc.vlq(tpb) + b"\x40\x00"
    mel = from_midi_bytes(_one_track(body + fc.END_OF_TRACK, tpb=tpb))
    assert len(mel.notes) == 8 and (mel.notes[:, 0] == 60).all()
    assert "cut" in mel.track and "1 later notes dropped" in mel.track["cut"]


def test_score_edge_cases():
    cases = {
        "no_tune.abc": (b"T:title only\nK:C\n", "no tune"),
        "bad_xml.xml": (b"<?xml version='1.0'?><score-partwise><part", "could not parse"),
        "xml_not_musicxml.xml": (b"<?xml version='1.0'?><html></html>", "not in score-partwise|not MusicXML"),
        "not_a_zip.mxl": (b"PK\x03\x04garbage", "corrupt MXL"),
        "binary.bin": (bytes(range(256)), "not a music file"),
    }
    for name, (data, error) in cases.items():
        with pytest.raises(MusicReadError, match=f"(?i){error}"):
            read_melodies(name, data=data)
    with pytest.raises(MusicReadError, match="could not parse|no notes|could not read"):
        for _, result in read_melodies("empty_tune.abc", data=b"X:1\nK:C\n"):
            if isinstance(result, MusicReadError):
                raise result


def test_check_melody_rejects_nonsense():
    """The invariant checker used on successes must itself be able to fail."""
    from musiclatent.midi.melody import Melody

    bad = Melody(notes=np.array([[60, 4, 2]], np.int32), bars=np.zeros((0, 2), np.int32))
    with pytest.raises(AssertionError):
        fc.check_melody(bad)
