"""Melody extraction from real-looking files: track choice, meters, pickups, tempo changes."""

import io

import numpy as np
import pretty_midi
import pytest

from musiclatent.constants import NOTE_ON_OFFSET as N
from musiclatent.midi.io import MusicReadError, from_abc_text, from_midi_bytes
from musiclatent.midi.melody import Track, bars_from_time_signatures, choose_melody_track, melody_windows


def midi_bytes(pm) -> bytes:
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def three_track(names=("Piano", "Strings", "Kit")):
    """melody (monophonic, high), chords (polyphonic, low), drums."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    chords = pretty_midi.Instrument(0, name=names[1])
    mel = pretty_midi.Instrument(73, name=names[0])
    drums = pretty_midi.Instrument(0, is_drum=True, name=names[2])
    for b in range(4):
        for p in (48, 52, 55):
            chords.notes.append(pretty_midi.Note(70, p, b * 2.0, b * 2.0 + 2.0))
        for q in range(8):  # eighth notes at 120 qpm = 0.25 s
            mel.notes.append(pretty_midi.Note(100, 72 + (q % 3), b * 2.0 + q * 0.25, b * 2.0 + q * 0.25 + 0.25))
            drums.notes.append(pretty_midi.Note(100, 42, b * 2.0 + q * 0.25, b * 2.0 + q * 0.25 + 0.1))
    pm.instruments += [chords, drums, mel]  # melody deliberately last
    return pm


def test_melody_track_by_monophony_and_register():
    mel = from_midi_bytes(midi_bytes(three_track()))
    assert mel.track["name"] == "Piano"
    assert "monophony" in mel.track["reason"]
    assert mel.program == 73 and mel.velocity == 100
    assert mel.notes[:3].tolist() == [[72, 0, 2], [73, 2, 4], [74, 4, 6]]


def test_melody_track_by_name_and_forced():
    pm = three_track(names=("Piano", "Lead Vocal", "Kit"))
    mel = from_midi_bytes(midi_bytes(pm))
    assert mel.track["name"] == "Lead Vocal" and "vocal" in mel.track["reason"]
    forced = from_midi_bytes(midi_bytes(three_track()), track="Piano")
    assert forced.track["reason"].startswith("forced")
    with pytest.raises(MusicReadError, match="no track"):
        from_midi_bytes(midi_bytes(three_track()), track="Bassoon")


def test_choose_never_picks_drums():
    drums = Track(0, "Lead", np.array([[42, 0, 1]]), is_drum=True)
    bass = Track(1, "Bass", np.array([[40, 0, 4]]))
    assert choose_melody_track([drums, bass])[0] == 1
    with pytest.raises(ValueError, match="drum"):
        choose_melody_track([drums])


def test_tempo_change_does_not_move_notes():
    import mido

    tpb = 480
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0),            # 120 qpm
                           mido.MetaMessage("set_tempo", tempo=1_000_000, time=4 * tpb)])   # 60 qpm from beat 4
    notes = mido.MidiTrack([mido.MetaMessage("track_name", name="melody", time=0)])
    last = 0
    for beat in (0, 2, 4, 6):
        notes.append(mido.Message("note_on", note=60 + beat, velocity=90, time=beat * tpb - last))
        notes.append(mido.Message("note_off", note=60 + beat, velocity=0, time=tpb))
        last = (beat + 1) * tpb
    mid.tracks += [meta, notes]
    buf = io.BytesIO()
    mid.save(file=buf)
    mel = from_midi_bytes(buf.getvalue())
    assert mel.notes.tolist() == [[60, 0, 4], [62, 8, 12], [64, 16, 20], [66, 24, 28]]
    assert mel.qpm == pytest.approx(120.0)


def test_two_four_meter_windows():
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(2, 4, 0))
    inst = pretty_midi.Instrument(0, name="melody")
    for q in range(16):  # 8 bars of 2/4, quarter notes
        inst.notes.append(pretty_midi.Note(90, 60 + q % 5, q * 0.5, q * 0.5 + 0.5))
    pm.instruments.append(inst)
    mel = from_midi_bytes(midi_bytes(pm))
    assert mel.time_signature == (2, 4)
    assert mel.bars[:3].tolist() == [[0, 8], [8, 8], [16, 8]]
    win = melody_windows(mel, 2)
    assert win.start_bars.tolist() == [0, 2, 4]  # a hop of one 4/4 bar = two 2/4 bars
    # quarter note q (pitch 60 + q % 5) is a note-on and three holds; window w starts at quarter 4w
    expected = [[tok for q in range(4 * w, 4 * w + 8) for tok in (N + 60 + q % 5, 0, 0, 0)] for w in range(3)]
    assert win.tokens.tolist() == expected


def test_pickup_bar_from_abc():
    mel = from_abc_text("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nG|c2 d2 e2 f2|g2 f2 e2 d2|c8|c8|\n")
    assert mel.notes[0].tolist() == [67, 0, 2]      # the pickup G, an eighth
    assert mel.bars[0].tolist() == [2, 16]           # first full bar starts after it
    win = melody_windows(mel, 2)
    assert win.tokens[0, 0] == N + 72                # windows start on the bar line (c)
    assert win.tokens[0, :4].tolist() == [N + 72, 0, 0, 0]


def test_triple_meter_is_skipped_with_reason():
    mel = from_abc_text("X:1\nT:waltz\nM:3/4\nL:1/4\nK:G\nGAB|cde|dcB|A3|GAB|cde|dcB|G3|\n")
    win = melody_windows(mel, 2)
    assert len(win.tokens) == 0 and "meter 3/4" in win.reason


def test_bars_from_time_signatures():
    bars = bars_from_time_signatures([(0.0, 4, 4), (8.0, 2, 4)], end_quarter=12.0)
    assert bars.tolist() == [[0, 16], [16, 16], [32, 8], [40, 8]]
