"""The CLI with a drum model: prepare --drums, train the debug-drums preset, sample, interpolate, vary,
encode, evaluate, on tiny grooves written here."""

import json

import numpy as np
import pretty_midi
import pytest

from musiclatent.cli.main import main
from tests.data.test_drums_prepare import write_groove


@pytest.fixture(scope="module")
def drum_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("drum-cli")
    for style, hats in (("rock", True), ("funk", False)):
        (root / "in" / style).mkdir(parents=True)
        for i in range(4):
            write_groove(root / "in" / style / f"{style}{i}.mid", bars=3 + i, qpm=90 + 5 * i, hats=hats,
                         velocity=50 + 20 * i)
    assert main(["prepare", str(root / "in"), "--drums", "--out", str(root / "ds")]) == 0
    assert main(["train", "--data", str(root / "ds"), "--preset", "debug-drums", "--out", str(root / "run"),
                 "--steps", "10", "--quiet"]) == 0
    return root


def test_sample_interpolate_vary_encode(drum_run, capsys):
    run, out = str(drum_run / "run"), drum_run / "out"
    assert main(["sample", "--model", run, "--style", "funk", "--n", "2", "--bars", "4", "--tempo", "84",
                 "--out", str(out / "s")]) == 0
    pm = pretty_midi.PrettyMIDI(str(out / "s" / "sample_02.mid"))
    assert pm.instruments[0].is_drum and pm.get_end_time() == pytest.approx(64 * 60 / 84 / 4, abs=1e-3)
    a, b = drum_run / "in" / "rock" / "rock0.mid", drum_run / "in" / "funk" / "funk3.mid"
    assert main(["interpolate", str(a), str(b), "--model", run, "--steps", "3", "--out", str(out / "m")]) == 0
    assert {p.name for p in (out / "m").glob("*.mid")} >= {"morph.mid", "step_01.mid", "step_03.mid"}
    assert pretty_midi.PrettyMIDI(str(out / "m" / "morph.mid")).get_tempo_changes()[1][0] == pytest.approx(90, abs=0.01)
    assert main(["vary", str(b), "--model", run, "--n", "2", "--out", str(out / "v"), "--no-png"]) == 0
    assert len(list((out / "v").glob("*.mid"))) == 2
    assert main(["encode", str(drum_run / "in"), "--model", run, "--out", str(out / "e")]) == 0
    assert np.load(out / "e" / "latents.npy").shape[1] == 8
    assert main(["sample", "--model", run, "--style", "jazz", "--out", str(out / "x")]) == 2   # unknown style
    assert main(["restyle", str(a), "--model", run, "--style", "rock", "--out", str(out / "r")]) == 2
    assert "melody models" in capsys.readouterr().err


def test_evaluate_a_drum_model(drum_run):
    out = drum_run / "eval.json"
    assert main(["evaluate", "--model", str(drum_run / "run"), "--data", str(drum_run / "ds"), "--split", "all",
                 "--samples", "16", "--pairs", "4", "--interp-steps", "3", "--style-samples", "4", "--quiet",
                 "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["data"]["split"] == "all" and "recon_accuracy_sampled" in res and "overlap_area" in res["realism"]
