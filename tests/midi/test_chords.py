"""Reading chords: MIDI accompaniment tracks, score chord symbols and a chorale's lower voices."""

import io
import types

import numpy as np
import pretty_midi
import pytest

from musiclatent.midi.chords import chord_from_music21, chords_from_midi_bytes, chords_from_score, quality_of_kind
from musiclatent.midi.io import from_midi_bytes, read_leadsheets
from musiclatent.midi.notation import first_score, from_music21, parse_score
from musiclatent.representations.chords import ChordError, chord_name, parse_chord

from tests.leadsheet_xml import leadsheet

SEC = 0.125  # one step at 120 qpm
PROGRESSION = [("C", 0, (60, 64, 67)), ("Am", 9, (57, 60, 64)), ("F", 5, (57, 60, 65)), ("G7", 7, (55, 59, 62, 65))]


def three_tracks(drums: bool = False, passing: bool = True) -> bytes:
    """Melody, block chords and a bass line over C Am F G7 (a half bar each), as MIDI bytes."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    melody = pretty_midi.Instrument(73, name="Flute")
    piano = pretty_midi.Instrument(0, name="Piano")
    bass = pretty_midi.Instrument(33, name="Bass")
    for k, (_, root, tones) in enumerate(PROGRESSION):
        t0 = k * 8 * SEC
        for p in tones:
            piano.notes.append(pretty_midi.Note(70, p, t0, t0 + 8 * SEC))
        bass.notes.append(pretty_midi.Note(80, 36 + root, t0, t0 + 4 * SEC))
        bass.notes.append(pretty_midi.Note(80, 43 + root, t0 + 4 * SEC, t0 + 8 * SEC))  # root then fifth
        for j, p in enumerate((76, 74, 72, 79)):
            melody.notes.append(pretty_midi.Note(90, p + (k % 2), t0 + 2 * j * SEC, t0 + (2 * j + 2) * SEC))
    if passing:   # a short passing note in the piano does not change the first chord
        piano.notes.append(pretty_midi.Note(60, 62, 6 * SEC, 7 * SEC))
    pm.instruments += [melody, piano, bass]
    if drums:
        kit = pretty_midi.Instrument(0, is_drum=True, name="Drums")
        kit.notes += [pretty_midi.Note(100, 38 + (i % 3), i * 2 * SEC, (i * 2 + 1) * SEC) for i in range(16)]
        pm.instruments.append(kit)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize("drums", [False, True], ids=["three-tracks", "with-drums"])
def test_accompaniment_chords_of_a_three_track_file(drums):
    data = three_tracks(drums=drums)
    melody = from_midi_bytes(data)
    assert melody.track["name"] == "Flute"
    reading = chords_from_midi_bytes(data, melody)
    assert reading.source == "accompaniment"
    assert reading.tracks == ["Piano", "Bass"]                     # not the melody, never the drums
    assert [chord_name(c) for c in reading.chords(0, 4)] == [name for name, _, _ in PROGRESSION]
    assert reading.events.tolist()[-1] == [32, 0]                   # no chord once the music ends
    assert 0.85 < reading.mean_confidence <= 1.0
    assert reading.meta()["tracks"] == ["Piano", "Bass"] and "mean_confidence" in reading.meta()


def test_read_leadsheets_gives_melody_and_chords_together():
    (pid, melody, reading), = read_leadsheets("song.mid", data=three_tracks())
    assert pid == "song.mid" and len(melody.notes) == 16
    assert [chord_name(c) for c in reading.chords(0, 5)] == ["C", "Am", "F", "G7", "N.C."]


def test_a_melody_alone_has_no_accompaniment_chords():
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0, name="Melody")
    inst.notes += [pretty_midi.Note(90, 60 + i, i * 0.5, i * 0.5 + 0.5) for i in range(8)]
    pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    reading = chords_from_midi_bytes(buf.getvalue(), from_midi_bytes(buf.getvalue()))
    assert reading.source == "none" and "accompaniment" in reading.reason and len(reading.events) == 0
    assert reading.chords(0, 2).tolist() == [0, 0]


def _score(xml: str):
    score = first_score(parse_score(xml, "musicxml"))
    return score, from_music21(score)


def test_chord_symbols_on_the_melody_grid_with_a_pickup():
    xml = leadsheet([
        [(67, 4)],                                                   # pickup: one quarter, no chord
        ["C", (72, 8), "G:dominant", (71, 8)],
        ["N.C.", (None, 8), "A:minor", (69, 8)],
        ["F#:half-diminished", (66, 8), "Bb:major-seventh", (70, 8)],
    ])
    score, melody = _score(xml)
    reading = chords_from_score(score, melody)
    assert reading.source == "chord symbols" and reading.n_symbols == 6 and not reading.unparsed
    assert int(melody.bars[0, 0]) == 4                               # the first full bar starts after the pickup
    expected = ["C", "G7", "N.C.", "Am", "F#m7b5", "Bb"]
    assert reading.events[:, 0].tolist() == [4, 12, 20, 28, 36, 44, 52]
    assert [chord_name(c) for c in reading.events[:, 1]] == expected + ["N.C."]
    assert [chord_name(c) for c in reading.chords(4, 6)] == expected
    assert [chord_name(c) for c in reading.chords(0, 1)] == ["C"]      # 4 steps of nothing, 4 of C: the chord
    assert [chord_name(c) for c in reading.chords(-2, 1)] == ["N.C."]  # 6 steps of nothing, 2 of C


def test_mostly_unreadable_symbols_are_not_trusted():
    xml = leadsheet([["C:pedal", (60, 8), "D:Italian", (62, 8)], ["G", (67, 8), "E:Tristan", (64, 8)]])
    score, melody = _score(xml)
    reading = chords_from_score(score, melody)
    assert reading.n_symbols == 4 and len(reading.unparsed) == 3 and not reading.trusted
    assert reading.chords(0, 4).tolist() == [0, 0, 0, 0]             # never half-read chords
    meta = reading.meta()
    assert meta["unparsed"] == 3 and "Cpedal" in meta["unparsed_examples"] and "unreadable" in meta["reason"]


def test_a_chorale_gets_a_chord_per_beat_from_its_lower_voices():
    from music21 import note, stream

    voices = {   # soprano, alto, tenor, bass over C | F | G | C, one beat each
        "Soprano": [72, 72, 74, 72], "Alto": [67, 69, 71, 67], "Tenor": [64, 65, 62, 64], "Bass": [48, 53, 43, 48],
    }
    score = stream.Score()
    for name, pitches in voices.items():
        part = stream.Part()
        part.partName = name
        for p in pitches:
            part.append(note.Note(p, quarterLength=1.0))
        score.insert(0, part)
    melody = from_music21(score)
    assert melody.track["name"] == "Soprano"
    reading = chords_from_score(score, melody)
    assert reading.source == "other parts" and reading.tracks == ["Alto", "Tenor", "Bass"]
    assert [chord_name(c) for c in reading.chords(0, 4, steps_per_cell=4)] == ["C", "F", "G", "C"]
    assert 0.9 < reading.mean_confidence < 1.0             # the F chord lacks its fifth


@pytest.mark.parametrize("kind, quality", [
    ("major", "maj"), ("minor", "min"), ("dominant", "dom7"), ("dominant-seventh", "dom7"), ("dominant-13th", "dom7"),
    ("major-seventh", "maj"), ("major-sixth", "maj"), ("minor-seventh", "min7"), ("minor-ninth", "min7"),
    ("minor-sixth", "min"), ("minor-major-seventh", "min"), ("major-minor", "min"), ("diminished", "dim"),
    ("diminished-seventh", "dim"), ("half-diminished", "hdim"), ("augmented-seventh", "aug"),
    ("suspended-fourth", "sus"), ("suspended-second", "sus"), ("power", "maj"), ("pedal", None), ("", None),
])
def test_quality_of_musicxml_kinds(kind, quality):
    assert quality_of_kind(kind) == quality


def test_chord_from_music21_falls_back_to_the_figure():
    def stub(figure, kind="other", root_pc=None):
        root = types.SimpleNamespace(pitchClass=root_pc) if root_pc is not None else None
        return types.SimpleNamespace(figure=figure, chordKind=kind, root=lambda: root)

    assert chord_from_music21(stub("B-7")) == parse_chord("Bb7")        # music21's flat sign
    assert chord_from_music21(stub("x", "minor-seventh", 2)) == parse_chord("Dm7")
    with pytest.raises(ChordError, match="'H7'"):
        chord_from_music21(stub("H7"))
    assert np.issubdtype(type(chord_from_music21(stub("C"))), np.integer)
