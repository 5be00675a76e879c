"""The Drums tab: beats by style and morphs between two uploaded grooves, from a drum model.

``build_drums_tab(model, store)`` lays it out; :class:`DrumHandlers` holds its two buttons'
work, callable without a browser. Every result is a drum-grid picture, a WAV preview (the
bundled General MIDI soundfont's kit, looping in the page) and a General MIDI drum file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr

from .workspace import InputError, OutputStore, plain

log = logging.getLogger("musiclatent.demo")

DRUMS_MODEL = "drums-2bar"
MAX_BEATS = 4
DEFAULT_TEMPO = 100.0
GROOVE_CREDIT = (
    "The drum model learnt from the **Groove MIDI Dataset** (1,150 MIDI performances by 10 drummers): "
    "Jon Gillick, Adam Roberts, Jesse Engel, Douglas Eck, David Bamman, \"Learning to Groove with Inverse "
    "Sequence Transformations\", ICML 2019; dataset under "
    "[CC BY 4.0](https://creativecommons.org/licenses/by/4.0/) (https://magenta.tensorflow.org/datasets/groove).")
HOWTO = ("Files are General MIDI drums on channel 10 (kick 36, snare 38, hi-hats 42/46, toms 45/48/50, "
         "crash 49, ride 51), a whole number of bars long: drop one on a drum track and loop it.")


def _resolve(model):
    """The loaded model behind a lazy one (``demo.lazy``), or the model itself."""
    try:
        from .lazy import resolve
    except ImportError:
        return model
    return resolve(model)


def load_drum_model(name: str = DRUMS_MODEL):
    """The drum model to serve (described now and loaded on first use where ``demo.lazy`` exists),
    or None when it is not there."""
    try:
        from .lazy import LazyModel as load
    except ImportError:
        from musiclatent.generation.facade import MusicLatent

        load = MusicLatent.load
    try:
        return load(name)
    except Exception as err:  # no drum model shipped yet: the tab is left out
        log.info("no drum model %s: %s", name, err)
        return None


def _upload_path(upload) -> Path:
    if upload is None:
        raise InputError("upload a MIDI file with drums (channel 10) first")
    return Path(upload if isinstance(upload, str) else upload.name)


class DrumHandlers:
    """The Drums tab's buttons. ``model`` is a drum :class:`~musiclatent.MusicLatent` (or a lazy one)."""

    def __init__(self, model, store: OutputStore):
        self.model, self.store = model, store

    def _write(self, result, folder: Path) -> dict[str, tuple[Path, Path, Path]]:
        from musiclatent.generation.drums import write_drum_result

        write_drum_result(result, folder, wav=True, png=True, name="musiclatent drums")
        return {stem: tuple(folder / f"{stem}.{ext}" for ext in ("png", "wav", "mid")) for stem in result.files}

    def generate(self, style: str, n: int, bars: int, temperature: float, tempo: float, seed: int) -> list:
        """Outputs: status, then per beat slot (visible, picture, audio, MIDI)."""
        from musiclatent.generation.drums import sample_drums

        ml = _resolve(self.model)
        n, bars = max(1, min(int(n), MAX_BEATS)), int(bars)
        try:
            res = sample_drums(ml, n=n, bars=bars, style=style or None, temperature=float(temperature),
                               seed=int(seed), qpm=float(tempo or DEFAULT_TEMPO))
        except ValueError as err:
            raise gr.Error(plain(str(err))) from None
        files = self._write(res, self.store.new("drums"))
        out = [f"{n} {bars}-bar beat{'s' if n != 1 else ''} in the style {style or 'any'} at {res.qpm:g} bpm. {HOWTO}"]
        for k in range(MAX_BEATS):
            if k < n:
                png, wav, mid = files[f"sample_{k + 1:02d}"]
                out += [gr.update(visible=True), gr.update(value=str(png), label=f"Beat {k + 1}"), str(wav), str(mid)]
            else:
                out += [gr.update(visible=False), None, None, None]
        return out

    def morph(self, upload_a, upload_b, steps: int, tempo: float | None) -> list:
        """Outputs: status, morph picture, audio, MIDI, and every step's MIDI."""
        from musiclatent.generation.drums import interpolate_drums, read_drum_song
        from musiclatent.midi.io import MusicReadError

        ml = _resolve(self.model)
        try:
            a = read_drum_song(_upload_path(upload_a), ml.steps)
            b = read_drum_song(_upload_path(upload_b), ml.steps)
            qpm = float(tempo) if tempo else None
            if qpm is not None and not 20 <= qpm <= 400:
                raise InputError(f"tempo {qpm:g} bpm is out of range (20-400; 0 keeps A's)")
            res = interpolate_drums(ml, a, b, steps=int(steps), qpm=qpm)
        except (InputError, MusicReadError, ValueError) as err:
            raise gr.Error(plain(str(err))) from None
        files = self._write(res, self.store.new("drums-morph"))
        png, wav, mid = files["morph"]
        steps_midi = [str(files[s][2]) for s in res.files if s.startswith("step_")]
        status = (f"Morph in {int(steps)} steps from A ({len(a.phrases)} phrases) to B ({len(b.phrases)} phrases) "
                  f"at {res.qpm:g} bpm; {res.notes[0]}.")
        return [status, str(png), str(wav), str(mid), steps_midi]


def about_markdown() -> str:
    """The Drums lines of the About tab: the credit and how to use the files."""
    return f"### Drums\n{GROOVE_CREDIT}\n\n{HOWTO}"


def build_drums_tab(model, store: OutputStore) -> DrumHandlers:
    """Lay out the Drums tab for ``model``; returns its handlers."""
    h = DrumHandlers(model, store)
    styles = list(model.styles)
    gr.Markdown(f"2-bar grooves from a latent space of human drumming ({len(styles) - 1} styles).")
    with gr.Row():
        style = gr.Dropdown(styles, value="funk" if "funk" in styles else styles[0], label="Style",
                            elem_id="drums-style")
        n = gr.Slider(1, MAX_BEATS, value=2, step=1, label="Beats")
        bars = gr.Radio([2, 4, 8], value=2, label="Bars")
        temperature = gr.Slider(0.0, 1.5, value=0.5, step=0.05, label="Temperature (0 = argmax)")
        tempo = gr.Number(DEFAULT_TEMPO, label="Tempo (bpm)", minimum=40, maximum=240)
        seed = gr.Number(0, label="Seed", precision=0)
    gen_btn = gr.Button("Generate beats", variant="primary", elem_id="drums-btn")
    status = gr.Markdown(elem_id="drums-status")
    slots = []
    with gr.Row(equal_height=False):
        for k in range(MAX_BEATS):
            with gr.Column(visible=False, elem_classes="ml-slot", elem_id=f"drums-slot-{k}") as col:
                img = gr.Image(type="filepath", format="png", interactive=False, elem_id=f"drums-roll-{k}")
                audio = gr.Audio(label="Listen (loops)", type="filepath", interactive=False, loop=True,
                                 elem_id=f"drums-audio-{k}")
                midi = gr.File(label="MIDI", interactive=False, elem_id=f"drums-midi-{k}")
            slots += [col, img, audio, midi]
    gen_btn.click(h.generate, [style, n, bars, temperature, tempo, seed], [status] + slots,
                  concurrency_id="model")

    gr.Markdown("### Morph two grooves\nUpload two drum MIDI files (their channel-10 part is read, in 4/4); "
                "the morph walks from A to B phrase by phrase.")
    with gr.Row():
        up_a = gr.File(label="Groove A (.mid)", file_types=[".mid", ".midi"], elem_id="drums-a-upload")
        up_b = gr.File(label="Groove B (.mid)", file_types=[".mid", ".midi"], elem_id="drums-b-upload")
        steps = gr.Slider(2, 9, value=5, step=1, label="Steps")
        morph_tempo = gr.Number(0, label="Tempo (bpm; 0 = A's)", minimum=0, maximum=240)
    morph_btn = gr.Button("Morph", variant="primary", elem_id="drums-morph-btn")
    morph_status = gr.Markdown(elem_id="drums-morph-status")
    with gr.Row(equal_height=False):
        morph_img = gr.Image(type="filepath", format="png", interactive=False, label="Morph",
                             elem_id="drums-morph-roll")
        with gr.Column():
            morph_audio = gr.Audio(label="Listen (loops)", type="filepath", interactive=False, loop=True,
                                   elem_id="drums-morph-audio")
            morph_midi = gr.File(label="Morph MIDI", interactive=False, elem_id="drums-morph-midi")
            step_midis = gr.File(label="Each step as a whole groove", file_count="multiple", interactive=False,
                                 elem_id="drums-steps-midi")
    morph_btn.click(h.morph, [up_a, up_b, steps, morph_tempo],
                    [morph_status, morph_img, morph_audio, morph_midi, step_midis], concurrency_id="model")
    with gr.Accordion("About the drums", open=False):
        gr.Markdown(GROOVE_CREDIT + "\n\n" + HOWTO)
    return h
