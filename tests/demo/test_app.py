"""The web app's handlers, called directly, plus one served app under concurrent load.

Everything runs on the tiny ``debug_model`` fixture; nothing needs shipped weights.
"""

from __future__ import annotations

import socket
import wave
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pretty_midi
import pytest

from demo.app import build_demo, instrument_choices, launch, main
from demo.handlers import MAX_SLOTS, SLOT_WIDTH, Generator, Handlers
from demo.workspace import ExampleSongs, OutputStore, parse_track, plain
from musiclatent.constants import MAX_FILE_BYTES
from musiclatent.midi.io import read_melody

from tests.conftest import make_song

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # gr.Warning outside a request


# --------------------------------------------------------------------------- fixtures and helpers

@pytest.fixture(scope="module")
def handlers(debug_model, tmp_path_factory):
    store = OutputStore(tmp_path_factory.mktemp("app-out"), keep=200)
    return Handlers(Generator([debug_model]), store, ExampleSongs())


def slots(outputs) -> list[dict]:
    """The visible result slots of a handler's outputs, as dicts."""
    shown = []
    for k in range(MAX_SLOTS):
        col, img, wav, mid = outputs[k * SLOT_WIDTH:(k + 1) * SLOT_WIDTH]
        if col.get("visible"):
            shown.append({"title": img["label"], "png": Path(img["value"]), "wav": Path(wav), "mid": Path(mid)})
        else:
            assert img.get("value") is None and wav is None and mid is None
    return shown


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def gen_args(**kw):
    args = dict(style="any", bars=2, temperature=0.5, n=3, tempo=100, program=40, seed=1)
    args.update(kw)
    return list(args.values()) + [0.0] * 4


def example_names():
    return ExampleSongs().names


# --------------------------------------------------------------------------- generate

def test_generate_writes_every_variation(handlers):
    out = handlers.generate(*gen_args(n=3))
    shown = slots(out)
    assert len(shown) == 3
    for item in shown:
        assert handlers.store.owns(item["png"]) and item["png"].read_bytes()[:4] == b"\x89PNG"
        pm = pretty_midi.PrettyMIDI(str(item["mid"]))
        assert pm.instruments[0].program == 40
        assert pm.get_tempo_changes()[1][0] == pytest.approx(100.0)
        assert all(n.end <= 2 * 4 * 60 / 100 + 1e-6 for n in pm.instruments[0].notes)  # 2 bars at 100 qpm
        assert wav_seconds(item["wav"]) >= pm.get_end_time()
    with zipfile.ZipFile(out[-2]) as zf:
        assert sorted(zf.namelist()) == sorted(it["mid"].name for it in shown)
    assert "3 × 2-bar melodies" in out[-1] and "seed 1" in out[-1]


def test_generate_same_seed_same_music(handlers):
    a = [pretty_midi.PrettyMIDI(str(it["mid"])) for it in slots(handlers.generate(*gen_args(seed=5)))]
    b = [pretty_midi.PrettyMIDI(str(it["mid"])) for it in slots(handlers.generate(*gen_args(seed=5)))]
    notes = lambda pms: [[(n.pitch, n.start) for n in pm.instruments[0].notes] for pm in pms]  # noqa: E731
    assert notes(a) == notes(b)


def test_generate_16_bars_chains_the_2_bar_model(handlers):
    shown = slots(handlers.generate(*gen_args(bars=16, n=1, tempo=120)))
    pm = pretty_midi.PrettyMIDI(str(shown[0]["mid"]))
    assert pm.get_end_time() <= 16 * 2.0 + 1e-6  # 16 bars of 4/4 at 120 qpm = 32 s
    assert "16 bars" in shown[0]["title"]


def test_generate_with_attributes_and_styles(handlers, debug_model):
    for style in debug_model.styles:
        args = gen_args(style=style, n=1)[:-4] + [1.5, -1.0, 0.5, 2.0]
        assert len(slots(handlers.generate(*args))) == 1


def test_generate_shows_the_style_the_classifier_hears(handlers, debug_model_dir, tiny_dataset, tmp_path):
    import shutil

    from musiclatent.data.dataset import load_dataset
    from musiclatent.evaluation.classifier import ClassifierTraining, hear_styles, save_classifier, train_classifier
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.generation.songs import song_phrases

    folder = tmp_path / "model"
    shutil.copytree(debug_model_dir, folder)
    train = load_dataset(tiny_dataset).train()
    clf, _ = train_classifier(train.tokens, train.style - 1, tuple(train.style_names[1:]), ClassifierTraining(steps=20))
    save_classifier(clf, folder)
    ml = MusicLatent.from_checkpoint(folder)
    h = Handlers(Generator([ml]), OutputStore(tmp_path / "out", keep=20), ExampleSongs())
    style = ml.styles[1]
    shown = slots(h.generate(*gen_args(style=style, n=2)))
    heard = hear_styles(ml, [song_phrases(read_melody(it["mid"]), ml.steps).phrases for it in shown])
    for item, (name, p) in zip(shown, heard):
        assert f"asked {style} · heard {name} {p:.0%}" in item["title"]
    assert all(name in ml.styles[1:] and 0 < p <= 1 for name, p in heard)
    # a model without a classifier only says what was asked
    assert "heard" not in slots(handlers.generate(*gen_args(n=1)))[0]["title"]


@pytest.mark.parametrize("change, message", [
    (dict(n=9), "number of variations"),
    (dict(bars=12), "length must be one of"),
    (dict(bars=128), "length must lie in"),
    (dict(style="bebop"), "valid styles"),
    (dict(temperature="hot"), "temperature must be a number"),
    (dict(program=128), "instrument"),
], ids=["too-many", "bad-length", "too-long", "unknown-style", "nan-temperature", "bad-program"])
def test_generate_rejects_bad_settings(handlers, change, message):
    with pytest.raises(gr.Error, match=message):
        handlers.generate(*gen_args(**change))


def test_generate_rejects_attribute_out_of_range(handlers):
    with pytest.raises(gr.Error, match=r"\[-2, 2\]"):
        handlers.generate(*(gen_args()[:-4] + [3.0, 0, 0, 0]))


def test_instrument_picker_names_programs():
    choices = instrument_choices()
    assert len(choices) == 128 and choices[0] == ("0: Acoustic Grand Piano", 0)
    assert choices[40][0].endswith(pretty_midi.program_to_instrument_name(40))


# --------------------------------------------------------------------------- song input

def write_bytes(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def drums_only(path):
    pm = pretty_midi.PrettyMIDI()
    drums = pretty_midi.Instrument(0, is_drum=True, name="Drums")
    drums.notes += [pretty_midi.Note(100, 36, i * 0.5, i * 0.5 + 0.1) for i in range(16)]
    pm.instruments.append(drums)
    pm.write(str(path))
    return str(path)


def empty_midi(path):
    pm = pretty_midi.PrettyMIDI()
    pm.instruments.append(pretty_midi.Instrument(0, name="Lead"))
    pm.write(str(path))
    return str(path)


BAD_FILES = {
    "text": (lambda d: write_bytes(d, "notes.mid", b"just some text, no music\n"), "not a music file"),
    "binary": (lambda d: write_bytes(d, "x.bin", bytes(range(256)) * 4), "not a music file"),
    "empty-midi": (lambda d: empty_midi(d / "empty.mid"), "no notes"),
    "drums-only": (lambda d: drums_only(d / "drums.mid"), "only drum tracks"),
    "too-large": (lambda d: write_bytes(d, "big.mid", b"MThd" + b"\0" * MAX_FILE_BYTES), "5 MB"),
    "bad-abc": (lambda d: write_bytes(d, "tune.abc", b"X:1\nT:broken\nL:1/0\nK:C\nA B c d|\n"), "could not parse ABC"),
    "zero-bytes": (lambda d: write_bytes(d, "nothing.mid", b""), "empty file"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_uploads_give_a_message_not_a_crash(handlers, tmp_path, kind):
    make, message = BAD_FILES[kind]
    path = make(tmp_path)
    info, track = handlers.song_info(path, None, None, "Song A")
    assert info.startswith("⚠️") and message in info and "Traceback" not in info
    assert track["choices"] == [("automatic", "auto")]
    with pytest.raises(gr.Error, match=message):
        handlers.interpolate(None, path, None, "auto", None, example_names()[0], "auto", 3, 0.0, 0)


def test_content_not_extension_decides(handlers, tmp_path):
    make_song(tmp_path / "song.txt", bars=4)  # a real MIDI file with a misleading name
    info, track = handlers.song_info(str(tmp_path / "song.txt"), None, None, "Song A")
    assert "Lead" in info and not info.startswith("⚠️")
    assert [c[1] for c in track["choices"]] == ["auto", "0", "1", "2"]


def test_upload_names_are_shown_safely(handlers, tmp_path):
    path = tmp_path / "<b>evil*name`.mid"
    make_song(path, bars=4)
    info, _ = handlers.song_info(str(path), None, None, "Song A")
    assert "<b>" not in info and "`" not in info and "*" not in info.split("**Song A**")[1]


def test_example_names_never_become_paths(handlers):
    with pytest.raises(gr.Error, match="unknown example"):
        handlers.interpolate(None, None, "../../../etc/passwd", "auto", None, example_names()[0], "auto", 3, 0, 0)
    info, _ = handlers.song_info(None, "../README.md", None, "Song A")
    assert "unknown example" in info


def test_song_picker_shows_and_changes_the_melody_track(handlers):
    name = example_names()[0]
    upload, info, track = handlers.on_example(name, "Song A")
    assert upload is None and "“Melody: " in info and "contains ’melody’" in info
    labels = [c[0] for c in track["choices"]]
    assert labels[0] == "automatic" and any("Drone" in lab for lab in labels)
    drone = next(v for lab, v in track["choices"] if "Drone" in lab)
    forced = handlers.on_track(None, name, drone, "Song A")
    assert "“Drone”" in forced and "chosen by you" in forced


def test_upload_replaces_example_pick(handlers, tmp_path):
    make_song(tmp_path / "a.mid", bars=4)
    example, info, track = handlers.on_upload(str(tmp_path / "a.mid"), "Song B")
    assert example == "" and info.startswith("**Song B**") and track["value"] == "auto"


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), ("auto", None), ("2", 2), (1, 1)])
def test_parse_track(value, expected):
    assert parse_track(value) == expected


def test_plain_strips_markup():
    assert plain("a<script>*x*</script>.mid") == "a_script_x_script_.mid"
    assert len(plain("x" * 500)) == 60


# --------------------------------------------------------------------------- interpolate, restyle, vary

def test_interpolate_two_examples(handlers):
    a, b = example_names()[:2]
    roll, audio, midi, gallery, step_files, archive, status = handlers.interpolate(
        None, None, a, "auto", None, b, "auto", 4, 0.0, 0)
    assert Path(roll).read_bytes()[:4] == b"\x89PNG" and wav_seconds(Path(audio)) > 1.0
    assert [c for _, c in gallery] == ["step 1 = A", "step 2", "step 3", "step 4 = B"]
    assert len(step_files) == 4 and all(Path(p).exists() for p in step_files)
    morph = pretty_midi.PrettyMIDI(midi)
    step_len = max(pretty_midi.PrettyMIDI(step_files[0]).get_end_time(), 1e-6)
    assert morph.get_end_time() > step_len  # A's opening + 4 steps + B's ending
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["morph.mid"] + [f"step_{k:02d}.mid" for k in range(1, 5)]
    assert "**Song A**" in status and "**Song B**" in status and "4 steps" in status


def test_interpolate_uploaded_multitrack_songs(handlers, tmp_path):
    make_song(tmp_path / "a.mid", bars=8, seed=1)
    make_song(tmp_path / "b.mid", bars=6, seed=2, name="Vocals")
    out = handlers.interpolate(None, str(tmp_path / "a.mid"), None, "auto", str(tmp_path / "b.mid"), None,
                               "auto", 3, 0.5, 3)
    status = out[-1]
    assert "“Lead”" in status and "“Vocals”" in status and "extended" in status
    assert len(out[4]) == 3


def test_long_songs_are_used_whole(handlers, tmp_path):
    make_song(tmp_path / "long.mid", bars=40, qpm=120)
    info, _ = handlers.song_info(str(tmp_path / "long.mid"), None, None, "Melody")
    assert "Uses the whole song: 40 bars" in info                     # said before the run
    out = handlers.vary(None, str(tmp_path / "long.mid"), None, "auto", 1, 0.9, 0.0, 0)
    assert "cut" not in out[-1]
    original = pretty_midi.PrettyMIDI(str(Path(out[0]).with_suffix(".mid")))
    assert original.get_end_time() == pytest.approx(40 * 2.0)          # 40 bars of 4/4 at 120 qpm


def test_chosen_bars_are_shown_before_and_used(handlers, tmp_path):
    make_song(tmp_path / "long.mid", bars=40, qpm=120)
    info = handlers.on_track(str(tmp_path / "long.mid"), None, "auto", "Melody", 5, 8)
    assert "Uses bars 5–12 of 40: 8 bars" in info
    out = handlers.vary(None, str(tmp_path / "long.mid"), None, "auto", 1, 0.9, 0.0, 0, True, True, 5, 8)
    assert "Melody uses bars 5–12 of 40." in out[-1]
    original = pretty_midi.PrettyMIDI(str(Path(out[0]).with_suffix(".mid")))
    assert original.get_end_time() <= 8 * 2.0 + 1e-6
    assert "⚠️" in handlers.on_track(str(tmp_path / "long.mid"), None, "auto", "Melody", 50, 4)
    with pytest.raises(gr.Error, match="40 bars; start at bar 40 or earlier"):
        handlers.vary(None, str(tmp_path / "long.mid"), None, "auto", 1, 0.9, 0.0, 0, True, True, 50, 4)


def test_restyle_shows_before_and_after(handlers, debug_model):
    target = debug_model.styles[1]
    out = handlers.restyle(None, None, example_names()[0], "auto", target, 0.8, 0.0, 0)
    before_png, before_wav = Path(out[0]), Path(out[1])
    assert before_png.exists() and wav_seconds(before_wav) > 1.0
    shown = slots(out[2:2 + MAX_SLOTS * SLOT_WIDTH])
    assert len(shown) == 1 and target in shown[0]["title"]
    restyled = pretty_midi.PrettyMIDI(str(shown[0]["mid"]))
    assert restyled.get_tempo_changes()[1][0] == pytest.approx(100.0)  # the tune's tempo is kept
    with pytest.raises(gr.Error, match="target style"):
        handlers.restyle(None, None, example_names()[0], "auto", "any", 0.8, 0.0, 0)


def test_vary_makes_n_variations(handlers):
    out = handlers.vary(None, None, example_names()[1], "auto", 3, 0.7, 0.0, 0)
    shown = slots(out[2:2 + MAX_SLOTS * SLOT_WIDTH])
    assert [s["title"] for s in shown] == [f"Variation {i} · similarity 0.7" for i in (1, 2, 3)]
    with zipfile.ZipFile(out[-2]) as zf:
        assert len(zf.namelist()) == 4  # the original and three variations


# --------------------------------------------------------------------------- app plumbing

@pytest.mark.parametrize("bars, expected", [(2, 2), (16, 16), (4, 2), (1, 2)], ids=["2", "16", "4", "1"])
def test_generator_picks_the_model_for_a_length(bars, expected):
    gen = Generator({"two": SimpleNamespace(bars=2), "sixteen": SimpleNamespace(bars=16)})
    assert gen.for_bars(bars).bars == expected


def test_output_store_keeps_only_the_newest(tmp_path):
    store = OutputStore(tmp_path / "root", keep=3)
    made = [store.new("generate") for _ in range(5)]
    assert store.folders() == made[-3:]
    assert store.owns(made[-1] / "x.mid") and not store.owns(tmp_path / "elsewhere.mid")
    assert not store.owns(store.root)
    store.cleanup()
    assert not store.root.exists()


def test_examples_are_short_tunes_with_a_waltz_and_a_jig():
    examples = ExampleSongs()
    assert len(examples.names) >= 6
    meters = []
    for name in examples.names:
        mel = read_melody(examples.path(name))
        meters.append(tuple(mel.time_signature))
        assert 8 <= len(mel.bars) <= 16 and len(mel.notes) > 20
    assert set(meters) == {(2, 4), (2, 2), (3, 4), (6, 8)} and meters.count((3, 4)) >= 1 and meters.count((6, 8)) >= 1


def test_build_demo_has_the_tabs_and_api(debug_model, tmp_path):
    demo = build_demo(Generator([debug_model]), OutputStore(tmp_path / "out"))
    main_tabs = next(b for b in demo.blocks.values() if isinstance(b, gr.Tabs))
    assert [t.label for t in main_tabs.children] == ["Generate", "Interpolate", "Restyle & vary", "About", "Explore"]
    api = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert {"generate", "interpolate", "restyle", "vary"} <= api


def test_explore_tab_comes_from_demo_explore(monkeypatch, debug_model, tmp_path):
    import sys
    import types

    seen = []
    fake = types.ModuleType("demo.explore")
    fake.build_explore_tab = lambda generator: (seen.append(generator), gr.Markdown("explore here", elem_id="x"))
    monkeypatch.setitem(sys.modules, "demo.explore", fake)
    gen = Generator([debug_model])
    demo = build_demo(gen, OutputStore(tmp_path / "out"))
    assert seen == [gen]
    assert any(getattr(b, "elem_id", None) == "x" for b in demo.blocks.values())


def test_main_without_models_says_what_to_do(capsys, tmp_path):
    assert main(["--model", str(tmp_path / "no-such-model")]) == 1
    err = capsys.readouterr().err
    assert "No model to serve yet" in err and "--model" in err


def test_main_parses_options_and_launches(monkeypatch, debug_model_dir):
    seen = {}
    monkeypatch.setattr("demo.app.launch", lambda demo, host, port, share: seen.update(
        host=host, port=port, share=share, demo=demo))
    assert main(["--model", str(debug_model_dir), "--port", "7999"]) == 0
    assert (seen["host"], seen["port"], seen["share"]) == ("127.0.0.1", 7999, False)
    assert isinstance(seen["demo"], gr.Blocks)


# --------------------------------------------------------------------------- served app

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(debug_model):
    """The app on a free local port (a server thread) with the debug model."""
    store = OutputStore(keep=200)  # in Gradio's cache folder, as in the real app
    demo = build_demo(Generator([debug_model]), store)
    _, url, _ = launch(demo, port=free_port(), prevent_thread_lock=True, quiet=True)
    yield demo, url
    demo.close()
    store.cleanup()


def test_32_concurrent_generate_calls_all_succeed(served, tmp_path):
    from gradio_client import Client

    _, url = served
    client = Client(url, verbose=False, download_files=str(tmp_path))

    def call(seed):
        return client.predict("any", 2, 0.5, 1, 120, 0, seed, 0, 0, 0, 0, api_name="/generate")

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(call, range(32)))
    assert len(results) == 32
    for seed, out in enumerate(results):
        assert f"seed {seed} " in out[-1]
        mid = Path(out[2])
        assert mid.read_bytes()[:4] == b"MThd" and Path(out[1]).read_bytes()[:4] == b"RIFF"


def test_server_serves_results_but_no_other_paths(served):
    import httpx

    demo, url = served
    out = demo.handlers.generate(*gen_args(n=1))
    mid = slots(out)[0]["mid"]
    ok = httpx.get(f"{url}gradio_api/file={mid}")
    assert ok.status_code == 200 and ok.content[:4] == b"MThd"
    for path in ("/etc/passwd", str(Path(__file__).resolve()), str(Path(mid).parent)):
        assert httpx.get(f"{url}gradio_api/file={path}").status_code == 403


# --------------------------------------------------------------------------- what a musician meets

def test_interpolate_shows_every_remark_and_starts_with_the_melody(handlers, tmp_path):
    from tests.generation.test_stream import song_with_intro

    song_with_intro(tmp_path / "a.mid", intro_bars=5, seed=1)
    make_song(tmp_path / "waltz.mid", bars=12, ts=(3, 4), seed=3)
    out = handlers.interpolate(None, str(tmp_path / "a.mid"), None, "1", str(tmp_path / "waltz.mid"), None, "auto",
                               3, 0.0, 0)
    status = out[-1]
    assert "- A: starts where its melody starts, in bar 6" in status          # a per-song remark
    assert "- B: meter 3/4: the model's 32-step phrases run across its bar lines" in status   # ... and the other song's
    first = min(n.start for n in pretty_midi.PrettyMIDI(out[2]).instruments[0].notes)
    assert first < 2.0                                                          # within the first bar at 120 qpm
    kept = handlers.interpolate(None, str(tmp_path / "a.mid"), None, "1", str(tmp_path / "waltz.mid"), None,
                                "auto", 3, 0.0, 0, True)
    assert min(n.start for n in pretty_midi.PrettyMIDI(kept[2]).instruments[0].notes) >= 4.0


def test_gallery_pictures_are_readable(handlers):
    from PIL import Image

    a, b = example_names()[:2]
    gallery = handlers.interpolate(None, None, a, "auto", None, b, "auto", 3, 0.0, 0)[3]
    for path, _ in gallery:
        w, h = Image.open(path).size
        assert w / h <= 4.0 and h >= 150                                        # not a thin strip


def test_restyle_options_reach_the_result(handlers, tmp_path):
    from tests.generation.test_stream import song_with_intro

    song_with_intro(tmp_path / "a.mid", intro_bars=4, seed=4)
    target = handlers.generator.get(None).styles[1]
    kept = handlers.restyle(None, str(tmp_path / "a.mid"), None, "1", target, 1.0, 1.0, 0)
    assert "the output rests where the input rests" in kept[-1] and "Input rests kept silent: 100%" in kept[-1]
    free = handlers.restyle(None, str(tmp_path / "a.mid"), None, "1", target, 1.0, 1.0, 0, False, False)
    assert "rests where the input rests" not in free[-1]


def test_zip_buttons_say_what_to_do_before_a_result(debug_model, tmp_path):
    demo = build_demo(Generator([debug_model]), OutputStore(tmp_path / "out"))
    buttons = {b.elem_id: b for b in demo.blocks.values() if isinstance(b, gr.DownloadButton)}
    assert set(buttons) == {"gen-zip", "interp-zip", "restyle-zip"}
    for button in buttons.values():
        assert not button.interactive and "first" in button.label


def test_the_app_starts_without_loading_a_model(debug_model_dir):
    """Serving the page reads model folders' descriptions only: no torch, no weights, no index."""
    import json
    import subprocess
    import sys

    code = f"""
import json, sys, tempfile
from demo.app import build_demo, load_generator
from demo.workspace import OutputStore
generator, problems = load_generator([{str(debug_model_dir)!r}, {str(debug_model_dir / "missing")!r}])
demo = build_demo(generator, OutputStore(tempfile.mkdtemp()))
model = next(iter(generator.models.values()))
seen = {{"torch": "torch" in sys.modules, "loaded": model.loaded, "problems": len(problems)}}
seen["steps"] = generator.get(None).steps
seen["loaded_after"] = model.loaded
print(json.dumps(seen))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         cwd=str(Path(__file__).resolve().parents[2]))
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"torch": False, "loaded": False, "problems": 1, "steps": 32, "loaded_after": True}


def test_generate_offers_long_pieces(handlers):
    out = handlers.generate(*gen_args(n=1, bars=8))
    item = slots(out)[0]
    assert "8 bars of 4/4" in item["title"]
    pm = pretty_midi.PrettyMIDI(str(item["mid"]))
    bar = 4 * 60.0 / 100                                            # tempo 100
    assert 2 * bar < pm.get_end_time() <= 8 * bar + 1e-6


def test_a_song_read_as_played_says_so():
    from demo.workspace import describe_song
    from musiclatent.midi.io import read_song

    abc = "X:1\nM:4/4\nL:1/4\nK:C\n|: C D E F | G A B c :|\n|: d e f g | c4 :|\n"      # AABB
    played = describe_song(read_song("tune.abc", data=abc.encode()), "tune.abc")
    assert "8 bars as played (repeats written out)" in played
    written = describe_song(read_song("tune.abc", data=abc.encode(), expand=False), "tune.abc")
    assert "4 bars" in written and "as played" not in written
