"""Song-level operations and DAW-clean export, through the library and the CLI."""

import numpy as np
import pretty_midi
import pytest

from musiclatent.generation import studio
from musiclatent.cli.main import main as cli_main
from musiclatent.generation.export import phrases_to_pretty_midi
from musiclatent.generation.songs import join_phrases, song_phrases
from musiclatent.midi.io import read_melody
from musiclatent.representations.pianoroll import tokens_to_notes

from tests.conftest import make_song


@pytest.fixture(scope="module")
def two_songs(tmp_path_factory):
    d = tmp_path_factory.mktemp("two")
    make_song(d / "a.mid", bars=16, qpm=100, program=40, seed=1)
    make_song(d / "b.mid", bars=10, qpm=140, ts=(2, 4), program=73, seed=2)
    return d / "a.mid", d / "b.mid"


def test_export_round_trip_exact(tmp_path):
    toks = np.zeros((2, 32), np.int64)
    toks[0, [0, 4, 8]] = [2 + 60, 2 + 62, 2 + 64]
    toks[0, 12] = 1
    toks[1, [0, 2]] = [2 + 60, 2 + 60]       # repeated notes stay distinct
    pm = phrases_to_pretty_midi(toks, qpm=96.0, time_signature=(2, 4), program=33, velocity=77, name="bass line")
    path = tmp_path / "x.mid"
    pm.write(str(path))
    back = pretty_midi.PrettyMIDI(str(path))
    _, tempi = back.get_tempo_changes()
    assert tempi[0] == pytest.approx(96.0, rel=1e-4)
    ts = back.time_signature_changes[0]
    assert (ts.numerator, ts.denominator, ts.time) == (2, 4, 0.0)
    inst = back.instruments[0]
    assert inst.program == 33 and inst.name == "bass line" and not inst.is_drum
    sec = 60.0 / 96.0 / 4
    got = [(n.pitch, round(n.start / sec), round(n.end / sec), n.velocity) for n in inst.notes]
    want = [(60, 0, 4, 77), (62, 4, 8, 77), (64, 8, 12, 77), (60, 32, 34, 77), (60, 34, 64, 77)]
    assert got == want
    assert all(n.end > n.start for n in inst.notes)
    assert all(a.end <= b.start for a, b in zip(inst.notes, inst.notes[1:]))


def test_interpolate_songs_of_different_length_meter_tempo(debug_model, two_songs):
    a, b = (read_melody(p) for p in two_songs)
    res = studio.interpolate_songs(debug_model, a, b, steps=4)
    assert res.qpm == pytest.approx(100) and res.program == 40 and res.time_signature == (4, 4)
    assert "extended" in res.notes[0]
    steps = [res.segments[f"step_{k:02d}"] for k in range(1, 5)]
    assert all(s.shape == steps[0].shape for s in steps) and steps[0].shape[0] == 8  # 16 bars of A
    assert res.files["morph"][0] == "a_opening" and res.files["morph"][-1] == "b_ending"
    assert len(res.files["morph"]) == 4 + 2


def test_cli_commands_write_daw_files(debug_model_dir, two_songs, tmp_path):
    a, b = two_songs
    m = str(debug_model_dir)
    assert cli_main(["interpolate", str(a), str(b), "--model", m, "--out", str(tmp_path / "i"), "--steps", "3"]) == 0
    names = {p.name for p in (tmp_path / "i").iterdir()}
    assert {"morph.mid", "step_01.mid", "step_03.mid", "recon_a.mid", "recon_b.mid", "morph.png"} <= names
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "i" / "morph.mid"))
    assert pm.instruments[0].program == 40 and pm.get_tempo_changes()[1][0] == pytest.approx(100, rel=1e-4)
    assert cli_main(["sample", "--model", m, "--out", str(tmp_path / "s"), "--n", "2", "--bars", "8",
                     "--seed", "3", "--wav", "--program", "24", "--tempo", "90"]) == 0
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "s" / "sample_01.mid"))
    assert pm.instruments[0].program == 24 and pm.get_end_time() <= 8 * 4 * 60 / 90 + 1e-6
    assert (tmp_path / "s" / "sample_01.wav").stat().st_size > 1000
    assert cli_main(["restyle", str(a), "--model", m, "--out", str(tmp_path / "r"), "--style", "airs",
                     "--strength", "0.5"]) == 0
    assert cli_main(["vary", str(b), "--model", m, "--out", str(tmp_path / "v"), "--n", "2"]) == 0
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "v" / "variation_01.mid"))
    assert pm.time_signature_changes[0].numerator == 2     # the input's meter ...
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "v" / "original.mid"))
    assert pm.instruments[0].program == 73                 # ... and program
    assert cli_main(["continue", str(b), "--model", m, "--out", str(tmp_path / "c"), "--n", "3"]) == 0
    whole = pretty_midi.PrettyMIDI(str(tmp_path / "c" / "continued.mid"))
    new = pretty_midi.PrettyMIDI(str(tmp_path / "c" / "continuation.mid"))
    assert whole.instruments[0].program == 73 and whole.time_signature_changes[0].numerator == 2
    n_new = sum(len(i.notes) for i in new.instruments if i.name != "chords")   # the melody, not its chord track
    assert len(whole.instruments[0].notes) > n_new                # the song, then the new phrases
    assert cli_main(["encode", str(a.parent), "--model", m, "--out", str(tmp_path / "e")]) == 0
    z = np.load(tmp_path / "e" / "latents.npy")
    assert z.ndim == 2 and z.shape[0] >= 2
    assert cli_main(["render", str(tmp_path / "i" / "morph.mid"), str(tmp_path / "m.wav")]) == 0


def test_cli_user_errors_are_one_line(debug_model_dir, two_songs, tmp_path, capsys):
    m = str(debug_model_dir)
    assert cli_main(["sample", "--model", m, "--out", str(tmp_path), "--style", "klezmer"]) == 2
    err = capsys.readouterr().err
    assert "valid styles" in err and "reels" in err and "Traceback" not in err
    junk = tmp_path / "notes.txt"
    junk.write_text("just some words")
    assert cli_main(["vary", str(junk), "--model", m, "--out", str(tmp_path / "v")]) == 2
    assert "not a music file" in capsys.readouterr().err
    assert cli_main(["sample", "--model", m, "--out", str(tmp_path), "--attr", "loudness=1"]) == 2
    assert cli_main(["sample", "--model", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2


def test_generated_notes_are_clean(debug_model):
    res = studio.sample(debug_model, n=3, bars=6, temperature=1.0, seed=9)
    for name in res.files:
        toks = res.segments[name]
        assert toks.shape == (1, 6 * 16)
        notes = tokens_to_notes(toks[0])
        assert np.all(notes[:, 2] > notes[:, 1]) and np.all(notes[1:, 1] >= notes[:-1, 2])


@pytest.mark.parametrize("meter", [(3, 4), (6, 8), (9, 8)], ids=lambda m: f"{m[0]}-{m[1]}")
def test_songs_in_other_meters_are_written_back_in_their_meter_with_bars_in_place(debug_model_dir, tmp_path,
                                                                                  meter):
    """Two waltzes morph to 3/4 MIDI, two jigs to 6/8: the phrases are a stream over the song, so
    each note of a reconstruction keeps its place against the song's own bar lines."""
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    notes_a = make_song(a, bars=12, ts=meter, seed=4)
    make_song(b, bars=9, ts=meter, seed=5)
    out = tmp_path / "morph"
    assert cli_main(["interpolate", str(a), str(b), "--model", str(debug_model_dir), "--out", str(out),
                     "--steps", "3"]) == 0
    bar = meter[0] * 16 // meter[1]
    for name in ("morph.mid", "recon_a.mid", "step_02.mid"):
        pm = pretty_midi.PrettyMIDI(str(out / name))
        ts = pm.time_signature_changes
        assert [(t.numerator, t.denominator, t.time) for t in ts] == [(*meter, 0.0)], name
    # the phrases are one stream over the song from a bar line: joined back, every note of A is
    # where it was against A's own bar lines (what an exact reconstruction writes)
    song = song_phrases(read_melody(a), 32)
    joined = join_phrases(song.phrases) + np.array([0, song.offset, song.offset])
    assert joined.tolist() == notes_a.tolist()
    assert song.offset % bar == 0 and song.meter_for_export == meter
    assert any(f"keeps {meter[0]}/{meter[1]}" in r for r in song.notes)
