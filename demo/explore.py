"""The Explore tab: the corpus map, similar phrases you can hear, and how typical a melody is.

``build_explore_tab(generator)`` is called inside ``with gr.Tab("Explore"):``.
``generator`` is a :class:`~musiclatent.MusicLatent`, or any object whose
``.models`` dict maps names (or bar counts) to MusicLatent. The handlers are
plain functions of (generator, inputs) so tests can call them without a server.
Each model uses its own prebuilt index (``<model folder>/index``).
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from musiclatent.latent import index as latent
from musiclatent.latent import typicality
from musiclatent.generation.audio import SAMPLE_RATE, render_pretty_midi
from musiclatent.generation.export import STEP_COLORS, phrases_to_pretty_midi
from musiclatent.midi.io import MusicReadError, read_song
from musiclatent.generation.songs import bar_number, count, song_phrases
from musiclatent.generation.studio import song_chords
from musiclatent.latent.names import phrase_name, piece_name
from musiclatent.latent.typicality import describe_corpus

from .lazy import resolve
from musiclatent.representations import MELODY

MAP_POINTS = 2000  # corpus points drawn (a fixed sample); search always uses the whole index
UPLOAD, GENERATED, PATH = "your melody", "generated", "path A to B"
OVERLAY_COLORS = {UPLOAD: "#000000", GENERATED: "#ff1493", PATH: "#00b8d4"}  # unlike any style color
RESULT_COLUMNS = ["rank", "distance", "style", "tune", "bar", "file"]
PHRASE_COLUMNS = ["phrase", "bars", "score", "percentile", "reading"]


# --------------------------------------------------------------------------- models and frames

def models_of(generator) -> dict[str, object]:
    """Display name -> MusicLatent, for a MusicLatent or an object with a ``.models`` dict."""
    models = getattr(generator, "models", None)
    if isinstance(models, dict) and models:
        return {(f"{k}-bar ({m.name})" if isinstance(k, int) else str(k)): m for k, m in models.items()}
    return {getattr(generator, "name", "") or f"{generator.bars}-bar model": generator}


def _model(generator, name: str | None):
    """The (loaded) model picked by display name, else the first."""
    models = models_of(generator)
    return resolve(models.get(name) if name in models else next(iter(models.values())))


def _index(ml):
    """The model's index, or None with a readable reason."""
    try:
        return ml.latent_index(), ""
    except (FileNotFoundError, ValueError) as err:
        return None, str(err)


def placeholder_frame(styles) -> pd.DataFrame:
    """Rows without coordinates (not drawn), one per overlay label, then one per corpus style.

    The plot's browser side fixes its color domain from the first data it gets,
    so every label must be there from the start, in the order later data uses.
    """
    labels = list(OVERLAY_COLORS) + [s for s in styles if s != "any" and s not in OVERLAY_COLORS]
    return pd.DataFrame({"x": np.nan, "y": np.nan, "style": labels, "file": "", "bar": 0, "row": -1})


def corpus_frame(ml, max_points: int = MAP_POINTS) -> pd.DataFrame:
    """A fixed sample of the model's indexed phrases as map rows (x, y, style, file, bar, row).

    One row without coordinates (not drawn) per overlay label comes first: the
    plot's browser side fixes its color domain from the first data it gets, so
    every label must be there from the start for later updates to get colors.
    """
    index, _ = _index(ml)
    if index is None:
        return pd.DataFrame(columns=["x", "y", "style", "file", "bar", "row"])
    rows = np.sort(np.random.default_rng(0).permutation(len(index))[:max_points])
    xy = index.coords[rows]
    placeholders = placeholder_frame(list(ml.styles) + index.styles)
    corpus = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "style": index.style[rows].astype(str),
                           "file": index.file[rows].astype(str), "bar": index.bar[rows] + 1, "row": rows})
    return pd.concat([placeholders, corpus], ignore_index=True)


def overlay_frame(coords: np.ndarray, label: str, file: str, bars: list[int]) -> pd.DataFrame:
    """Placed points (n, 2) as map rows with one style label."""
    coords = np.asarray(coords).reshape(-1, 2)
    return pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1], "style": label, "file": file,
                         "bar": list(bars), "row": -1})


def color_map(frame: pd.DataFrame) -> dict[str, str]:
    """Corpus styles in the export palette, overlays in strong colors."""
    out = {}
    for i, style in enumerate(s for s in dict.fromkeys(frame["style"]) if s not in OVERLAY_COLORS):
        out[style] = "#%02x%02x%02x" % STEP_COLORS[i % len(STEP_COLORS)]
    return {**out, **OVERLAY_COLORS}


def map_plot(frame: pd.DataFrame, **kwargs) -> gr.ScatterPlot:
    """The map (or an update of it); overlays are drawn last, on top."""
    colors = color_map(frame) if len(frame) else None
    return gr.ScatterPlot(value=frame, color_map=colors, **kwargs)


def phrase_audio(tokens: np.ndarray) -> tuple[int, np.ndarray]:
    """Tokens (n, T) or (T,) -> (sample rate, int16 (samples, 2)) for gr.Audio."""
    return SAMPLE_RATE, render_pretty_midi(phrases_to_pretty_midi(np.asarray(tokens)))


# --------------------------------------------------------------------------- handlers

def _melody_phrases(ml, path: str) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray | None]:
    """Phrases with notes (n, T) of a file, their first and last bars, numbered as in the file, and
    their chords per half bar (n, K) when the file has chords (None otherwise)."""
    melody = read_song(path)
    song = song_phrases(melody, ml.steps, meter=ml.meter)
    keep = np.flatnonzero((song.phrases >= MELODY.pitch_offset).any(1))
    if len(keep) == 0:
        raise MusicReadError("the melody has no notes")
    start = song.offset + keep * ml.steps
    spans = [(bar_number(melody, int(s)), bar_number(melody, int(s) + ml.steps - 1)) for s in start]
    chords = song_chords(ml, song)
    return song.phrases[keep], spans, None if chords is None else chords[keep]


def _first_bar(bar) -> int:
    return int(bar[0]) if isinstance(bar, tuple) else int(bar)


def _bar_span(bar, model_bars: int) -> str:
    """'5-8' for a phrase's bars: (first, last) as in its file, or a first model bar."""
    first, last = bar if isinstance(bar, tuple) else (bar, bar + model_bars - 1)
    return f"{first}-{last}"


def describe(ml, tokens: np.ndarray, bars: list[int], name: str, style, chords=None) -> tuple[str, pd.DataFrame]:
    """Typicality of a melody (over its ``chords`` (n, K) when the scorer hears chords): one reading
    line and a per-phrase table."""
    index, why = _index(ml)
    if index is None:
        scores = latent.batched_scores(latent.scoring_model(ml), tokens, style or "any", chords=chords)
        return (f"**{name}**: typicality score {scores.mean():.3f} nats/step. No corpus index to compare "
                f"with ({why})."), pd.DataFrame(columns=PHRASE_COLUMNS)
    style = None if style in (None, "", "any") else style
    try:
        scores, rel, ref = latent.typicality_parts(ml, tokens, style, chords=chords)
    except ValueError as err:
        return f"**{name}**: cannot score under style {style}: {err}", pd.DataFrame(columns=PHRASE_COLUMNS)
    pct = typicality.percentile_of(rel, ref)
    mean_pct = float(typicality.percentile_of([rel.mean()], ref)[0])
    found = latent.index_for(ml)
    among = "held-out corpus phrases" if found.ranking_rows(style)[1] == "held-out" else "training phrases"
    table = pd.DataFrame({"phrase": np.arange(1, len(tokens) + 1), "bars": [_bar_span(b, ml.bars) for b in bars],
                          "score": np.round(scores.astype(float), 3), "percentile": np.round(pct.astype(float), 1),
                          "reading": [typicality.reading(p, among) for p in pct]})
    line = (f"**{name}** is {typicality.reading(mean_pct, among)} (typicality score {scores.mean():.3f} nats/step "
            f"{'under style ' + style if style else 'unconditioned'}"
            f"{', over its chords' if chords is not None and latent.scoring_model(ml).takes_chords else ''}, percentile {mean_pct:.0f} among "
            f"{found.ranked_among(style)}, with its lead over near variants, matched for note "
            f"count; {count(len(tokens), 'phrase')}).\n\nThe corpus: {describe_corpus(ml.styles)}.")
    return line, table


def _placed(ml, state: dict) -> pd.DataFrame:
    frame = corpus_frame(ml)
    index, _ = _index(ml)
    if index is None or not state:
        return frame
    parts = [frame, overlay_frame(ml.map_coords(state["tokens"]), state["label"], state["name"],
                                  [_first_bar(b) for b in state["bars"]])]
    if state.get("path") is not None:
        parts.append(overlay_frame(state["path"], PATH, state["path_name"], list(range(1, len(state["path"]) + 1))))
    return pd.concat(parts, ignore_index=True)


def _choices(state: dict) -> list[str]:
    return [f"phrase {i + 1} (bars {_bar_span(b, 0) if isinstance(b, tuple) else b})"
            for i, b in enumerate(state.get("bars", []))]


def analyse_upload(generator, model_name, file_a, file_b=None, style=None):
    """An uploaded melody (and optionally B for a path A -> B) placed, scored and ready to search.

    Returns (message, map frame, phrase table, phrase choices, state); a bad upload gives a
    message and an empty state, never an exception.
    """
    ml = _model(generator, model_name)
    if not file_a:
        return "Upload a MIDI, ABC or MusicXML file to place it on the map.", _placed(ml, {}), \
            pd.DataFrame(columns=PHRASE_COLUMNS), [], {}
    name = Path(file_a).name
    try:
        tokens, bars, chords = _melody_phrases(ml, file_a)
        state = {"tokens": tokens, "bars": bars, "name": name, "label": UPLOAD, "path": None, "chords": chords}
        if file_b:
            tb, _, _ = _melody_phrases(ml, file_b)
            za, zb = latent.encode_for_index(ml, tokens[:1]), latent.encode_for_index(ml, tb[:1])
            index, _ = _index(ml)
            if index is not None:
                state["path"] = index.projection.transform(ml.interpolate_latents(za, zb, 9)[:, 0])
                state["path_name"] = f"{name} -> {Path(file_b).name}"
        line, table = describe(ml, tokens, bars, name, style, chords)
        return line, _placed(ml, state), table, _choices(state), state
    except (MusicReadError, ValueError, OSError) as err:
        msg = f"Could not use **{name}**{' / ' + Path(file_b).name if file_b else ''}: {err}"
        return msg, _placed(ml, {}), pd.DataFrame(columns=PHRASE_COLUMNS), [], {}


def analyse_generated(generator, model_name, style=None, seed: int = 0):
    """Four fresh phrases from the prior, placed and scored like an upload."""
    ml = _model(generator, model_name)
    try:
        tokens = ml.sample(4, style=style or None, temperature=0.5, seed=int(seed))
    except ValueError as err:
        return f"Could not generate: {err}", _placed(ml, {}), pd.DataFrame(columns=PHRASE_COLUMNS), [], {}
    bars = [i * ml.bars + 1 for i in range(len(tokens))]
    state = {"tokens": tokens, "bars": bars, "name": f"sample seed {int(seed)}", "label": GENERATED, "path": None}
    line, table = describe(ml, tokens, bars, state["name"], style, state.get("chords"))
    return line, _placed(ml, state), table, _choices(state), state


def find_similar(generator, model_name, state: dict, choice: str | None, k: int = 8, metric: str = "cosine"):
    """Nearest corpus phrases of one phrase of the current melody.

    Returns (message, results table, result choices, rows, audio of the query phrase).
    """
    empty = pd.DataFrame(columns=RESULT_COLUMNS)
    if not state:
        return "Upload a melody or generate one first.", empty, [], [], None
    ml = _model(generator, model_name)
    options = _choices(state)
    j = options.index(choice) if choice in options else 0
    try:
        hits = ml.nearest(state["tokens"][j:j + 1], k=int(k), metric=metric)[0]
    except (FileNotFoundError, ValueError) as err:
        return f"Cannot search: {err}", empty, [], [], phrase_audio(state["tokens"][j])
    table = pd.DataFrame([{"rank": h["rank"], "distance": round(h["distance"], 4), "style": h["style"],
                           "tune": piece_name(h["file"]), "bar": h["bar"] + 1,
                           "file": h["file"]} for h in hits], columns=RESULT_COLUMNS)
    labels = [f"{h['rank']}. {h['style']}: {phrase_name(h['file'], h['bar'])}" for h in hits]
    msg = (f"{count(len(hits), 'corpus phrase')} nearest to {options[j]} of {state['name']} ({metric} distance "
           f"on latent means). Bars are numbered as in each tune's file.")
    return msg, table, labels, [h["row"] for h in hits], phrase_audio(state["tokens"][j])


def play_result(generator, model_name, rows: list[int], position: int | None):
    """Audio of the result at ``position`` (0-based) of the last search."""
    if not rows or position is None or not 0 <= int(position) < len(rows):
        return None
    index, _ = _index(_model(generator, model_name))
    return None if index is None else phrase_audio(index.tokens[rows[int(position)]])


# --------------------------------------------------------------------------- the tab

def build_explore_tab(generator) -> dict:
    """Create the tab's components inside the current Blocks/Tab; returns them by name.

    ``upload`` accepts a file path, so the app can send its current melody here.
    """
    models = models_of(generator)
    first = next(iter(models.values()))
    gr.Markdown("Every dot is a phrase of the training corpus, placed by a 2-D PCA of its latent code "
                "(hover for file and bar). Upload a melody, or generate one, to see where it lives, "
                "hear its nearest corpus phrases and read how typical it is. "
                f"The corpus: {describe_corpus(first.styles)}.")
    with gr.Row():
        model = gr.Radio(list(models), value=next(iter(models)), label="Model", visible=len(models) > 1)
        style = gr.Dropdown(first.styles, value="any", label="Score under style")
    with gr.Row():
        upload = gr.File(label="Melody (MIDI, ABC, MusicXML)", type="filepath")
        upload_b = gr.File(label="Optional song B: show the latent path A -> B", type="filepath")
        with gr.Column():
            seed = gr.Number(value=0, precision=0, label="Seed")
            generate = gr.Button("Generate and place")
    message = gr.Markdown()
    # the corpus (index, model) loads when the tab is first shown: see ``show_map``
    plot = map_plot(placeholder_frame(first.styles), x="x", y="y", color="style", tooltip=["file", "bar", "style"],
                    x_title="PC1", y_title="PC2", label="Corpus map (shown when this tab opens)")
    phrases = gr.Dataframe(headers=PHRASE_COLUMNS, label="Typicality per phrase", interactive=False)
    state, rows = gr.State({}), gr.State([])
    gr.Markdown("### Find similar")
    with gr.Row():
        phrase = gr.Dropdown([], label="Phrase of the current melody")
        k = gr.Slider(1, 20, value=8, step=1, label="How many")
        metric = gr.Radio(list(latent.METRICS), value="cosine", label="Distance")
        search_btn = gr.Button("Find similar", variant="primary")
    search_msg = gr.Markdown()
    with gr.Row():
        query_audio = gr.Audio(label="This phrase", type="numpy", interactive=False)
        result_audio = gr.Audio(label="Selected result", type="numpy", interactive=False)
    results = gr.Dataframe(headers=RESULT_COLUMNS, label="Nearest corpus phrases (click a row to hear it)",
                           interactive=False)
    pick = gr.Dropdown([], label="Play result", type="index")

    def placed(*outs):
        msg, frame, table, choices, st = outs
        return (msg, map_plot(frame), table, gr.Dropdown(choices=choices, value=choices[0] if choices else None),
                st)

    outputs = [message, plot, phrases, phrase, state]
    upload.change(lambda m, a, b, s: placed(*analyse_upload(generator, m, a, b, s)),
                  [model, upload, upload_b, style], outputs)
    upload_b.change(lambda m, a, b, s: placed(*analyse_upload(generator, m, a, b, s)),
                    [model, upload, upload_b, style], outputs)
    generate.click(lambda m, s, sd: placed(*analyse_generated(generator, m, s, sd or 0)),
                   [model, style, seed], outputs)

    def on_model(m):
        ml = _model(generator, m)
        return map_plot(corpus_frame(ml)), gr.Dropdown(choices=ml.styles, value="any"), {}, []

    model.change(on_model, [model], [plot, style, state, phrase])

    def on_search(m, st, ch, kk, mt):
        msg, table, labels, found, audio = find_similar(generator, m, st, ch, kk, mt)
        return msg, table, gr.Dropdown(choices=labels, value=None), found, audio, None

    search_btn.click(on_search, [model, state, phrase, k, metric],
                     [search_msg, results, pick, rows, query_audio, result_audio])
    pick.change(lambda m, r, p: play_result(generator, m, r, p), [model, rows, pick], [result_audio])

    def on_select(m, r, evt: gr.SelectData):
        return play_result(generator, m, r, evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index)

    results.select(on_select, [model, rows], [result_audio])
    def show_map(m, st):
        return map_plot(_placed(_model(generator, m), st or {}), label="Corpus map")

    return {"model": model, "style": style, "upload": upload, "upload_b": upload_b, "map": plot,
            "message": message, "phrases": phrases, "results": results, "result_audio": result_audio,
            "show_map": (show_map, [model, state], [plot])}
