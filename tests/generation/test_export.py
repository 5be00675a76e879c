"""Export: a block-chord track beside the melody, and the melody-only file unchanged without chords."""

import io

import numpy as np
import pretty_midi

from musiclatent.generation.export import notes_to_pretty_midi, phrases_to_pretty_midi, write_phrases_midi
from musiclatent.representations.chords import parse_progression
from musiclatent.representations.pianoroll import notes_to_tokens

MELODY = np.array([[72, 0, 8], [74, 8, 16], [76, 16, 32]], np.int32)


def _round_trip(pm):
    buf = io.BytesIO()
    pm.write(buf)
    buf.seek(0)
    return pretty_midi.PrettyMIDI(buf)


def test_no_chords_gives_the_same_one_track_file():
    pm = _round_trip(notes_to_pretty_midi(MELODY, qpm=120, program=40))
    assert len(pm.instruments) == 1 and pm.instruments[0].program == 40
    assert [(n.pitch, round(n.start, 3)) for n in pm.instruments[0].notes] == [(72, 0.0), (74, 1.0), (76, 2.0)]


def test_chords_add_a_block_chord_track_with_its_own_program():
    chords = parse_progression("C G N.C. Am")
    pm = _round_trip(notes_to_pretty_midi(MELODY, qpm=120, program=40, chords=chords, chord_program=48))
    melody, track = pm.instruments
    assert melody.program == 40 and len(melody.notes) == 3            # the melody is untouched
    assert track.program == 48 and track.name == "chords" and not track.is_drum
    struck = sorted((round(n.start, 3), n.pitch) for n in track.notes)
    # half a bar is 1 s at 120 qpm: C E G, then G B D, nothing, then A C E, all inside C3..A4
    assert struck == [(0.0, 48), (0.0, 52), (0.0, 55), (1.0, 55), (1.0, 59), (1.0, 62),
                      (3.0, 57), (3.0, 60), (3.0, 64)]
    assert all(round(n.end - n.start, 3) == 1.0 for n in track.notes)
    assert all(48 <= n.pitch <= 69 for n in track.notes)


def test_phrases_export_passes_chords_through(tmp_path):
    tokens = notes_to_tokens(MELODY, 32)
    pm = phrases_to_pretty_midi(tokens[None], chords=parse_progression("F F C C"))
    assert len(pm.instruments) == 2 and len(pm.instruments[1].notes) == 12
    path = write_phrases_midi(tmp_path / "lead.mid", tokens[None], chords=parse_progression("F F C C"), chord_program=0)
    assert len(pretty_midi.PrettyMIDI(str(path)).instruments) == 2
    assert len(phrases_to_pretty_midi(tokens[None]).instruments) == 1
