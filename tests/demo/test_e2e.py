"""End-to-end: the web app in Debian's chromium, driven by Playwright.

Never downloads a browser: it uses ``/usr/bin/chromium`` (``apt-get install -y
chromium``) and skips with a reason when that is missing, except under
``CI=true``, where a missing browser fails the test. Run with
``pytest -m e2e tests/demo/test_e2e.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path

import pytest

from demo.app import build_demo, launch
from demo.handlers import Generator
from demo.workspace import ExampleSongs, OutputStore
from musiclatent.generation.roll import read_png_notes

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT_COPY = Path(__file__).resolve().parents[2] / "benchmarks" / "screenshots" / "demo.png"
TIMEOUT_MS = 90_000  # a busy 2-core CI machine


def midi_step_notes(data: bytes) -> list[list[int]]:
    """(pitch, start, end) in 16th-note steps of a one-track MIDI file, sorted by start."""
    import io

    import pretty_midi

    pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    sec = 60.0 / pm.get_tempo_changes()[1][0] / 4
    notes = [[n.pitch, round(n.start / sec), round(n.end / sec)] for i in pm.instruments for n in i.notes]
    return sorted(notes, key=lambda n: (n[1], n[0]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(debug_model):
    store = OutputStore(keep=64)
    demo = build_demo(Generator([debug_model]), store)
    _, url, _ = launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    yield url
    demo.close()
    store.cleanup()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        reason = f"Debian chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":  # CI must not go green without its browser test
            pytest.fail(f"{reason}; under CI=true the browser test must run")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_generate_interpolate_and_bad_upload_in_a_browser(app_url, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page.goto(app_url)
    expect(page.get_by_role("heading", name="musiclatent")).to_be_visible()

    # Generate: audio players and MIDI downloads appear, and the MIDI link serves a MIDI file
    page.locator("#gen-btn").click()
    expect(page.locator("#gen-status")).to_contain_text("2-bar melodies")
    audio = page.locator("#gen-audio-0 a[download='sample_01.wav']")
    expect(audio).to_have_count(1)
    assert page.request.get(audio.get_attribute("href")).body()[:4] == b"RIFF"
    midi = page.locator("#gen-midi-0 a[download='sample_01.mid']")
    expect(midi).to_be_visible()
    assert page.request.get(midi.get_attribute("href")).body()[:4] == b"MThd"
    expect(page.locator("#gen-slot-3")).to_be_visible()  # 4 variations by default
    expect(page.locator("#gen-slot-4")).to_be_hidden()
    shot = tmp_path / "demo.png"
    page.screenshot(path=str(shot), full_page=True)

    # Chords: a progression is read back in the status and written as a chord track; a bad one is named
    page.locator("#gen-chords textarea").fill("Cmaj7 G Am F")
    page.locator("#gen-btn").click()
    expect(page.locator("#gen-status")).to_contain_text("over C G Am F")
    href = page.locator("#gen-midi-0 a[download='sample_01.mid']").get_attribute("href")
    assert b"chords" in page.request.get(href).body()                   # the chord track's name
    page.locator("#gen-chords textarea").fill("C H7")
    page.locator("#gen-btn").click()
    expect(page.get_by_text(re.compile(r"chord 2 of 2 in the progression, ’H7’")).first).to_be_visible()
    page.locator("#gen-chords textarea").fill("")

    # Interpolate: two uploaded example MIDI files make a morph
    page.get_by_role("tab", name="Interpolate").click()
    a, b = (ExampleSongs().path(n) for n in ExampleSongs().names[:2])
    page.locator("#interp-a-upload input[type=file]").set_input_files(str(a))
    expect(page.locator("#interp-a-info")).to_contain_text("melody from track")
    page.locator("#interp-b-upload input[type=file]").set_input_files(str(b))
    expect(page.locator("#interp-b-info")).to_contain_text("melody from track")
    page.locator("#interp-btn").click()
    expect(page.locator("#interp-status")).to_contain_text("steps with")
    expect(page.locator("#interp-roll img")).to_be_visible()
    expect(page.locator("#interp-audio a[download='morph.wav']")).to_have_count(1)
    expect(page.locator("#interp-midi a[download='morph.mid']")).to_be_visible()
    # the roll the page shows and the MIDI it serves hold the same notes
    roll_png = page.request.get(page.locator("#interp-roll img").get_attribute("src")).body()
    morph_mid = page.request.get(page.locator("#interp-midi a[download='morph.mid']").get_attribute("href")).body()
    roll_notes = read_png_notes(roll_png).tolist()
    assert roll_notes and roll_notes == midi_step_notes(morph_mid)
    page.screenshot(path=str(tmp_path / "interpolate.png"), full_page=True)

    # A text file is refused with a message in the page
    page.get_by_role("tab", name="Restyle & vary").click()
    big = tmp_path / "big.mid"                          # over the size limit: refused in megabytes
    big.write_bytes(b"MThd" + bytes(6 * 1024 * 1024))
    page.locator("#restyle-upload input[type=file]").set_input_files(str(big))
    expect(page.get_by_text(re.compile(r"maximum allowed size of 5\.0 MB")).first).to_be_visible()
    assert page.get_by_text(re.compile(r"5\.0 Mb")).count() == 0
    text = tmp_path / "notes.mid"
    text.write_text("these are not notes\n")
    page.locator("#restyle-upload input[type=file]").set_input_files(str(text))
    expect(page.locator("#restyle-info")).to_contain_text("not a music file")
    page.locator("#restyle-btn").click()
    expect(page.get_by_text("not a music file").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "error.png"), full_page=True)

    # A waltz shows its meter beside its tempo (on a fresh page: the upload field above is taken)
    page.goto(app_url)
    page.get_by_role("tab", name="Restyle & vary").click()
    waltz = ExampleSongs().path("the_black_slender_boy.mid")
    page.locator("#restyle-upload input[type=file]").set_input_files(str(waltz))
    expect(page.locator("#restyle-info")).to_contain_text("3/4, 132 qpm")

    if os.environ.get("MUSICLATENT_SAVE_SCREENSHOT"):     # refresh the README's screenshot on request only
        SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT_COPY)
    assert shot.stat().st_size > 10_000
