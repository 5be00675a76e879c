"""The app over chords: the Generate tab's progression, and songs read with their chords.

A tiny ``debug-chords`` model trained on the session's ``tiny_dataset`` (whose songs' chord tracks
are read as chords) stands in for the shipped ``melody-2bar-chords`` in a temporary pretrained
folder; the served model is the chordless ``debug_model``. Nothing needs shipped weights.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pretty_midi
import pytest

from demo.app import build_demo
from demo.chords import chords_per_bar_choice, progression_choice, song_chords_line
from demo.generator import CHORD_MODEL
from demo.handlers import MAX_SLOTS, SLOT_WIDTH, Generator, Handlers
from demo.selection import chords_between
from demo.workspace import ExampleSongs, InputError, OutputStore
from musiclatent.representations.chords import chord_pitch_classes, parse_progression

from tests.demo.shipping import ship_debug_model, use_pretrained
from tests.demo.test_app import gen_args, slots

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # gr.Warning outside a request

BAR = 2.0                                           # seconds of a 4/4 bar at 120 qpm



def lead_sheet(path: Path, progression: str, bars: int, qpm: float = 120.0) -> Path:
    """A 3-track MIDI song: a melody ("Lead"), block chords of ``progression`` a bar each,
    repeated ("Piano"), and drums."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    bar = 4 * 60.0 / qpm
    lead = pretty_midi.Instrument(73, name="Lead")
    piano = pretty_midi.Instrument(0, name="Piano")
    drums = pretty_midi.Instrument(0, is_drum=True, name="Drums")
    ids = parse_progression(progression)
    for b in range(bars):
        pcs = sorted(chord_pitch_classes(ids[b % len(ids)]))
        for q in range(4):
            lead.notes.append(pretty_midi.Note(90, 72 + pcs[q % len(pcs)], b * bar + q * bar / 4,
                                               b * bar + (q + 1) * bar / 4))
        piano.notes += [pretty_midi.Note(60, 48 + pc, b * bar, (b + 1) * bar) for pc in pcs]
        drums.notes.append(pretty_midi.Note(90, 36, b * bar, b * bar + 0.1))
    pm.instruments += [lead, piano, drums]
    pm.write(str(path))
    return path


def chord_track(path) -> pretty_midi.Instrument:
    """The chord track of a MIDI file (the melody track is left out when a tiny model rests)."""
    return next(i for i in pretty_midi.PrettyMIDI(str(path)).instruments if i.name == "chords")


def bar_chords(track: pretty_midi.Instrument, n_bars: int, per_bar: int = 1) -> list[set[int]]:
    """The pitch classes struck at the start of each bar (or half bar) of a chord track."""
    step = BAR / per_bar
    return [{n.pitch % 12 for n in track.notes if abs(n.start - k * step) < 1e-3} for k in range(n_bars * per_bar)]


def pcs_of(progression: str) -> list[set[int]]:
    return [set(chord_pitch_classes(c)) for c in parse_progression(progression)]


@pytest.fixture(scope="module")
def shipped(tiny_dataset, tmp_path_factory):
    """A pretrained folder holding a debug chord model as ``melody-2bar-chords``, used in place of
    the package's while this module runs."""
    pretrained = ship_debug_model(tmp_path_factory, tiny_dataset, "debug-chords", CHORD_MODEL)
    with pytest.MonkeyPatch.context() as mp:
        use_pretrained(mp, pretrained)
        yield pretrained


@pytest.fixture(scope="module")
def handlers(debug_model, shipped, tmp_path_factory):
    return Handlers(Generator([debug_model]), OutputStore(tmp_path_factory.mktemp("chords-out"), keep=100),
                    ExampleSongs())


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lead-sheets")
    return {"cgaf": str(lead_sheet(folder / "cgaf.mid", "C G Am F", bars=12)),
            "blues": str(lead_sheet(folder / "blues.mid", "F Bb F C7", bars=8))}


def generate(handlers, chords, per_bar=1, chord_program=0, meter=None, **kw):
    return handlers.generate(*gen_args(**{"n": 1, "tempo": 120, **kw}), meter=meter, chords=chords,
                             chords_per_bar=per_bar, chord_program=chord_program)


# --------------------------------------------------------------------------- reading the chords box

def test_the_app_and_the_cli_name_the_same_chord_model():
    from musiclatent.cli.sample import CHORD_MODEL as CLI_CHORD_MODEL

    assert CHORD_MODEL == CLI_CHORD_MODEL == "melody-2bar-chords"


@pytest.mark.parametrize("text, expected", [(None, None), ("", None), ("   ", None), ("C G Am F", [1, 57, 74, 41]),
                                            ("Dm7 | G7, Cmaj7", [20, 59, 1])], ids=["none", "empty", "blank",
                                                                                 "pop", "separators"])
def test_progression_choice(text, expected):
    assert progression_choice(text) == expected


@pytest.mark.parametrize("text, message", [("C H7 Am", "chord 2 of 3 in the progression, ’H7’"),
                                           ("C <b>x</b>", "chord 2 of 2 in the progression, ’_b_x_/b_’"),
                                           ("C " * 65, "at most 64 chords")], ids=["H7", "markup", "too-many"])
def test_progression_choice_names_what_it_cannot_read(text, message):
    with pytest.raises(InputError, match=message):
        progression_choice(text)


@pytest.mark.parametrize("value, expected", [(None, 1), (1, 1), (2, 2), ("2", 2), (2.0, 2)])
def test_chords_per_bar_choice(value, expected):
    assert chords_per_bar_choice(value) == expected


@pytest.mark.parametrize("value", [3, 0, "two", 1.5])
def test_chords_per_bar_choice_refuses_others(value):
    with pytest.raises(InputError, match="chords per bar must be 1 or 2"):
        chords_per_bar_choice(value)


def test_chords_between_moves_the_chosen_bars_chords_to_step_0():
    events = np.array([[0, 1], [16, 57], [32, 74], [48, 41], [64, 0]], np.int32)
    assert chords_between(events, 24, 48).tolist() == [[0, 57], [8, 74], [24, 0]]   # G sounds at 24
    assert chords_between(events, 32, 80).tolist() == [[0, 74], [16, 41], [32, 0]]
    assert chords_between(events, 64, 80) is None                                      # no chord there
    assert chords_between(None, 0, 16) is None


# --------------------------------------------------------------------------- generate over chords

def test_the_page_has_a_chords_box_and_the_api_keeps_old_callers(debug_model, shipped, tmp_path):
    generator = Generator([debug_model])
    demo = build_demo(generator, OutputStore(tmp_path / "out"))
    box = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "gen-chords")
    assert box.value == "" and box.placeholder == "C G Am F"
    api = demo.get_api_info()["named_endpoints"]["/generate"]["parameters"]
    assert [p["parameter_name"] for p in api][-4:] == ["meter", "chords", "chords_per_bar", "chord_program"]
    assert [p["parameter_default"] for p in api[-3:]] == ["", 1, 0]
    page = "\n".join(str(b.value) for b in demo.blocks.values() if isinstance(b, gr.Markdown))
    assert f"| {CHORD_MODEL} | 2 bars | 4/4 |" in page and "plays over them" in page   # the About tab
    assert not generator.meter_model(CHORD_MODEL).loaded                               # described, not loaded


def test_chords_on_generate_are_played_by_the_chord_model_and_written(handlers):
    generator = handlers.generator
    assert not generator.meter_model(CHORD_MODEL).loaded
    out = generate(handlers, "Cmaj7 G7 Am F", per_bar=2, chord_program=24, n=2)
    assert generator.meter_model(CHORD_MODEL).loaded                                   # loaded on first use
    status = out[-1]
    assert (f"2 × 2-bar melodies in 4/4 from **{CHORD_MODEL}** over C G7 Am F (two chords a bar, repeated over "
            "the bars)") in status
    assert "does not hear" not in status
    for item in slots(out):
        chords = chord_track(item["mid"])
        assert chords.program == 24
        assert bar_chords(chords, 2, per_bar=2) == pcs_of("C G7 Am F")
        assert max(n.end for n in chords.notes) == pytest.approx(2 * BAR)


def test_a_progression_repeats_over_16_bars_and_is_cut_to_2(handlers):
    long = slots(generate(handlers, "Dm7 G7 Cmaj7 Cmaj7", bars=16))[0]
    assert bar_chords(chord_track(long["mid"]), 16) == pcs_of("Dm7 G7 Cmaj7 Cmaj7") * 4
    short = generate(handlers, "Dm7 G7 Cmaj7 Cmaj7")[-1]
    assert "over Dm7 G7 C C (a chord a bar, repeated over the bars); 2 bars hold only its first 2 chords" in short


def test_a_bad_chord_symbol_is_named_and_nothing_runs(handlers):
    before = handlers.store.folders()
    with pytest.raises(gr.Error, match="Chords: chord 2 of 3 in the progression, ’H7’: a chord starts with a root"):
        generate(handlers, "C H7 Am")
    assert handlers.store.folders() == before


def test_chords_in_another_meter_say_they_go_with_4_4(handlers):
    with pytest.raises(gr.Error, match="Chords are played in 4/4 only: pick 4/4 for a progression, or clear the "
                                       "chords box to sample 3/4"):
        generate(handlers, "C G", meter="3/4")


def test_without_a_chord_model_the_chords_are_still_written(debug_model, tmp_path, monkeypatch):
    use_pretrained(monkeypatch, tmp_path / "empty")
    handlers = Handlers(Generator([debug_model]), OutputStore(tmp_path / "out"), ExampleSongs())
    out = generate(handlers, "F Bb C7 F")
    assert f"from **{debug_model.name}** over F Bb C7 F" in out[-1]
    assert f"- {debug_model.name} does not hear chords: the melodies ignore them" in out[-1]
    assert bar_chords(chord_track(slots(out)[0]["mid"]), 2) == pcs_of("F Bb")
    plain = handlers.generate(*gen_args(n=1))                           # no chords: a melody alone, as before
    assert len(pretty_midi.PrettyMIDI(str(slots(plain)[0]["mid"])).instruments) == 1 and " over " not in plain[-1]


# --------------------------------------------------------------------------- songs with chords

def test_an_upload_shows_the_chords_read_from_its_accompaniment(handlers, songs):
    info, _ = handlers.song_info(songs["cgaf"], None, None, "Song A")
    assert ("**Song A** chords from the accompaniment (track “Piano”, confidence 1.00): C G Am F C G Am F … · "
            "12 changes") in info
    assert "melody from track 0 “Lead”" in info
    _, example_info, _ = handlers.on_example(ExampleSongs().names[0], "Song B")
    assert "chords from" not in example_info                            # the example tunes have none


def test_a_morph_of_songs_with_chords_has_a_chord_track(handlers, songs):
    roll, audio, midi, gallery, step_files, archive, status = handlers.interpolate(
        None, songs["cgaf"], None, "auto", songs["blues"], None, "auto", 3, 0.0, 0)
    assert "**Song A** chords from the accompaniment" in status and "**Song B** chords from" in status
    assert "the input's chords are written as a chord track" in status
    assert bar_chords(chord_track(midi), 2) == pcs_of("C G")            # the morph opens with A's opening
    assert bar_chords(chord_track(step_files[0]), 4) == pcs_of("C G Am F")   # step 1 plays over A's chords
    assert bar_chords(chord_track(step_files[-1]), 4) == pcs_of("F Bb F C7")


def test_restyle_and_vary_keep_the_song_s_chords(handlers, songs, debug_model):
    out = handlers.restyle(None, songs["cgaf"], None, "auto", debug_model.styles[1], 1.0, 0.0, 0)
    after = slots(out[2:2 + MAX_SLOTS * SLOT_WIDTH])[0]
    assert bar_chords(chord_track(after["mid"]), 12) == pcs_of("C G Am F") * 3
    assert "**Melody** chords from the accompaniment" in out[-1]
    # bars 2-5 chosen: their chords, from G on
    varied = handlers.vary(None, songs["cgaf"], None, "auto", 1, 0.8, 0.0, 0, True, True, 2, 4)
    assert bar_chords(chord_track(slots(varied[2:2 + MAX_SLOTS * SLOT_WIDTH])[0]["mid"]), 4) == pcs_of("G Am F C")


def test_a_song_line_names_chord_symbols_and_their_misreadings():
    from musiclatent.midi.melody import Melody

    song = Melody(np.zeros((0, 3), np.int32), np.zeros((0, 2), np.int32),
                  chords=np.array([[0, 1], [16, 59], [32, 0]], np.int32),
                  track={"chords": {"source": "chord symbols", "symbols": 3, "unparsed": 1}})
    assert song_chords_line(song, "Melody") == ("**Melody** chords from chord symbols (1 of 3 symbols unreadable): "
                                                "C G7 · 2 changes")
