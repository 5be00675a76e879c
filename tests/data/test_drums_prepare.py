"""Drum parts of MIDI files -> 2-bar groove windows (prepare --drums), on tiny files built here."""

import json

import numpy as np
import pretty_midi
import pytest

from musiclatent.cli.main import main
from musiclatent.data.dataset import load_dataset
from musiclatent.data.drums import drum_windows, prepare_drums
from musiclatent.midi.drums import from_midi_drums, read_drums, to_drum_midi
from musiclatent.midi.io import MusicReadError
from musiclatent.representations import DRUMS

KICK, SNARE, HAT = 36, 38, 42


def write_groove(path, bars=4, qpm=100.0, ts=(4, 4), hats=True, piano=True, velocity=100, shift_ticks=0):
    """A rock beat (kick 1 and 3, snare 2 and 4, 8th hats) on channel 10, plus a piano track."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=qpm, resolution=480)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(ts[0], ts[1], 0))
    sec = 60.0 / qpm / 4
    drums = pretty_midi.Instrument(0, is_drum=True)
    for b in range(bars):
        for step, pitch in ((0, KICK), (4, SNARE), (8, KICK), (12, SNARE)) + tuple((s, HAT) for s in range(0, 16, 2) if hats):
            t = (b * 16 + step) * sec + shift_ticks * sec / 120
            drums.notes.append(pretty_midi.Note(velocity, pitch, t, t + sec / 2))
    pm.instruments.append(drums)
    if piano:
        keys = pretty_midi.Instrument(0)
        keys.notes.append(pretty_midi.Note(80, 60, 0.0, 1.0))
        pm.instruments.append(keys)
    pm.write(str(path))


ONE_BAR = np.array([1 + 4, 0, 4, 0, 2 + 4, 0, 4, 0, 1 + 4, 0, 4, 0, 2 + 4, 0, 4, 0])


def test_reads_only_channel_10_quantized(tmp_path):
    write_groove(tmp_path / "g.mid", bars=1, shift_ticks=20)      # a little late: rounds to the grid
    part = read_drums(tmp_path / "g.mid")
    assert part.qpm == pytest.approx(100.0) and part.time_signature == (4, 4)
    np.testing.assert_array_equal(DRUMS.to_tokens(part.notes, 16), ONE_BAR)
    assert np.all(part.offsets > 0) and np.all(part.offsets < 0.5)   # the micro-timing is kept


def test_no_drums_is_a_clear_error(tmp_path):
    pm = pretty_midi.PrettyMIDI()
    keys = pretty_midi.Instrument(0)
    keys.notes.append(pretty_midi.Note(80, 60, 0.0, 1.0))
    pm.instruments.append(keys)
    pm.write(str(tmp_path / "keys.mid"))
    with pytest.raises(MusicReadError, match="channel 10"):
        read_drums(tmp_path / "keys.mid")
    with pytest.raises(MusicReadError):
        from_midi_drums(b"not midi")


def test_windows_start_on_every_bar(tmp_path):
    write_groove(tmp_path / "g.mid", bars=4)
    tok, lev, start = drum_windows(read_drums(tmp_path / "g.mid"), bars=2)
    assert start.tolist() == [0, 1, 2] and tok.shape == (3, 32) and lev.shape == (3, 32, 9)
    np.testing.assert_array_equal(tok[0], np.tile(ONE_BAR, 2))
    assert lev[0, 0, 0] == 3       # velocity 100 -> level 3


def test_a_fill_shorter_than_a_bar_gives_one_padded_window(tmp_path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    drums = pretty_midi.Instrument(0, is_drum=True)
    for s in range(0, 12, 2):
        drums.notes.append(pretty_midi.Note(90, 45 if s < 6 else 48, s * 0.125, s * 0.125 + 0.05))
    pm.instruments.append(drums)
    pm.write(str(tmp_path / "fill.mid"))
    tok, _, start = drum_windows(read_drums(tmp_path / "fill.mid"), bars=2)
    assert start.tolist() == [0] and (tok[0, 16:] == 0).all() and (tok[0, :12:2] > 0).all()


def test_prepare_folder_styles_splits_and_skips(tmp_path):
    src = tmp_path / "grooves"
    for style in ("rock", "funk"):
        (src / style).mkdir(parents=True)
        for i in range(3):
            write_groove(src / style / f"{style}{i}.mid", bars=3 + i, qpm=90 + i, hats=style == "rock",
                         velocity=60 + 20 * i)
    write_groove(src / "rock" / "waltz.mid", ts=(3, 4))
    m = prepare_drums([str(src)], tmp_path / "out", bars=2)
    assert m["representation"] == "drums" and set(m["style_names"]) == {"rock", "funk"}
    assert any("3/4" in s["reason"] for s in m["files_skipped"])
    data = load_dataset(tmp_path / "out")
    assert data.tokens.dtype == np.int16 and data.tokens.shape[1] == 32 and data.tokens.max() < 512
    assert set(np.unique(data.split)) <= {0, 1, 2}
    with np.load(tmp_path / "out" / "phrases.npz") as z:
        assert z["velocity"].shape == (len(data), 32, 9)
        assert set(np.unique(z["velocity"])) <= {0, 1, 2, 3, 4}
    # identical rock windows in one split are kept once
    assert m["duplicates_dropped"] > 0


def test_cli_prepare_drums(tmp_path, capsys):
    (tmp_path / "in" / "rock").mkdir(parents=True)
    write_groove(tmp_path / "in" / "rock" / "a.mid", bars=3)
    assert main(["prepare", str(tmp_path / "in"), "--drums", "--out", str(tmp_path / "ds")]) == 0
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["phrases"] == 1 and manifest["duplicates_dropped"] == 1   # two identical windows


def test_drum_midi_is_channel_10_with_tempo_and_whole_bars(tmp_path):
    notes = DRUMS.from_tokens(np.tile(ONE_BAR, 2))
    pm = to_drum_midi(notes, 90, qpm=87.0, end_step=32)
    pm.write(str(tmp_path / "out.mid"))
    back = pretty_midi.PrettyMIDI(str(tmp_path / "out.mid"))
    assert back.instruments[0].is_drum and len(back.instruments[0].notes) == len(notes)
    assert back.get_tempo_changes()[1][0] == pytest.approx(87.0, abs=0.01)
    assert back.get_end_time() == pytest.approx(32 * 60 / 87 / 4, abs=1e-3)
    part = read_drums(tmp_path / "out.mid")
    np.testing.assert_array_equal(DRUMS.to_tokens(part.notes, 32), np.tile(ONE_BAR, 2))
