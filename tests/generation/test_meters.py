"""Models measured in 3/4, 6/8 and 9/8 bars: windows, songs, routing, and the CLI end to end."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from musiclatent.midi.melody import Melody, meter_windows, model_meter_for
from musiclatent.representations import MELODY
from musiclatent.representations.pianoroll import notes_to_tokens, tokens_to_notes
from tests.conftest import make_song


def _melody(meter, bars=6, pickup=0, seed=0):
    """A hand-built melody in ``meter``: a note on every beat, the downbeat note longest and highest."""
    bar = MELODY.steps_per_bar(meter)
    beat = 6 if meter[1] == 8 else 4          # compound meters beat in dotted quarters
    notes = []
    rng = np.random.default_rng(seed)
    if pickup:
        notes.append((62, 0, pickup))
    for b in range(bars):
        start = pickup + b * bar
        for k in range(0, bar, beat):
            notes.append((72 if k == 0 else int(rng.integers(60, 70)), start + k, start + k + beat))
    starts = pickup + np.arange(bars) * bar
    return Melody(np.asarray(notes, np.int32), np.stack([starts, np.full(bars, bar)], 1).astype(np.int32),
                  time_signature=meter)


@pytest.mark.parametrize("meter", [(3, 4), (6, 8), (9, 8)])
def test_meter_windows_start_on_bar_lines_and_round_trip(meter):
    mel = _melody(meter, bars=5, pickup=2)
    win = meter_windows(mel, 2, meter)
    bar = MELODY.steps_per_bar(meter)
    assert win.tokens.shape == (4, 2 * bar)            # hop of one bar over 5 bars
    for tok, b in zip(win.tokens, win.start_bars):
        start = int(mel.bars[b, 0])
        # the window opens on a downbeat: its first step is the bar's high note
        assert tok[0] == MELODY.note_on(72) and start == 2 + b * bar
        back = tokens_to_notes(tok)
        inside = mel.notes[(mel.notes[:, 1] >= start) & (mel.notes[:, 1] < start + 2 * bar)] - [0, start, start]
        assert np.array_equal(back, inside)
        assert np.array_equal(notes_to_tokens(back, 2 * bar), tok)


def test_compound_pieces_are_regrouped_for_the_6_8_model_and_others_are_not():
    three_eight = _melody((3, 8), bars=8)
    win = meter_windows(three_eight, 2, (6, 8))
    assert win.tokens.shape[1] == 24 and len(win.tokens) == 3      # pairs of 3/8 bars, hop of one 6/8 bar
    assert list(win.start_bars) == [0, 2, 4]
    twelve = _melody((12, 8), bars=3)
    assert len(meter_windows(twelve, 2, (6, 8)).tokens) == 5        # 6 half bars -> 5 windows
    waltz = _melody((3, 4), bars=4)
    out = meter_windows(waltz, 2, (6, 8))
    assert len(out.tokens) == 0 and "3/4" in out.reason
    with pytest.raises(ValueError, match="5/4"):
        meter_windows(waltz, 2, (5, 4))
    assert model_meter_for((3, 8)) == (6, 8) and model_meter_for((2, 2)) == (4, 4)
    assert model_meter_for((5, 4)) is None


def test_windows_never_cross_a_meter_change():
    mel = _melody((3, 4), bars=6)
    bars = mel.bars.copy()
    bars[3, 1] = 8                                                   # bar 4 is a 2/4 bar
    bars[4:, 0] -= 4
    notes = mel.notes[mel.notes[:, 1] < 36]
    mel = Melody(notes, bars[:4], time_signature=(3, 4))
    win = meter_windows(mel, 2, (3, 4))
    assert list(win.start_bars) == [0, 1]                           # the 2/4 bar ends the run


def test_song_phrases_in_a_model_meter_start_on_the_first_bar_line():
    from musiclatent.generation.songs import song_phrases

    mel = _melody((6, 8), bars=4, pickup=3)
    song = song_phrases(mel, 24, meter=(6, 8))
    assert song.offset == 3 - 12                                     # the pickup keeps a whole 6/8 bar before
    assert song.phrases.shape == (3, 24) and not song.notes
    assert song.phrases[0, 12] == MELODY.note_on(72)                 # bar lines stay on 12-step boundaries
    # a 4/4 model reads the same jig across its bar lines and says so
    assert any("6/8" in r for r in song_phrases(mel, 32).notes)


def test_meter_problem_and_forced_meter():
    from musiclatent.midi.meter import meter_problem, with_meter

    lengths = [12, 8, 12, 10, 12, 8, 12]
    starts = np.cumsum([0] + lengths[:-1])
    assert "changes in 6 of 6" in meter_problem(np.stack([starts, lengths], 1), (3, 4))
    steady = np.stack([np.arange(8) * 12, np.full(8, 12)], 1)
    assert meter_problem(steady, (3, 4)) is None
    mel = _melody((3, 4), bars=4, pickup=4)
    forced = with_meter(mel, (6, 8))
    assert forced.time_signature == (6, 8) and forced.track["meter"]["forced"] == "6/8"
    assert int(forced.bars[0, 0]) == 4 and set(forced.bars[:, 1].tolist()) == {12}
    assert np.array_equal(forced.notes, mel.notes)
    with pytest.raises(ValueError, match="7/3"):
        with_meter(mel, (7, 3))


def test_a_tune_that_changes_meter_every_bar_gets_a_clear_message(tmp_path):
    from musiclatent.midi.io import MusicReadError, read_melody

    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(0, name="Lead")
    t = 0.0
    for k, (num, den) in enumerate([(3, 4), (2, 4), (3, 4), (5, 8), (3, 4), (2, 4), (3, 4), (5, 8)]):
        pm.time_signature_changes.append(pretty_midi.TimeSignature(num, den, t))
        length = num * 4 / den * 0.5
        inst.notes.append(pretty_midi.Note(90, 60 + k, t, t + length))
        t += length
    pm.instruments.append(inst)
    path = tmp_path / "changing.mid"
    pm.write(str(path))
    with pytest.raises(MusicReadError, match="meter changes in .* --meter"):
        read_melody(path)
    assert read_melody(path, meter=(3, 4)).time_signature == (3, 4)   # a forced meter reads it


def test_a_pickup_longer_than_a_bar_gets_a_clear_message(tmp_path):
    from musiclatent.midi.io import MusicReadError, read_melody

    abc = "X:1\nT:long pickup\nM:3/4\nL:1/4\nK:C\nC D E F|G A B|c B A|G F E|D2 C|]\n"
    path = tmp_path / "pickup.abc"
    path.write_text(abc)
    with pytest.raises(MusicReadError, match="pickup cannot be longer than a bar"):
        read_melody(path)
    assert read_melody(path, meter=(3, 4)).time_signature == (3, 4)


def test_pretrained_for_meter_routes_to_shipped_meter_models(tmp_path, monkeypatch):
    from musiclatent.generation import meters

    for name in ("melody-2bar", "melody-2bar-3-4"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"x")
    monkeypatch.setattr(meters, "PRETRAINED_DIR", tmp_path)
    assert meters.pretrained_for_meter("melody-2bar", (3, 4)) == "melody-2bar-3-4"
    assert meters.pretrained_for_meter("melody-16bar", (3, 4)) == "melody-2bar-3-4"
    assert meters.pretrained_for_meter("melody-2bar", (2, 4)) == "melody-2bar"
    assert meters.pretrained_for_meter("melody-2bar", (6, 8)) is None       # not shipped here
    assert meters.pretrained_for_meter("melody-2bar", (7, 8)) is None
    assert meters.shipped_meters() == [(4, 4), (3, 4)]


@pytest.fixture(scope="module")
def waltz_model(tmp_path_factory):
    """A debug model trained on 3/4 songs (prepare --model-meter 3/4), and the song folder."""
    from musiclatent.data.prepare import prepare
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.training.loop import train
    from musiclatent.training.ship import export_model

    root = tmp_path_factory.mktemp("waltzes")
    (root / "waltz").mkdir()
    for i in range(4):
        make_song(root / "waltz" / f"w{i}.mid", bars=8, ts=(3, 4), seed=i, durations=(4, 4, 8))
    make_song(root / "waltz" / "not_a_waltz.mid", bars=8, ts=(4, 4), seed=9)
    data = tmp_path_factory.mktemp("waltz-data")
    manifest = prepare([str(root)], data, bars=2, workers=1, progress=False, meter=(3, 4))
    run = tmp_path_factory.mktemp("waltz-run")
    train(data, "debug", run, max_steps=20, progress=False)
    folder = tmp_path_factory.mktemp("waltz-model")
    export_model(run, data, folder, card="# debug waltz model\n", prior=False)
    return MusicLatent.from_checkpoint(folder), folder, root, manifest


def test_a_3_4_dataset_trains_a_3_4_model(waltz_model):
    ml, _, _, manifest = waltz_model
    assert manifest["meter"] == [3, 4] and manifest["steps"] == 24
    assert set(manifest["meters"]) == {"3/4"}                         # the 4/4 song gave no phrase
    assert any("4/4" in s["reason"] for s in manifest["files_skipped"])
    assert ml.meter == (3, 4) and ml.steps == 24 and ml.steps_per_bar == 12


def test_cli_sample_and_interpolate_in_3_4(waltz_model, tmp_path):
    from musiclatent.cli.main import main

    _, folder, root, _ = waltz_model
    out = tmp_path / "sample"
    assert main(["sample", "--model", str(folder), "--meter", "3/4", "--n", "2", "--bars", "4", "--out", str(out),
                 "--no-png"]) == 0
    pm = pretty_midi.PrettyMIDI(str(out / "sample_01.mid"))
    ts = pm.time_signature_changes[0]
    assert (ts.numerator, ts.denominator) == (3, 4)
    assert main(["sample", "--model", str(folder), "--meter", "6/8", "--out", str(tmp_path / "x")]) == 2
    morph = tmp_path / "morph"
    waltzes = sorted((root / "waltz").glob("w*.mid"))
    assert main(["interpolate", str(waltzes[0]), str(waltzes[1]), "--model", str(folder), "--out", str(morph),
                 "--no-png", "--steps", "3"]) == 0
    ts = pretty_midi.PrettyMIDI(str(morph / "morph.mid")).time_signature_changes[0]
    assert (ts.numerator, ts.denominator) == (3, 4)


def test_a_2_4_pickup_bar_before_4_4_leaves_the_song_in_4_4(tmp_path):
    from musiclatent.generation.songs import song_phrases
    from musiclatent.midi.io import read_song

    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    pm.time_signature_changes = [pretty_midi.TimeSignature(2, 4, 0.0), pretty_midi.TimeSignature(4, 4, 1.0)]
    inst = pretty_midi.Instrument(0, name="Lead")
    for k in range(40):                                   # eighth notes: 1 s of pickup, then 4/4 bars
        inst.notes.append(pretty_midi.Note(90, 60 + k % 12, k * 0.25, k * 0.25 + 0.25))
    pm.instruments.append(inst)
    pm.write(str(tmp_path / "pickup.mid"))
    mel = read_song(tmp_path / "pickup.mid")
    assert mel.time_signature == (4, 4)                   # not "bars of 2/4"
    song = song_phrases(mel, 32)
    assert song.offset == 8 - 16                          # the first 4/4 bar line at step 8; the pickup before it
    assert song.phrases[0, 8] == MELODY.note_on(60) and (song.phrases[0, :8] == 0).all()
