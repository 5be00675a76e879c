"""Melodies over chords: sample --chords, the chord track, and the chord section of evaluate."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from musiclatent.representations.chords import chord_pitch_classes, parse_progression


@pytest.fixture(scope="module")
def chord_run(tiny_dataset, tmp_path_factory):
    from musiclatent.data.dataset import load_dataset
    from musiclatent.training.loop import train

    assert (load_dataset(tiny_dataset).chords > 0).any()     # the songs' chord tracks were read
    run = tmp_path_factory.mktemp("chord-run")
    train(tiny_dataset, "debug-chords", run, max_steps=20, progress=False)
    return run


@pytest.fixture(scope="module")
def chord_model_dir(chord_run, tiny_dataset, tmp_path_factory):
    from musiclatent.training.ship import export_model

    run = chord_run
    folder = tmp_path_factory.mktemp("chord-model")
    export_model(run, tiny_dataset, folder, card="# debug chord model\n", prior=False)
    return folder


def test_progression_halves_repeat_over_the_bars():
    from musiclatent.generation.studio import progression_halves

    c, g = parse_progression("C G")
    assert progression_halves([c, g], 3).tolist() == [c, c, g, g, c, c]
    assert progression_halves([c, g], 2, chords_per_bar=2).tolist() == [c, g, c, g]
    with pytest.raises(ValueError, match="empty"):
        progression_halves([], 2)


def test_sample_with_chords_writes_a_melody_and_a_chord_track(chord_model_dir, tmp_path, capsys):
    from musiclatent.cli.main import main

    out = tmp_path / "out"
    assert main(["sample", "--model", str(chord_model_dir), "--chords", "C G Am F", "--bars", "8", "--n", "2",
                 "--out", str(out), "--no-png", "--chord-program", "24"]) == 0
    pm = pretty_midi.PrettyMIDI(str(out / "sample_01.mid"))
    assert len(pm.instruments) == 2
    chord_track = pm.instruments[1]
    assert chord_track.program == 24
    bar = 2.0                                                     # 4/4 at 120 qpm
    for k, name in enumerate(["C", "G", "Am", "F", "C", "G", "Am", "F"]):
        pcs = {n.pitch % 12 for n in chord_track.notes if abs(n.start - k * bar) < 1e-3}
        assert pcs == set(chord_pitch_classes(parse_progression(name)[0])), (k, name, pcs)
    assert max(n.end for n in chord_track.notes) == pytest.approx(8 * bar)
    assert pm.instruments[0].notes or True                       # a tiny model may rest; the track exists


def test_a_bad_chord_symbol_is_named(chord_model_dir, tmp_path, capsys):
    from musiclatent.cli.main import main

    assert main(["sample", "--model", str(chord_model_dir), "--chords", "C H7 Am", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "H7" in err and "chord 2 of 3" in err


def test_a_model_without_chords_says_so_and_still_writes_them(debug_model_dir, tmp_path):
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.generation.studio import sample, write_result

    ml = MusicLatent.from_checkpoint(debug_model_dir)
    res = sample(ml, n=1, bars=4, chords=parse_progression("Dm7 G7"), seed=0)
    assert any("does not hear chords" in n for n in res.notes)
    write_result(res, tmp_path, png=False)
    assert len(pretty_midi.PrettyMIDI(str(tmp_path / "sample_01.mid")).instruments) == 2


def test_chords_reach_the_samples_and_evaluate_reports_them(chord_model_dir, tiny_dataset):
    from musiclatent.data.dataset import load_dataset
    from musiclatent.evaluation.evaluate import EvalSettings, evaluate
    from musiclatent.evaluation.report import format_table
    from musiclatent.generation.facade import MusicLatent

    ml = MusicLatent.from_checkpoint(chord_model_dir)
    assert ml.takes_chords
    z = np.random.default_rng(0).standard_normal((4, ml.z_dim)).astype(np.float32)
    a = ml.decode(z, temperature=1.0, seed=3, chords=parse_progression("C G Am F"))
    b = ml.decode(z, temperature=1.0, seed=3, chords=parse_progression("F#m7b5 B7 Em Em"))
    assert not np.array_equal(a, b)                               # the decoder hears the chords
    data = load_dataset(tiny_dataset)
    result = evaluate(ml, data, EvalSettings(split="all", samples=8, sections=("reconstruction", "chords")))
    section = result["chords"]
    assert section["phrases"] > 0 and 0.0 <= section["real"] <= 1.0
    assert {"conditioned", "unconditioned", "recon_sampled_with_chords"} <= set(section)
    assert "strong-beat chord tones" in format_table(result)


def test_songs_keep_their_chords_through_restyle_and_morph(debug_model_dir, tmp_path):
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.generation.studio import interpolate_songs, restyle_song, write_result
    from musiclatent.midi.io import read_song
    from tests.conftest import make_song

    make_song(tmp_path / "a.mid", bars=4, seed=1)             # melody, a C major chord track, drums
    make_song(tmp_path / "b.mid", bars=4, seed=2)
    a, b = read_song(tmp_path / "a.mid"), read_song(tmp_path / "b.mid")
    assert a.chords is not None and a.track["chords"]["source"] == "accompaniment"
    c_major = parse_progression("C")[0]
    assert set(a.chords[:, 1].tolist()) - {0} == {c_major}       # (a "no chord" event ends the reading)
    ml = MusicLatent.from_checkpoint(debug_model_dir)
    res = restyle_song(ml, a, "airs")
    kept = res.chords["restyled"]
    assert len(kept) == 8 and (kept == c_major).sum() >= 6          # 4 bars, a chord per half bar
    assert any("chords" in n for n in res.notes)
    morph = interpolate_songs(ml, a, b, steps=3)
    assert set(morph.chords) >= {"morph", "step_01", "recon_b"}
    write_result(morph, tmp_path / "out", png=False)
    names = [i.name for i in pretty_midi.PrettyMIDI(str(tmp_path / "out" / "morph.mid")).instruments]
    assert "chords" in names


def test_corpora_join_by_name():
    from musiclatent.data.corpus import corpus_names, corpus_style_names

    assert corpus_names("music21, openewld") == ["music21", "openewld"]
    assert corpus_names(["openewld", "openewld"]) == ["openewld"]
    assert corpus_style_names(["openewld", "chord-melody"]) == ["standards", "jazz-pop"]
    assert corpus_style_names(None) == []


def test_chord_strength_is_stored_checked_and_heard(chord_run, tiny_dataset, tmp_path, capsys):
    import json

    import torch

    from musiclatent.cli.main import main
    from musiclatent.evaluation.chords import chord_tone_rate
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.training.checkpoint import CheckpointError
    from musiclatent.training.ship import export_model

    folder = export_model(chord_run, tiny_dataset, tmp_path / "m", prior=False, chord_strength=2.5)
    ml = MusicLatent.from_checkpoint(folder)
    assert ml.chord_strength == 2.5 and MusicLatent.from_checkpoint(chord_run).chord_strength == 1.0
    with pytest.raises(ValueError, match="chord strength"):
        export_model(chord_run, tiny_dataset, tmp_path / "bad", prior=False, chord_strength=-1.0)
    config = json.loads((folder / "config.json").read_text())
    config["sampling"] = {"chord_strength": "loud"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="chord_strength"):
        MusicLatent.from_checkpoint(folder)
    # a head that strongly favours chord tones: strength 1 puts every note on one, strength 0 turns it off
    with torch.no_grad():
        ml.model.decoder.core.tones.bias.copy_(torch.tensor([0.0, 40.0]))
    z = np.random.default_rng(0).normal(size=(16, ml.z_dim)).astype(np.float32)
    prog = np.array(parse_progression("C G Am F"))
    on = ml.decode(z, chords=prog, chord_strength=1.0)
    off = ml.decode(z, chords=prog, chord_strength=0.0)
    with torch.no_grad():
        ml.model.decoder.core.tones.bias.zero_()
        ml.model.decoder.core.tones.weight.zero_()
    assert np.array_equal(off, ml.decode(z, chords=prog))
    assert chord_tone_rate(on, np.tile(prog, (16, 1))) == 1.0     # NaN (a failure) if no note fell on a beat
    assert main(["sample", "--model", str(chord_run), "--chords", "C G", "--chord-strength", "9",
                 "--out", str(tmp_path / "o")]) == 2
    assert "chord strength must be a number in [0, 8]" in capsys.readouterr().err
