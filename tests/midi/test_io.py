"""The readers' error contract: what a parser cannot read is a MusicReadError, our own bugs are not.

Only the third-party parsers (mido, music21) are wrapped wholesale. A bug in
the conversion code after them must surface as itself, or the fuzz tests
(``tests/test_fuzz.py``) could never catch it.
"""

from __future__ import annotations

import types

import pytest

from musiclatent.midi import midifile, notation
from musiclatent.midi.io import MusicReadError, from_abc_text, from_midi_bytes, read_melodies, read_melody
from tests import fuzz_cases as fc

SCORES = {"abc": ("tune.abc", fc.ABC_TUNE.encode()), "musicxml": ("score.xml", fc.MUSICXML.encode()),
          "mxl": ("score.mxl", fc.mxl())}
MIDI = fc.melody_midi(8, seed=1)


class OurBug(RuntimeError):
    """Stands for a bug in musiclatent's own conversion code."""


def _raise_our_bug(*args, **kwargs):
    raise OurBug("a bug in our code")


def test_seed_files_read_to_the_known_notes():
    """(pitch, start step, end step) at 4 steps per quarter, worked out from the files by hand."""
    abc = read_melody("tune.abc", data=SCORES["abc"][1])  # L:1/8, "DFAF dFAF|" in D
    assert abc.notes[:5].tolist() == [[62, 0, 2], [66, 2, 4], [69, 4, 6], [66, 6, 8], [74, 8, 10]]
    xml = read_melody("score.xml", data=SCORES["musicxml"][1])  # C E G(half) | A(half) G(half)
    assert xml.notes.tolist() == [[60, 0, 4], [64, 4, 8], [67, 8, 16], [69, 16, 24], [67, 24, 32]]
    assert read_melody("score.mxl", data=SCORES["mxl"][1]).notes.tolist() == xml.notes.tolist()
    assert from_abc_text(fc.ABC_TUNE).notes.tolist() == abc.notes.tolist()


@pytest.mark.parametrize("fmt", sorted(SCORES))
def test_a_bug_in_score_conversion_is_not_hidden(fmt, monkeypatch):
    monkeypatch.setattr(notation, "quantize_quarters", _raise_our_bug)
    name, data = SCORES[fmt]
    with pytest.raises(OurBug):
        read_melodies(name, data=data)


def test_a_bug_in_midi_conversion_is_not_hidden(monkeypatch):
    monkeypatch.setattr(midifile, "skyline", _raise_our_bug)
    with pytest.raises(OurBug):
        from_midi_bytes(MIDI)
    with pytest.raises(OurBug):
        read_melodies("song.mid", data=MIDI)


@pytest.mark.parametrize("fmt", sorted(SCORES))
def test_a_music21_parser_failure_is_a_read_error(fmt, monkeypatch):
    import music21.converter

    def broken_parser(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr(music21.converter, "parseData", broken_parser)
    monkeypatch.setattr(music21.converter, "parseFile", broken_parser)
    name, data = SCORES[fmt]
    if fmt == "abc":  # an ABC book reports each tune's error in its place
        [(_, result)] = read_melodies(name, data=data)
        assert isinstance(result, MusicReadError)
        error = result
    else:
        with pytest.raises(MusicReadError) as info:
            read_melodies(name, data=data)
        error = info.value
    assert str(error) == f"could not parse {fmt.upper()} (IndexError: list index out of range)"


def test_a_mido_failure_is_a_read_error(monkeypatch):
    import mido

    def broken_reader(*args, **kwargs):
        raise KeyError(7)

    monkeypatch.setattr(mido, "MidiFile", broken_reader)
    with pytest.raises(MusicReadError, match=r"corrupt MIDI file \(KeyError: 7\)"):
        from_midi_bytes(MIDI)


def test_a_book_without_scores_is_a_read_error():
    with pytest.raises(MusicReadError, match="no tune"):
        notation.first_score(types.SimpleNamespace(scores=[]))
    score = object()
    assert notation.first_score(types.SimpleNamespace(scores=iter([score, object()]))) is score
    assert notation.first_score(score) is score


# found by fuzzing once the blanket wrapper was gone: two voices, neither with a note music21 keeps
TWO_EMPTY_VOICES = ('X:1\nQ:1/4=0\nL:0/8\nV:2\nM:3/4\nK:Ddor\nK:C\n.x{g}"Am"y>x[1||!trill!EC16|yC/2z0c\'\n'
                    'V:2\n<C16{g}C16\n')


def test_a_score_whose_parts_have_no_notes_is_a_read_error():
    from music21 import note, stream

    rests = stream.Score([stream.Part([note.Rest(quarterLength=4)]), stream.Part([note.Rest(quarterLength=4)])])
    with pytest.raises(MusicReadError, match="no notes"):
        notation.from_music21(rests)
    [(_, result)] = read_melodies("voices.abc", data=TWO_EMPTY_VOICES.encode())
    assert isinstance(result, MusicReadError) and str(result) == "no notes"
