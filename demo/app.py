"""The musiclatent web app.

``build_demo(generator)`` returns the page as a ``gr.Blocks`` (no global
model: everything it serves comes from ``generator``); ``main()`` loads the
shipped models and serves it at http://127.0.0.1:7860. Run it with
``musiclatent demo`` or ``python demo/app.py [--host H] [--port P] [--share]
[--model NAME_OR_FOLDER ...]``.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import logging
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python demo/app.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gradio as gr

from demo.chords import CHORDS_PER_BAR, MAX_PROGRESSION_CHARS
from demo.handlers import BAR_CHOICES, MAX_SLOTS, Generator, Handlers, keywords_last
from demo.lazy import warm_up_when_served
from demo.meters import example_pairs, meter_radio, morph_meter_help
from demo.workspace import ExampleSongs, OutputStore

log = logging.getLogger("musiclatent.demo")

TITLE = "musiclatent"
INTRO = ("Generate, morph and restyle melodies in a learned latent space, listen to them, "
         "and take the MIDI to your DAW.")
DEFAULT_MODELS = ("melody-2bar", "melody-16bar")
CONCURRENCY = 2          # model requests served at once (the app is CPU-bound)
QUEUE_SIZE = 128         # requests waiting beyond that are refused with a message
DELETE_CACHE = (900, 3600)  # every 15 min, delete Gradio's uploads older than 1 h
ROLL_HEIGHT = 200        # px of a piano-roll picture
DAW_HOWTO = """
### Using the MIDI in your DAW
1. Press the download icon under a result (or get everything as a .zip) to save a `.mid` file.
2. Drag the file onto a MIDI/instrument track in your DAW (Ableton Live, Logic, FL Studio, Reaper,
   GarageBand, Bitwig, ...). Each file is one track, starting at bar 1.
3. The file carries tempo, time signature, a General MIDI instrument and a velocity. Some DAWs ask
   whether to import the tempo (Logic); others keep the project tempo (Ableton): set it by hand if needed.
4. Pick any instrument you like: the GM program is only a hint. Quantization is 16th notes.
"""
CSS = """
#ml-header h1 {margin-bottom: 0}
.ml-slot {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px}
"""


def instrument_choices() -> list[tuple[str, int]]:
    """The 128 General MIDI programs as (name, number) dropdown choices."""
    import pretty_midi

    return [(f"{p}: {pretty_midi.program_to_instrument_name(p)}", p) for p in range(128)]


def result_slots(prefix: str) -> list:
    """``MAX_SLOTS`` result slots (column, piano roll, audio, MIDI), flattened, all hidden at first."""
    flat = []
    for row in range(0, MAX_SLOTS, 2):
        with gr.Row(equal_height=False):
            for k in range(row, min(row + 2, MAX_SLOTS)):
                with gr.Column(visible=False, elem_classes="ml-slot", elem_id=f"{prefix}-slot-{k}") as col:
                    img = gr.Image(label=f"Result {k + 1}", type="filepath", format="png", interactive=False,
                                   height=ROLL_HEIGHT, buttons=["download", "fullscreen"],
                                   elem_id=f"{prefix}-roll-{k}")
                    audio = gr.Audio(label="Listen (WAV)", type="filepath", interactive=False, buttons=["download"],
                                     elem_id=f"{prefix}-audio-{k}")
                    midi = gr.File(label="MIDI", interactive=False, elem_id=f"{prefix}-midi-{k}")
                flat += [col, img, audio, midi]
    return flat


def song_picker(h: Handlers, which: str, prefix: str) -> tuple:
    """Upload or example pick, the melody-track choice, the bars to use and lines about the song.

    Returns (upload, example, track, info, from bar, number of bars).
    """
    with gr.Group():
        upload = gr.File(label=f"{which}: upload MIDI, ABC or MusicXML", type="filepath", elem_id=f"{prefix}-upload")
        example = gr.Dropdown(h.examples.choices(), value="", label="…or pick an example tune",
                              elem_id=f"{prefix}-example")
        track = gr.Dropdown([("automatic", "auto")], value="auto", label="Melody track",
                            info="Which track holds the melody; change it if the guess is wrong.",
                            elem_id=f"{prefix}-track")
        with gr.Row():
            from_bar = gr.Number(1, precision=0, minimum=0, label="From bar", elem_id=f"{prefix}-from-bar",
                                 info="As numbered in the file (a pickup is bar 0)")
            n_bars = gr.Number(0, precision=0, minimum=0, label="Bars", elem_id=f"{prefix}-bars",
                               info="0 = to the end: the whole song")
    info = gr.Markdown(elem_id=f"{prefix}-info")
    kw = dict(api_visibility="private", concurrency_id="songs", concurrency_limit=4)
    bars = [from_bar, n_bars]
    upload.upload(lambda f, fb, nb: h.on_upload(f, which, fb, nb), [upload, *bars], [example, info, track], **kw)
    upload.clear(lambda: h.song_info(None, None, None, which), None, [info, track], **kw)
    example.input(lambda e, fb, nb: h.on_example(e, which, fb, nb), [example, *bars], [upload, info, track], **kw)
    for field in (track, from_bar, n_bars):
        field.input(lambda f, e, t, fb, nb: h.on_track(f, e, t, which, fb, nb), [upload, example, track, *bars],
                    info, **kw)
    return upload, example, track, info, from_bar, n_bars


def zip_button(label: str, elem_id: str, hint: str) -> gr.DownloadButton:
    """A download button that says what to do while there is nothing to download yet."""
    return gr.DownloadButton(f"{label} · {hint}", interactive=False, elem_id=elem_id)


def enable_zip(event, button: gr.DownloadButton, label: str) -> None:
    """After ``event`` succeeds, the zip is there: the button can be pressed, with its plain label."""
    event.success(lambda: gr.update(label=label, interactive=True), None, button, queue=False,
                  api_visibility="private")


def model_radio(generator: Generator) -> gr.Radio:
    names = generator.names
    return gr.Radio([(generator.label(n), n) for n in names], value=names[0], label="Model",
                    visible=len(names) > 1)


def build_generate_tab(h: Handlers, generator: Generator) -> None:
    styles = generator.styles
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            style = gr.Dropdown(styles, value=styles[0], label="Style")
            bars = gr.Radio(list(BAR_CHOICES), value=BAR_CHOICES[0], label="Length (bars)")
            meter = meter_radio(generator)
            with gr.Row():
                chords = gr.Textbox("", label="Chords", placeholder="C G Am F", max_length=MAX_PROGRESSION_CHARS,
                                    elem_id="gen-chords", scale=3,
                                    info="Empty = no chords. Repeated over the bars, in 4/4; C, Am, G7, F#m7b5, "
                                         "Bbmaj7, Dsus4, N.C. The MIDI gets a chord track.")
                per_bar = gr.Radio([(str(k), k) for k in CHORDS_PER_BAR], value=CHORDS_PER_BAR[0],
                                   label="Chords per bar", elem_id="gen-chords-per-bar", scale=1)
            temperature = gr.Slider(0.0, 1.5, value=0.5, step=0.05, label="Temperature",
                                    info="0 = the style's most typical melody, most likely notes; higher = more surprising")
            n = gr.Slider(1, MAX_SLOTS, value=4, step=1, label="Variations")
            with gr.Accordion("Sound, seed and attributes", open=False):
                tempo = gr.Slider(40, 240, value=120, step=1, label="Tempo (quarter notes per minute)")
                program = gr.Dropdown(instrument_choices(), value=0, label="Instrument (General MIDI)")
                chord_program = gr.Dropdown(instrument_choices(), value=0, label="Chord instrument (General MIDI)",
                                            elem_id="gen-chord-program")
                with gr.Row():
                    seed = gr.Number(0, precision=0, minimum=0, label="Seed", scale=3)
                    dice = gr.Button("Random", scale=1, size="sm")
                sliders = [gr.Slider(-2, 2, value=0, step=0.1, label=a.replace("_", " "))
                           for a in generator.attribute_names]
            go = gr.Button("Generate", variant="primary", elem_id="gen-btn")
        with gr.Column(scale=3):
            status = gr.Markdown(elem_id="gen-status")
            archive = zip_button("Download all MIDI (.zip)", "gen-zip", "press Generate first")
            slots = result_slots("gen")
    inputs = [style, bars, temperature, n, tempo, program, seed, *sliders]
    gr.Examples([[styles[min(1, len(styles) - 1)], 2, 0.3, 4, 0, ""], [styles[0], 16, 0.6, 2, 7, ""],
                 [styles[-1], 2, 1.0, 8, 42, ""], [styles[0], 16, 0.5, 4, 3, "C Am Dm7 G7"]],
                [style, bars, temperature, n, seed, chords], label="Try these settings")
    dice.click(h.random_seed, None, seed, queue=False, api_visibility="private")
    later = {"meter": meter, "chords": chords, "chords_per_bar": per_bar, "chord_program": chord_program}
    event = go.click(keywords_last(h.generate, generator.attribute_names, list(later)), [*inputs, *later.values()],
                     [*slots, archive, status], api_name="generate", concurrency_id="model")
    enable_zip(event, archive, "Download all MIDI (.zip)")


def build_interpolate_tab(h: Handlers, generator: Generator) -> None:
    with gr.Row():
        with gr.Column():
            a = song_picker(h, "Song A", "interp-a")
        with gr.Column():
            b = song_picker(h, "Song B", "interp-b")
    with gr.Row():
        model = model_radio(generator)
        steps = gr.Slider(3, 9, value=5, step=1, label="Steps (A and B included)")
        temperature = gr.Slider(0.0, 1.5, value=0.0, step=0.05, label="Temperature")
        seed = gr.Number(0, precision=0, minimum=0, label="Seed")
        keep_intro = gr.Checkbox(False, label="Keep A's intro and B's outro", elem_id="interp-keep-intro",
                                 info="Off: the morph starts where A's melody starts and ends where B's ends")
    go = gr.Button("Morph A into B", variant="primary", elem_id="interp-btn")
    gr.Markdown(morph_meter_help(generator), elem_id="interp-meters")
    pairs = example_pairs(h.examples)
    if pairs:
        gr.Examples(pairs, [a[1], b[1]], fn=lambda x, y: (*h.on_example(x, "Song A"), *h.on_example(y, "Song B")),
                    outputs=[a[0], a[3], a[2], b[0], b[3], b[2]], run_on_click=True, cache_examples=False,
                    label="Example pairs", example_labels=[f"{h.examples.title(x)} → {h.examples.title(y)}"
                                                           for x, y in pairs])
    status = gr.Markdown(elem_id="interp-status")
    roll = gr.Image(label="The morph: A, the steps (numbered), B", type="filepath", format="png",
                    interactive=False, buttons=["download", "fullscreen"], elem_id="interp-roll")
    with gr.Row():
        audio = gr.Audio(label="Listen to the morph", type="filepath", interactive=False, buttons=["download"],
                         elem_id="interp-audio")
        midi = gr.File(label="Morph MIDI", interactive=False, elem_id="interp-midi")
        archive = zip_button("Download morph + steps (.zip)", "interp-zip", "morph two songs first")
    gallery = gr.Gallery(label="Each step as a whole song", columns=3, height=2 * ROLL_HEIGHT + 80,
                         object_fit="contain", buttons=["download", "fullscreen"], elem_id="interp-steps")
    step_files = gr.File(label="Step MIDI files", file_count="multiple", interactive=False)
    event = go.click(h.interpolate, [model, a[0], a[1], a[2], b[0], b[1], b[2], steps, temperature, seed,
                                     keep_intro, a[4], a[5], b[4], b[5]],
                     [roll, audio, midi, gallery, step_files, archive, status], api_name="interpolate",
                     concurrency_id="model")
    enable_zip(event, archive, "Download morph + steps (.zip)")


def build_restyle_tab(h: Handlers, generator: Generator) -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            upload, example, track, _, from_bar, n_bars = song_picker(h, "Melody", "restyle")
            model = model_radio(generator)
            temperature = gr.Slider(0.0, 1.5, value=0.0, step=0.05, label="Temperature")
            seed = gr.Number(0, precision=0, minimum=0, label="Seed")
            with gr.Row():
                keep_rests = gr.Checkbox(True, label="Rest where the input rests", elem_id="restyle-keep-rests")
                keep_register = gr.Checkbox(True, label="Stay in the input's register", elem_id="restyle-keep-register",
                                            info="moved back by octaves; the key never changes")
            with gr.Tab("Restyle"):
                targets = [s for s in generator.styles[1:]] or generator.styles
                target = gr.Dropdown(targets, value=targets[0], label="Target style")
                strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength",
                                     info="0 keeps the original; 1 moves fully to the style")
                restyle_btn = gr.Button("Restyle", variant="primary", elem_id="restyle-btn")
            with gr.Tab("Vary"):
                n = gr.Slider(1, MAX_SLOTS, value=4, step=1, label="Variations")
                similarity = gr.Slider(0.0, 1.0, value=0.8, step=0.05, label="Similarity",
                                       info="1 = the same melody; 0 = unrelated")
                vary_btn = gr.Button("Make variations", variant="primary", elem_id="vary-btn")
        with gr.Column(scale=3):
            status = gr.Markdown(elem_id="restyle-status")
            with gr.Row():
                before_roll = gr.Image(label="Before", type="filepath", format="png", interactive=False,
                                       height=ROLL_HEIGHT, buttons=["download", "fullscreen"])
                before_audio = gr.Audio(label="Before (WAV)", type="filepath", interactive=False,
                                        buttons=["download"])
            archive = zip_button("Download all MIDI (.zip)", "restyle-zip", "restyle or vary first")
            slots = result_slots("restyle")
    outputs = [before_roll, before_audio, *slots, archive, status]
    options = [keep_rests, keep_register, from_bar, n_bars]
    for event in (restyle_btn.click(h.restyle, [model, upload, example, track, target, strength, temperature, seed,
                                                *options], outputs, api_name="restyle", concurrency_id="model"),
                  vary_btn.click(h.vary, [model, upload, example, track, n, similarity, temperature, seed, *options],
                                 outputs, api_name="vary", concurrency_id="model")):
        enable_zip(event, archive, "Download all MIDI (.zip)")


def build_about_tab(generator: Generator) -> None:
    rows = ["| model | phrase | meter | styles | attributes | latent size | decoder | chords |",
            "|---|---|---|---|---|---|---|---|"]
    models = generator.described()   # the served models, the shipped meter models and chord model
    for name, ml in models.items():
        d = ml.describe()
        rows.append(f"| {name} | {d['bars']} bars | {d.get('meter', '4/4')} | {', '.join(d['styles'][1:]) or '-'} | "
                    f"{', '.join(d['attributes']) or '-'} | {d['z_dim']} | {d['decoder']} | "
                    f"{'plays over them' if d.get('chords') else '-'} |")
    gr.Markdown("### Models\n" + "\n".join(rows))
    for name, ml in models.items():
        with gr.Accordion(f"Model card: {name}", open=len(models) == 1):
            gr.Markdown(ml.card or "_This model has no model card._")
    gr.Markdown(DAW_HOWTO)


def build_explore(generator: Generator, tab: gr.Tab | None = None) -> None:
    """The Explore tab comes from ``demo/explore.py`` when that module exists; its corpus map
    (the index and the model behind it) loads when ``tab`` is first shown, not at startup."""
    try:
        explore = importlib.import_module("demo.explore")
    except ModuleNotFoundError as err:
        if err.name != "demo.explore":
            log.exception("the Explore tab could not be loaded")
        gr.Markdown("_The latent-space explorer is not available in this version._")
        return
    except Exception:
        log.exception("the Explore tab could not be loaded")
        gr.Markdown("_The latent-space explorer could not be loaded; see the server log._")
        return
    parts = explore.build_explore_tab(generator)
    if tab is not None and isinstance(parts, dict) and "show_map" in parts:
        fn, inputs, outputs = parts["show_map"]
        tab.select(fn, inputs, outputs, api_visibility="private", concurrency_id="model")


def build_demo(generator: Generator, store: OutputStore | None = None,
               examples: ExampleSongs | None = None, drums=None) -> gr.Blocks:
    """The whole page, queued, for a :class:`~demo.handlers.Generator`.

    Parameters
    ----------
    generator : Generator
        The models to serve.
    store : OutputStore, optional
        Where request outputs go (default: a fresh folder in Gradio's cache,
        deleted at exit).
    examples : ExampleSongs, optional
        The example tunes (default: ``demo/examples``).
    drums : MusicLatent or LazyModel, optional
        A drum model; when given, the page has a Drums tab (``demo/drums_tab.py``).
    """
    if store is None:
        store = OutputStore()
        atexit.register(store.cleanup)
    h = Handlers(generator, store, examples or ExampleSongs())
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}", elem_id="ml-header")
        with gr.Tabs():
            with gr.Tab("Generate", id="generate"):
                build_generate_tab(h, generator)
            with gr.Tab("Interpolate", id="interpolate"):
                build_interpolate_tab(h, generator)
            with gr.Tab("Restyle & vary", id="restyle"):
                build_restyle_tab(h, generator)
            if drums is not None:
                from demo.drums_tab import about_markdown, build_drums_tab

                with gr.Tab("Drums", id="drums"):
                    demo.drum_handlers = build_drums_tab(drums, store)
            with gr.Tab("About", id="about"):
                build_about_tab(generator)
                if drums is not None:
                    gr.Markdown(about_markdown())
            with gr.Tab("Explore", id="explore") as explore_tab:
                build_explore(generator, explore_tab)
    demo.handlers = h  # for tests and benchmarks
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, share: bool = False, **kwargs):
    """Serve the page. Only Gradio's own cache (uploads, our request folders) is served:
    no ``allowed_paths``. Uploads over 5 MB are refused by the server (and the page says "MB")."""
    from demo.page_script import UNITS_JS
    from musiclatent.constants import MAX_FILE_BYTES

    return demo.launch(server_name=host, server_port=port, share=share, max_file_size=MAX_FILE_BYTES,
                       allowed_paths=[], show_error=False, footer_links=["api", "settings"],
                       theme=gr.themes.Soft(), css=CSS, head=UNITS_JS, **kwargs)


def load_generator(names: list[str]) -> tuple[Generator | None, list[str]]:
    """Describe the models that exist, to be loaded on first use; returns (generator or None, problems)."""
    from demo.lazy import LazyModel

    models, problems = {}, []
    for name in names:
        try:
            ml = LazyModel(name)
        except Exception as err:  # a missing or unreadable model is reported, not fatal
            problems.append(f"{name}: {err}")
            continue
        models[ml.name or name] = ml
    return (Generator(models) if models else None), problems


def main(argv: list[str] | None = None) -> int:
    """Parse ``--host``, ``--port``, ``--share``, ``--model``; load the models; serve."""
    p = argparse.ArgumentParser(prog="musiclatent demo", description="Run the musiclatent web app.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--share", action="store_true", help="create a public Gradio share link (explicit opt-in)")
    p.add_argument("--model", action="append", default=None, metavar="NAME_OR_FOLDER",
                   help=f"a pretrained name or a model/run folder (repeatable; default: {', '.join(DEFAULT_MODELS)})")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    generator, problems = load_generator(args.model or list(DEFAULT_MODELS))
    for problem in problems:
        print(f"warning: model not loaded: {problem}", file=sys.stderr)
    if generator is None:
        print("No model to serve yet: the shipped models (melody-2bar, melody-16bar) are not in "
              "musiclatent/pretrained/ yet.\nTrain one (musiclatent train ...), then serve it with\n"
              "  python demo/app.py --model runs/<run folder>",
              file=sys.stderr)
        return 1
    from demo.drums_tab import load_drum_model

    demo = build_demo(generator, drums=load_drum_model())
    warm_up_when_served(demo, generator, args.threads)
    print(f"serving {', '.join(generator.names)} at http://{args.host}:{args.port}")
    launch(demo, args.host, args.port, args.share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
