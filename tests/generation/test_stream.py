"""Songs are one note stream: a note held across a phrase boundary stays one note,
in the MIDI, the WAV and the picture of every operation.

Hand-built melodies hold notes across 2-bar (32-step) and 16-bar (256-step)
boundaries. ``Echo`` stands in for a model that gives back what it is given, so
the export path alone decides what comes out; the tiny trained ``debug`` model
and an untrained 16-bar model check that picture and MIDI agree on real outputs.
"""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from musiclatent.constants import HOLD, NOTE_ON_OFFSET, REST
from musiclatent.generation import studio
from musiclatent.generation.roll import read_png_notes
from musiclatent.generation.stream import held_into, model_phrases, seal, stream_notes
from musiclatent.midi.melody import Melody
from musiclatent.representations.pianoroll import notes_to_tokens


def melody(notes, n_bars: int, qpm: float = 120.0) -> Melody:
    notes = np.asarray(notes, np.int32)
    return Melody(notes, np.array([(16 * i, 16) for i in range(n_bars)], np.int32), qpm=qpm)


# a 20-bar line: held over steps 32 (2 bars) and 256 (16 bars), one note ending on
# boundary 64 before a rest, one note ending on boundary 96 right before the next
CROSSING = [(60, 0, 8), (62, 8, 28), (64, 28, 40), (65, 40, 64), (67, 70, 96), (69, 96, 100), (71, 100, 140),
            (72, 144, 250), (74, 250, 262), (72, 262, 290), (71, 300, 320)]


def midi_notes(path, qpm: float) -> np.ndarray:
    """The melody track's notes (not those of a chord track beside it)."""
    sec = 60.0 / qpm / 4
    pm = pretty_midi.PrettyMIDI(str(path))
    out = [(n.pitch, round(n.start / sec), round(n.end / sec)) for i in pm.instruments if i.name != "chords"
           for n in i.notes]
    return np.asarray(sorted(out, key=lambda n: (n[1], n[0])), np.int32).reshape(-1, 3)


class Echo:
    """A stand-in model that gives back its input phrases (and fixed phrases from the prior)."""

    bars, z_dim, styles, meter = 2, 4, ["any", "x"], (4, 4)

    def __init__(self, steps: int = 32, prior: np.ndarray | None = None):
        self.steps = steps
        self.bars = steps // 16
        self.fixed = prior

    prior = None   # no style prior: latents from N(0, I)

    def attribute_offset(self, attributes):
        return np.zeros(self.z_dim, np.float32)

    def prior_latents(self, n, style=None, temperature=0.5, rng=None):
        return np.zeros((n, self.z_dim), np.float32)

    def walk_latents(self, z, n, similarity, style=None, rng=None, spread=1.0):
        return np.zeros((n, len(z), self.z_dim), np.float32)

    def encode(self, tokens, style=None, refine=None, chords=None):
        return np.zeros((len(tokens), self.z_dim), np.float32)

    def decode(self, z, style=None, temperature=0.0, seed=None, chords=None, repeat=0.0):
        fixed = self.fixed if self.fixed is not None else np.full(self.steps, REST)
        return np.resize(fixed, (len(z), self.steps))

    def interpolate(self, a, b, steps, **kw):
        return np.stack([a if 2 * k < steps else b for k in range(steps)])

    def restyle(self, tokens, *args, **kw):
        return np.array(tokens)

    def variations(self, tokens, n=4, *args, **kw):
        return np.stack([tokens] * n)

    def continuation(self, tokens, n=4, *args, **kw):
        return np.resize(tokens, (n, self.steps))


# --------------------------------------------------------------------------- the stream itself

def test_stream_joins_a_note_held_over_a_boundary():
    toks = np.zeros((2, 8), np.int64)
    toks[0, 6] = NOTE_ON_OFFSET + 60          # held to the end of phrase 1 ...
    toks[1, 3] = REST                          # ... and three steps into phrase 2
    toks[1, 5] = NOTE_ON_OFFSET + 62
    assert stream_notes([toks]).tolist() == [[60, 6, 11], [62, 13, 16]]
    assert stream_notes([toks[:1], toks[1]]).tolist() == [[60, 6, 11], [62, 13, 16]]
    assert held_into(toks).tolist() == [0, 3]


def test_seal_ends_notes_where_the_input_ended_them():
    toks = np.zeros((4, 8), np.int64)
    toks[:, 4] = NOTE_ON_OFFSET + np.array([60, 62, 64, 65])
    toks[3, 2] = NOTE_ON_OFFSET + 67
    sealed = seal(toks, np.array([0, 8, 3, 5]))
    assert sealed[:, :4].tolist() == [[REST, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, REST], [0, 0, 69, 0]]
    assert stream_notes([sealed]).tolist() == [[60, 4, 12], [62, 12, 19], [64, 20, 26], [67, 26, 28], [65, 28, 32]]
    with pytest.raises(ValueError, match="held lengths"):
        seal(toks, np.array([1]))


def test_model_phrases_open_like_training_windows():
    song = notes_to_tokens(np.array([[60, 0, 8], [62, 10, 16]]), 16).reshape(2, 8)
    assert song[1, 0] == REST                  # in the stream, the note ends on the boundary
    assert model_phrases(song)[1, 0] == HOLD   # read alone, the window opens in silence
    assert (model_phrases(song)[:, 1:] == song[:, 1:]).all()


# --------------------------------------------------------------------------- every export path

def write_and_read(result, tmp_path, monkeypatch):
    """Write a result; per file: (stream notes, MIDI notes, notes the WAV was rendered from, picture notes)."""
    import musiclatent.generation.audio as audio

    rendered = {}

    def fake_wav(path, pm):
        rendered[path.stem] = sorted(((n.pitch, n.start, n.end) for n in pm.instruments[0].notes), key=lambda n: n[1])
        path.write_bytes(b"RIFF")
        return path

    monkeypatch.setattr(audio, "write_wav", fake_wav)
    studio.write_result(result, tmp_path, wav=True, png=True)
    sec = 60.0 / result.qpm / 4
    out = {}
    for stem in result.files:
        wav = np.asarray([(p, round(s / sec), round(e / sec)) for p, s, e in rendered[stem]], np.int32)
        png = read_png_notes((tmp_path / f"{stem}.png").read_bytes())
        out[stem] = (result.file_notes(stem), midi_notes(tmp_path / f"{stem}.mid", result.qpm),
                     wav.reshape(-1, 3), png)
    return out


def assert_same(files):
    for stem, (stream, midi, wav, png) in files.items():
        assert midi.tolist() == stream.tolist(), stem
        assert wav.tolist() == stream.tolist(), stem
        assert png.tolist() == stream.tolist(), stem


@pytest.mark.parametrize("steps", [32, 256], ids=["2-bar", "16-bar"])
@pytest.mark.parametrize("op", ["interpolate", "restyle", "vary", "continue"])
def test_boundary_notes_survive_every_song_operation(op, steps, tmp_path, monkeypatch):
    ml, mel = Echo(steps), melody(CROSSING, 20)
    if op == "interpolate":
        res = studio.interpolate_songs(ml, mel, mel, steps=3, keep_intro=True)
        stems = ["recon_a"]
        recon_b = res.file_notes("recon_b")            # B is tiled to end on its last bar line
        assert (recon_b - [0, recon_b[0, 1], recon_b[0, 1]]).tolist() == [list(n) for n in CROSSING]
    elif op == "restyle":
        res = studio.restyle_song(ml, mel, "x")
        stems = ["original", "restyled"]
    elif op == "vary":
        res = studio.vary_song(ml, mel, n=2)
        stems = ["original", "variation_01", "variation_02"]
    else:
        res = studio.continue_song(ml, mel, n=1)
        stems = ["continued"]
    files = write_and_read(res, tmp_path, monkeypatch)
    assert_same(files)
    for stem in stems:
        got = files[stem][0][:len(CROSSING)].tolist()
        assert got == [list(n) for n in CROSSING], stem      # (64, 28, 40) and (74, 250, 262) whole


def test_sample_chains_hold_notes_across_phrases(tmp_path, monkeypatch):
    phrase = np.zeros(32, np.int64)
    phrase[8] = REST                            # a note held in from the phrase before ends here
    phrase[[12, 28]] = NOTE_ON_OFFSET + np.array([60, 67])
    res = studio.sample(Echo(32, prior=phrase), n=2, bars=8)
    files = write_and_read(res, tmp_path, monkeypatch)
    assert_same(files)
    notes = files["sample_01"][0].tolist()
    assert [67, 28, 40] in notes and [67, 60, 72] in notes and [67, 92, 104] in notes


# --------------------------------------------------------------------------- the morph's start and end

def test_morph_starts_where_the_melody_starts_and_ends_where_b_ends(tmp_path, monkeypatch):
    intro = [(p, s + 96, e + 96) for p, s, e in CROSSING]      # 6 bars of intro
    a, b = melody(intro, 30), melody(CROSSING, 24)             # B: 4 silent bars after its melody
    res = studio.interpolate_songs(Echo(32), a, b, steps=4)
    notes = res.file_notes("morph")
    assert notes[0, 1] < 16                                      # first note in the first bar
    assert notes[-1].tolist()[0] == CROSSING[-1][0]
    assert len(res.stream("morph")) - notes[-1, 2] < 16         # ends on the bar line after B's last note
    assert any("intro" in r for r in res.notes)
    kept = studio.interpolate_songs(Echo(32), a, b, steps=4, keep_intro=True)
    assert kept.file_notes("morph")[0, 1] >= 32                 # A's silent opening kept on request
    assert len(kept.stream("morph")) - kept.file_notes("morph")[-1, 2] >= 64   # and B's outro
    assert_same(write_and_read(res, tmp_path, monkeypatch))


# --------------------------------------------------------------------------- real models

@pytest.fixture(scope="module")
def model_16bar():
    """An untrained 16-bar model of the debug shape: real 256-step phrases through the real code."""
    import torch

    from musiclatent.config import ModelConfig
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.models.builders import build_vae

    torch.manual_seed(0)
    cfg = ModelConfig(bars=16, decoder="flat", embed_dim=8, enc_hidden=16, z_dim=8, dec_hidden=16, dec_layers=1,
                      style_dim=4, styles=("any", "x"))
    return MusicLatent(build_vae(cfg), name="untrained-16bar")


@pytest.mark.parametrize("which", ["debug", "16bar"])
def test_real_models_picture_midi_and_wav_agree(which, debug_model, model_16bar, tmp_path, monkeypatch):
    ml = debug_model if which == "debug" else model_16bar
    mel = melody(CROSSING, 20)
    style = ml.styles[-1]
    results = [studio.sample(ml, n=1, bars=2 * ml.bars, temperature=1.0, seed=3),
               studio.interpolate_songs(ml, mel, mel, steps=3, temperature=0.5),
               studio.restyle_song(ml, mel, style, keep_rests=False, keep_register=False),
               studio.vary_song(ml, mel, n=1), studio.continue_song(ml, mel, n=1)]
    for k, res in enumerate(results):
        assert_same(write_and_read(res, tmp_path / str(k), monkeypatch))


# --------------------------------------------------------------------------- the CLI

def song_with_intro(path, intro_bars: int, bars: int = 8, qpm: float = 120.0, seed: int = 0):
    """A two-track MIDI song whose chords play ``intro_bars`` bars before the melody enters."""
    rng = np.random.default_rng(seed)
    sec = 60.0 / qpm / 4
    pm = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    chords, lead = pretty_midi.Instrument(0, name="Chords"), pretty_midi.Instrument(73, name="Lead")
    for b in range(intro_bars + bars):
        for p in (48, 52, 55):
            chords.notes.append(pretty_midi.Note(70, p, 16 * b * sec, 16 * (b + 1) * sec))
    t = 16 * intro_bars
    while t < 16 * (intro_bars + bars):
        d = int(rng.choice([2, 4, 6, 8]))
        lead.notes.append(pretty_midi.Note(90, int(rng.integers(62, 76)), t * sec, (t + d) * sec))
        t += d
    pm.instruments += [chords, lead]
    pm.write(str(path))


def test_cli_morph_starts_with_the_melody(debug_model_dir, tmp_path):
    from musiclatent.cli.main import main as cli_main

    song_with_intro(tmp_path / "a.mid", intro_bars=7, seed=1)
    song_with_intro(tmp_path / "b.mid", intro_bars=3, seed=2)
    args = ["interpolate", str(tmp_path / "a.mid"), str(tmp_path / "b.mid"), "--model", str(debug_model_dir),
            "--steps", "3", "--track", "Lead"]
    assert cli_main(args + ["--out", str(tmp_path / "m")]) == 0
    first = midi_notes(tmp_path / "m" / "morph.mid", 120.0)[0]
    assert first[1] < 16                                   # within the first bar (A's intro is 7 bars)
    assert cli_main(args + ["--out", str(tmp_path / "k"), "--keep-intro"]) == 0
    assert midi_notes(tmp_path / "k" / "morph.mid", 120.0)[0, 1] >= 32     # A's silent opening phrase kept
