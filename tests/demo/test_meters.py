"""The app in other meters: the meter choice, 3/4 sampling and 3/4 songs run by a 3/4 model.

A debug model trained on 3/4 songs stands in for the shipped ``melody-2bar-3-4`` in a temporary
pretrained folder; the served model is the 4/4 ``debug_model``. Nothing needs shipped weights.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pretty_midi
import pytest

from demo.app import build_demo
from demo.handlers import MAX_SLOTS, SLOT_WIDTH, Generator, Handlers
from demo.meters import example_pairs, meter_choice
from demo.workspace import ExampleSongs, InputError, OutputStore

from tests.conftest import make_song
from tests.demo.shipping import ship_debug_model, use_pretrained
from tests.demo.test_app import gen_args, slots

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # gr.Warning outside a request

WALTZ_MODEL = "melody-2bar-3-4"


def time_signature(path) -> tuple[int, int]:
    ts = pretty_midi.PrettyMIDI(str(path)).time_signature_changes[0]
    return ts.numerator, ts.denominator



@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A pretrained folder holding a debug 3/4 model as ``melody-2bar-3-4``, used in place of the
    package's while this module runs."""
    from musiclatent.data.prepare import prepare

    songs = tmp_path_factory.mktemp("waltz-songs")
    (songs / "waltz").mkdir()
    for i in range(4):
        make_song(songs / "waltz" / f"w{i}.mid", bars=8, ts=(3, 4), seed=i, durations=(4, 4, 8))
    data = tmp_path_factory.mktemp("waltz-data")
    prepare([str(songs)], data, bars=2, workers=1, progress=False, meter=(3, 4))
    pretrained = ship_debug_model(tmp_path_factory, data, "debug", WALTZ_MODEL)
    with pytest.MonkeyPatch.context() as mp:
        use_pretrained(mp, pretrained)
        yield pretrained


@pytest.fixture(scope="module")
def handlers(debug_model, shipped, tmp_path_factory):
    return Handlers(Generator([debug_model]), OutputStore(tmp_path_factory.mktemp("meters-out"), keep=100),
                    ExampleSongs())


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    """Two waltzes and a 4/4 song, as uploads."""
    folder = tmp_path_factory.mktemp("uploads")
    make_song(folder / "waltz_a.mid", bars=8, ts=(3, 4), seed=11, durations=(4, 4, 8))
    make_song(folder / "waltz_b.mid", bars=6, ts=(3, 4), seed=12, durations=(4, 8))
    make_song(folder / "four.mid", bars=8, seed=13)
    return {p.stem: str(p) for p in folder.glob("*.mid")}


def component(demo: gr.Blocks, elem_id: str):
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


def markdown_text(demo: gr.Blocks) -> str:
    return "\n".join(str(b.value) for b in demo.blocks.values() if isinstance(b, gr.Markdown))


# --------------------------------------------------------------------------- the page

def test_the_meter_choice_lists_the_shipped_meters(debug_model, shipped, tmp_path):
    generator = Generator([debug_model])
    demo = build_demo(generator, OutputStore(tmp_path / "out"))
    radio = component(demo, "gen-meter")
    assert radio.visible and radio.value == "4/4"
    assert radio.choices == [("4/4", "4/4"), ("3/4 · waltz", "3/4")]
    page = markdown_text(demo)
    assert f"| {WALTZ_MODEL} | 2 bars | 3/4 |" in page                     # the About tab's table
    assert f"3/4 by {WALTZ_MODEL}" in component(demo, "interp-meters").value
    assert not generator.meter_model(WALTZ_MODEL).loaded                    # described, not loaded
    api = demo.get_api_info()["named_endpoints"]["/generate"]["parameters"]
    assert [p["parameter_name"] for p in api] == ["style", "bars", "temperature", "n", "tempo", "program", "seed",
                                                  *generator.attribute_names, "meter", "chords", "chords_per_bar",
                                                  "chord_program"]
    meter_input = api[-4]
    assert meter_input["parameter_has_default"] and meter_input["parameter_default"] == "4/4"


def test_only_4_4_shipped_hides_the_meter_choice(debug_model, tmp_path, monkeypatch):
    use_pretrained(monkeypatch, tmp_path / "empty")
    demo = build_demo(Generator([debug_model]), OutputStore(tmp_path / "out"))
    radio = component(demo, "gen-meter")
    assert not radio.visible and radio.choices == [("4/4", "4/4")]
    assert "measured in 4/4 bars" in component(demo, "interp-meters").value
    assert WALTZ_MODEL not in markdown_text(demo)


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), ("3/4", (3, 4)), (" 6/8", (6, 8))])
def test_meter_choice(value, expected):
    assert meter_choice(value) == expected


@pytest.mark.parametrize("value", ["waltz", "3/0", "3-4", "/4"])
def test_meter_choice_refuses_what_is_no_meter(value):
    with pytest.raises(InputError, match="meter must look like"):
        meter_choice(value)


# --------------------------------------------------------------------------- generate

def test_sampling_in_3_4_uses_the_3_4_model_loaded_on_first_use(debug_model, shipped):
    generator = Generator([debug_model])
    assert generator.meters == [(4, 4), (3, 4)]
    assert not generator.meter_model(WALTZ_MODEL).loaded
    assert generator.for_sampling(2, (3, 4)).name == WALTZ_MODEL
    assert generator.meter_model(WALTZ_MODEL).loaded
    assert generator.for_sampling(2, None) is debug_model and generator.for_sampling(2, (2, 4)) is debug_model


def test_sampling_in_3_4_writes_3_4_midi(handlers):
    out = handlers.generate(*gen_args(n=2, tempo=100), meter="3/4")
    shown = slots(out)
    assert len(shown) == 2
    for item in shown:
        assert time_signature(item["mid"]) == (3, 4) and "2 bars of 3/4" in item["title"]
        pm = pretty_midi.PrettyMIDI(str(item["mid"]))
        assert all(n.end <= 2 * 3 * 60 / 100 + 1e-6 for n in pm.instruments[0].notes)   # 2 bars of 3/4
    assert f"2 × 2-bar melodies in 3/4 from **{WALTZ_MODEL}**" in out[-1]
    long = slots(handlers.generate(*gen_args(n=1, bars=16, tempo=120), meter="3/4"))[0]
    assert time_signature(long["mid"]) == (3, 4)
    assert pretty_midi.PrettyMIDI(str(long["mid"])).get_end_time() <= 16 * 1.5 + 1e-6   # 16 bars of 3/4
    four = handlers.generator.get(None).name
    assert f"in 4/4 from **{four}**" in handlers.generate(*gen_args(n=1), meter="4/4")[-1]


@pytest.mark.parametrize("meter, message", [("6/8", "no model here samples 6/8; the meters are 4/4, 3/4"),
                                            ("waltz", "meter must look like")], ids=["not-shipped", "not-a-meter"])
def test_sampling_in_a_meter_no_model_reads_says_so(handlers, meter, message):
    with pytest.raises(gr.Error, match=message):
        handlers.generate(*gen_args(n=1), meter=meter)


# --------------------------------------------------------------------------- songs in 3/4

def test_a_3_4_upload_shows_its_meter_and_the_model_that_reads_it(handlers, songs):
    info, _ = handlers.song_info(songs["waltz_a"], None, None, "Song A")
    assert "3/4, 120 qpm · 8 bars" in info
    assert f"In 3/4: run by **{WALTZ_MODEL}**, a model measured in 3/4 bars; the results stay in 3/4." in info
    four, _ = handlers.song_info(songs["four"], None, None, "Song B")
    assert "4/4, 120 qpm" in four and "run by" not in four


def test_a_3_4_morph_is_morphed_in_3_4_by_the_3_4_model(handlers, songs):
    roll, audio, midi, gallery, step_files, archive, status = handlers.interpolate(
        None, songs["waltz_a"], None, "auto", songs["waltz_b"], None, "auto", 3, 0.0, 0)
    assert time_signature(midi) == (3, 4) and all(time_signature(p) == (3, 4) for p in step_files)
    assert f"- 3/4: morphed by {WALTZ_MODEL}" in status and f"3 steps with **{WALTZ_MODEL}**" in status
    assert "takes A's meter" not in status


def test_a_morph_of_two_meters_takes_a_s_meter_and_model(handlers, songs):
    out = handlers.interpolate(None, songs["waltz_a"], None, "auto", songs["four"], None, "auto", 3, 0.0, 0)
    assert time_signature(out[2]) == (3, 4)
    assert f"- 3/4: morphed by {WALTZ_MODEL}" in out[-1]
    assert f"- the morph takes A's meter (3/4): {WALTZ_MODEL} reads B (4/4) in 3/4 bars" in out[-1]
    back = handlers.interpolate(None, songs["four"], None, "auto", songs["waltz_a"], None, "auto", 3, 0.0, 0)
    four = handlers.generator.get(None).name
    assert time_signature(back[2]) == (4, 4)
    assert "morphed by" not in back[-1] and f"3 steps with **{four}**" in back[-1]
    assert f"- the morph takes A's meter (4/4): {four} reads B (3/4) in 4/4 bars" in back[-1]


def test_restyle_and_vary_of_a_waltz_stay_in_3_4(handlers, songs):
    out = handlers.restyle(None, songs["waltz_a"], None, "auto", "waltz", 1.0, 0.0, 0)
    after = slots(out[2:2 + MAX_SLOTS * SLOT_WIDTH])
    assert time_signature(after[0]["mid"]) == (3, 4) and time_signature(Path(out[0]).with_suffix(".mid")) == (3, 4)
    assert f"3/4: restyled by {WALTZ_MODEL}" in out[-1] and f"with {WALTZ_MODEL}" in out[-1]
    varied = handlers.vary(None, songs["waltz_a"], None, "auto", 2, 0.8, 0.0, 0)
    assert all(time_signature(s["mid"]) == (3, 4) for s in slots(varied[2:2 + MAX_SLOTS * SLOT_WIDTH]))
    assert f"3/4: varied by {WALTZ_MODEL}" in varied[-1]


# --------------------------------------------------------------------------- example tunes

def test_the_examples_hold_a_waltz_and_a_jig_and_morph_them_in_pairs(handlers):
    examples = ExampleSongs()
    _, info, _ = handlers.on_example("saddle_the_pony_jig.mid", "Song A")
    assert "6/8, 180 qpm" in info and "No model here is measured in 6/8 bars" in info
    _, waltz, _ = handlers.on_example("the_black_slender_boy.mid", "Song A")
    assert "3/4, 132 qpm" in waltz and f"run by **{WALTZ_MODEL}**" in waltz
    pairs = example_pairs(examples)
    assert pairs[:3] == [["7th_regiment_reel.mid", "abitha_muggins_favorite_reel.mid"],
                         ["admirals_hornpipe.mid", "alhambra_reel.mid"], ["all_the_go_reel.mid",
                                                                          "all_the_way_to_galway_reel.mid"]]
    assert sorted(pairs[3:]) == [["along_with_my_love_ill_go.mid", "the_black_slender_boy.mid"],
                                 ["geese_in_the_bog_jig.mid", "saddle_the_pony_jig.mid"]]
