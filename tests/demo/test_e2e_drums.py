"""End-to-end: the Drums tab in Debian's chromium (Playwright), with a tiny untrained drum model.

Run with ``pytest -m e2e tests/demo/test_e2e_drums.py``; it skips when ``/usr/bin/chromium`` is
missing (fails under ``CI=true``), like ``test_e2e.py``, whose browser fixture it shares.
"""

from __future__ import annotations

import dataclasses

import pretty_midi
import pytest
import torch

from demo.app import build_demo, launch
from demo.handlers import Generator
from demo.workspace import OutputStore
from tests.demo.test_e2e import TIMEOUT_MS, browser, free_port  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def drum_app_url(debug_model):
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.models.builders import build_vae
    from musiclatent.presets import get_preset

    torch.manual_seed(0)
    cfg = dataclasses.replace(get_preset("debug-drums").model, styles=("any", "rock", "funk"))
    drums = MusicLatent(build_vae(cfg), name="debug drums")
    store = OutputStore(keep=64)
    demo = build_demo(Generator([debug_model]), store, drums=drums)
    _, url, _ = launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    yield url
    demo.close()
    store.cleanup()


def write_beat(path, qpm, snare_step):
    pm = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    drums = pretty_midi.Instrument(0, is_drum=True)
    sec = 60.0 / qpm / 4
    for bar in range(4):
        for step, pitch in ((0, 36), (snare_step, 38), (8, 36), (12, 38)) + tuple((s, 42) for s in range(0, 16, 2)):
            t = (bar * 16 + step) * sec
            drums.notes.append(pretty_midi.Note(90, pitch, t, t + sec / 2))
    pm.instruments.append(drums)
    pm.write(str(path))
    return path


def test_drums_tab_generates_and_morphs_in_a_browser(drum_app_url, browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page.goto(drum_app_url)
    page.get_by_role("tab", name="Drums").click()

    # beats by style: pictures, looping audio and General MIDI drum files
    page.locator("#drums-btn").click()
    expect(page.locator("#drums-status")).to_contain_text("2-bar beats in the style funk")
    expect(page.locator("#drums-slot-1")).to_be_visible()
    expect(page.locator("#drums-slot-2")).to_be_hidden()
    audio = page.locator("#drums-audio-0 a[download='sample_01.wav']")
    expect(audio).to_have_count(1)
    assert page.request.get(audio.get_attribute("href")).body()[:4] == b"RIFF"
    midi = page.locator("#drums-midi-0 a[download='sample_01.mid']")
    expect(midi).to_be_visible()
    data = page.request.get(midi.get_attribute("href")).body()
    assert data[:4] == b"MThd" and b"\x99" in data          # note-ons on channel 10
    page.screenshot(path=str(tmp_path / "drums.png"), full_page=True)

    # morph two uploaded grooves
    page.locator("#drums-a-upload input[type=file]").set_input_files(str(write_beat(tmp_path / "a.mid", 96, 4)))
    page.locator("#drums-b-upload input[type=file]").set_input_files(str(write_beat(tmp_path / "b.mid", 120, 6)))
    page.locator("#drums-morph-btn").click()
    expect(page.locator("#drums-morph-status")).to_contain_text("Morph in 5 steps")
    expect(page.locator("#drums-morph-roll img")).to_be_visible()
    expect(page.locator("#drums-morph-audio a[download='morph.wav']")).to_have_count(1)
    expect(page.locator("#drums-morph-midi a[download='morph.mid']")).to_be_visible()

    # the credit is on the page
    page.get_by_role("tab", name="About").click()
    expect(page.get_by_text("Groove MIDI Dataset").first).to_be_visible()
