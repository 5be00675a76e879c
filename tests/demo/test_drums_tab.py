"""The Drums tab's handlers, called without a browser, on a tiny untrained drum model."""

import dataclasses

import gradio as gr
import pretty_midi
import pytest
import torch

from demo.drums_tab import MAX_BEATS, DrumHandlers, build_drums_tab
from demo.workspace import OutputStore
from tests.demo.test_e2e_drums import write_beat


@pytest.fixture(scope="module")
def handlers(tmp_path_factory):
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.models.builders import build_vae
    from musiclatent.presets import get_preset

    torch.manual_seed(0)
    cfg = dataclasses.replace(get_preset("debug-drums").model, styles=("any", "rock", "funk"))
    return DrumHandlers(MusicLatent(build_vae(cfg), name="debug drums"), OutputStore(tmp_path_factory.mktemp("out")))


def test_generate_fills_the_asked_slots(handlers):
    out = handlers.generate("rock", 3, 4, 0.5, 90, 1)
    assert "3 4-bar beats in the style rock at 90 bpm" in out[0]
    slots = [out[1 + 4 * k:5 + 4 * k] for k in range(MAX_BEATS)]
    assert [s[0]["visible"] for s in slots] == [True, True, True, False]
    pm = pretty_midi.PrettyMIDI(slots[0][3])
    assert pm.instruments[0].is_drum and pm.get_tempo_changes()[1][0] == pytest.approx(90, abs=0.01)


def test_morph_and_its_errors(handlers, tmp_path):
    a, b = write_beat(tmp_path / "a.mid", 96, 4), write_beat(tmp_path / "b.mid", 120, 6)
    status, png, wav, mid, steps = handlers.morph(str(a), str(b), 3, 0)
    assert status.startswith("Morph in 3 steps") and "96 bpm" in status and len(steps) == 3
    assert pretty_midi.PrettyMIDI(mid).instruments[0].is_drum
    with pytest.raises(gr.Error, match="upload"):
        handlers.morph(None, str(b), 3, 0)
    text = tmp_path / "x.mid"
    text.write_text("not midi")
    with pytest.raises(gr.Error, match="not a MIDI file"):
        handlers.morph(str(text), str(b), 3, 0)
    with pytest.raises(gr.Error, match="out of range"):
        handlers.morph(str(a), str(b), 3, 1000)


def test_the_tab_builds(handlers):
    with gr.Blocks():
        h = build_drums_tab(handlers.model, handlers.store)
    assert isinstance(h, DrumHandlers)
