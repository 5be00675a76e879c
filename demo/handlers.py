"""The web app's event handlers, callable without a browser.

A :class:`Handlers` object holds what every request needs (the models, the
output store, the example songs) and has one method per button. Each method
takes the page's input values and returns the values of its outputs in the
order ``demo.app`` wires them, so tests can call it directly. Song-level work
is :mod:`musiclatent.studio`'s; this module only checks inputs, writes files
into a fresh request folder and labels the results.
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from musiclatent.generation import studio
from musiclatent.constants import DEFAULT_PROGRAM, STYLE_ANY
from musiclatent.generation.export import write_pianoroll_png
from musiclatent.generation.meters import meter_text
from musiclatent.generation.songs import count
from musiclatent.midi.io import MusicReadError

from .chords import (check_chord_meter, chords_left_out, chords_per_bar_choice, progression_choice,
                     progression_line, song_chords_line)
from .generator import Generator  # noqa: F401  (demo.app and the tests import it from here)
from .meters import meter_choice, meter_remarks, morph_meter_remark, song_meter_line
from .selection import bar_choice, describe_selection, select_bars
from .workspace import ExampleSongs, InputError, OutputStore, describe_song, load_song, track_choices, zip_files

if TYPE_CHECKING:  # the facade imports torch, which the page does not need to be served
    from musiclatent.generation.facade import MusicLatent

log = logging.getLogger("musiclatent.demo")

MAX_SLOTS = 8            # result slots on the page (variations 1-8)
SLOT_WIDTH = 4           # outputs per slot: column visibility, piano roll, audio, MIDI
BAR_CHOICES = (2, 4, 8, 16, 32, 64)  # longer than a phrase: form (32, 64) or a chain of phrases
MAX_SEED = 2**31 - 1
GALLERY_ASPECT = 2.0    # step pictures wrap like lines of a score to about this width : height


@dataclass
class Item:
    """One result on the page: a labelled piano roll, audio and MIDI file."""

    title: str
    png: Path
    wav: Path
    mid: Path


def slot_outputs(items: list[Item]) -> list:
    """Values for the ``MAX_SLOTS`` result slots: shown and filled, or hidden and empty."""
    out = []
    for k in range(MAX_SLOTS):
        if k < len(items):
            it = items[k]
            out += [gr.update(visible=True), gr.update(value=str(it.png), label=it.title), str(it.wav), str(it.mid)]
        else:
            out += [gr.update(visible=False), gr.update(value=None), None, None]
    return out


def user_errors(fn):
    """Turn every failure of a handler into a message in the page, never a stack trace."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (InputError, MusicReadError) as err:
            raise gr.Error(str(err), title="Can't do that", print_exception=False) from None
        except Exception as err:
            if type(err).__name__ == "UnknownStyleError":      # the facade's, without importing torch here
                raise gr.Error(str(err), title="Can't do that", print_exception=False) from None
            log.exception("%s failed", fn.__name__)
            raise gr.Error("Something went wrong on our side; please try again "
                           "(the details are in the server log).", print_exception=False) from None

    return wrapper


def keywords_last(fn, more_names: list[str], keywords: list[str]):
    """``fn`` called with its page inputs, then the values of ``keywords`` last, as keywords:
    ``call(*values) = fn(*values[:-k], **dict(zip(keywords, values[-k:])))``, under a signature
    that names every input for Gradio's API (``fn``'s named parameters, ``more_names`` for its
    ``*args``, then ``keywords``), so API callers that leave the last ones out get the page's
    defaults. Inputs added to a button later go last this way (the meter, the chords)."""
    k = len(keywords)

    def call(*values):
        return fn(*values[:-k], **dict(zip(keywords, values[-k:])))

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    named = [p for p in inspect.signature(fn).parameters.values() if p.kind is kind and p.name not in keywords]
    call.__signature__ = inspect.Signature([*named, *(inspect.Parameter(n, kind) for n in [*more_names, *keywords])])
    call.__name__, call.__doc__ = fn.__name__, fn.__doc__
    return call


def gallery_bars_per_line(n_bars: int, px_per_bar: int = 128, line_px: int = 216) -> int:
    """Bars per line that make an ``n_bars`` piano roll about ``GALLERY_ASPECT`` times as wide as
    high (lines of ``px_per_bar`` per bar and ``line_px`` high), so a gallery tile stays readable."""
    return max(1, min(int(n_bars), round((GALLERY_ASPECT * line_px * n_bars / px_per_bar) ** 0.5)))


def markdown_text(text: str) -> str:
    """A remark shown as Markdown text: characters Markdown or HTML would act on are escaped."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", str(text))


def number(value, lo: float, hi: float, name: str, integer: bool = False) -> float | int:
    """A number from the page, checked against [lo, hi]; raises InputError otherwise."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number") from None
    if not lo <= x <= hi:
        raise InputError(f"{name} must lie in [{lo:g}, {hi:g}], got {x:g}")
    return int(round(x)) if integer else x


def heard_labels(ml: MusicLatent, melodies: list) -> list[str]:
    """" · heard STYLE NN%" for each melody: what the style classifier shipped beside the model hears
    (empty strings when the model has none)."""
    from musiclatent.evaluation.classifier import hear_styles

    heard = hear_styles(ml, melodies)
    return [f" · heard {name} {p:.0%}" for name, p in heard] if heard else [""] * len(melodies)


def song_lines(melody, label: str, which: str) -> list[str]:
    """A song's Markdown lines: which track became the melody, and the chords read with it."""
    chords = song_chords_line(melody, which)
    return [describe_song(melody, label, which), *([chords] if chords else [])]


def write_items(result: studio.Result, folder: Path, stems: list[str], titles: list[str],
                name: str = "musiclatent") -> list[Item]:
    """Write MIDI, WAV and piano roll of some of a result's files; one Item each."""
    part = replace(result, files={s: result.files[s] for s in stems})
    studio.write_result(part, folder, wav=True, png=True, name=name)
    return [Item(t, folder / f"{s}.png", folder / f"{s}.wav", folder / f"{s}.mid") for s, t in zip(stems, titles)]


class Handlers:
    """One method per event of the page.

    Parameters
    ----------
    generator : Generator
    store : OutputStore
    examples : ExampleSongs
    """

    def __init__(self, generator: Generator, store: OutputStore, examples: ExampleSongs):
        self.generator = generator
        self.store = store
        self.examples = examples

    # ------------------------------------------------------------------ generate
    @user_errors
    def generate(self, style, bars, temperature, n, tempo, program, seed, *amounts, meter=None, chords=None,
                 chords_per_bar=1, chord_program=0):
        """Sample ``n`` melodies, in ``meter`` ("3/4"; default: the model's own) by the model measured
        in its bars; over ``chords`` ("C G Am F", ``chords_per_bar`` 1 or 2, repeated over the bars)
        by the family's chord model when one is shipped, with a chord track (``chord_program``) in
        every file. Returns slot values, the zip and a status line."""
        t0 = time.perf_counter()
        bars = int(number(bars, 1, max(BAR_CHOICES), "length", integer=True))
        if bars not in BAR_CHOICES:
            raise InputError(f"length must be one of {', '.join(map(str, BAR_CHOICES))} bars")
        n = number(n, 1, MAX_SLOTS, "number of variations", integer=True)
        temperature = number(temperature, 0.0, 2.0, "temperature")
        tempo = number(tempo, 20, 400, "tempo")
        program = number(DEFAULT_PROGRAM if program is None else program, 0, 127, "instrument", integer=True)
        seed = number(seed, 0, MAX_SEED, "seed", integer=True)
        meter = meter_choice(meter)
        progression, per_bar = progression_choice(chords), chords_per_bar_choice(chords_per_bar)
        chord_program = number(0 if chord_program is None else chord_program, 0, 127, "chord instrument", integer=True)
        if progression is not None:
            check_chord_meter(meter)
        ml = self.generator.for_sampling(bars, meter, chords=progression is not None)
        if progression is not None and ml.steps_per_bar != 16:
            raise InputError(f"Chords sound on half bars of 4/4; {ml.name} writes bars of {meter_text(ml.meter)}")
        style = style or STYLE_ANY
        ml.style_id(style)
        attrs = {a: number(v, -2, 2, a.replace("_", " ")) for a, v in zip(self.generator.attribute_names, amounts)}
        attrs = {a: v for a, v in attrs.items() if v and a in ml.attribute_names}
        result = studio.sample(ml, n=n, bars=bars, style=style, temperature=temperature, seed=seed,
                               attributes=attrs, qpm=tempo, program=program, time_signature=meter,
                               chords=progression, chords_per_bar=per_bar, chord_program=chord_program)
        folder = self.store.new("generate")
        stems = list(result.files)
        ts = "{}/{}".format(*result.time_signature)
        titles = [f"Variation {i + 1} · {bars} bars of {ts} · asked {style}{heard}"
                  for i, heard in enumerate(heard_labels(ml, [result.segments[s] for s in stems]))]
        items = write_items(result, folder, stems, titles)
        archive = zip_files([it.mid for it in items], folder / "musiclatent-melodies.zip")
        over = "" if progression is None else f" {progression_line(progression, per_bar, bars)}"
        status = (f"{n} × {bars}-bar {'melody' if n == 1 else 'melodies'} in {ts} from **{ml.name}**{over} · "
                  f"style {style} · temperature {temperature:g} · seed {seed} · {time.perf_counter() - t0:.2f} s")
        status += "".join(f"\n- {markdown_text(r)}" for r in result.notes)
        return (*slot_outputs(items), str(archive), status)

    @staticmethod
    def random_seed() -> int:
        return random.randint(0, 999_999)

    # ------------------------------------------------------------------ song pickers
    def song_info(self, upload, example, track=None, which: str = "Song", from_bar=None, n_bars=None):
        """What the page shows about a picked song: Markdown lines (the song, and which of its
        bars a run will use) and the track choices.

        Bad input becomes a warning in the page (and in the Markdown), not an error.
        """
        if not upload and not example:
            return "", gr.update(choices=track_choices(None), value="auto")
        try:
            melody, label = load_song(upload, example, track, self.examples, which)
        except (InputError, MusicReadError) as err:
            gr.Warning(str(err), title="Can't use this file")
            return f"⚠️ {err}", gr.update(choices=track_choices(None), value="auto")
        except Exception:
            log.exception("reading %s failed", which)
            msg = f"⚠️ {which}: this file could not be read"
            gr.Warning(msg)
            return msg, gr.update(choices=track_choices(None), value="auto")
        value = "auto" if track in (None, "", "auto") else str(track)
        try:
            use = describe_selection(melody, *bar_choice(from_bar, n_bars, which))
        except InputError as err:
            use = f"⚠️ {err}"
        lines = [*song_lines(melody, label, which), song_meter_line(self.generator, melody), use]
        return "\n\n".join(line for line in lines if line), gr.update(choices=track_choices(melody), value=value)

    def on_upload(self, upload, which: str = "Song", from_bar=None, n_bars=None):
        """A new upload replaces any example pick; the track goes back to automatic."""
        info, track = self.song_info(upload, None, None, which, from_bar, n_bars)
        return "", info, track

    def on_example(self, example, which: str = "Song", from_bar=None, n_bars=None):
        """An example pick replaces any upload; the track goes back to automatic."""
        info, track = self.song_info(None, example, None, which, from_bar, n_bars)
        return None, info, track

    def on_track(self, upload, example, track, which: str = "Song", from_bar=None, n_bars=None):
        """The user picked another melody track or other bars: describe the song again."""
        return self.song_info(upload, example, track, which, from_bar, n_bars)[0]

    def _song(self, upload, example, track, which: str, from_bar=None, n_bars=None):
        """A song's melody, the bars the user chose (default: all of it), its label and remarks."""
        melody, label = load_song(upload, example, track, self.examples, which)
        melody, remark = select_bars(melody, *bar_choice(from_bar, n_bars, which))
        return melody, label, [f"{which} {remark}."] if remark else []

    # ------------------------------------------------------------------ interpolate
    @user_errors
    def interpolate(self, model, upload_a, example_a, track_a, upload_b, example_b, track_b,
                    steps, temperature, seed, keep_intro=False, from_bar_a=None, n_bars_a=None,
                    from_bar_b=None, n_bars_b=None):
        """Morph song A into song B: whole songs, or the bars chosen for each.

        The morph starts where A's melody starts and ends where B's ends, unless
        ``keep_intro``. Returns the morph's piano roll, audio and MIDI, a gallery
        of the steps, the step files, a zip and a status with every remark.
        """
        t0 = time.perf_counter()
        picked = self.generator.entry(model)
        steps = number(steps, 2, 12, "steps", integer=True)
        temperature = number(temperature, 0.0, 2.0, "temperature")
        seed = number(seed, 0, MAX_SEED, "seed", integer=True)
        a, label_a, notes_a = self._song(upload_a, example_a, track_a, "Song A", from_bar_a, n_bars_a)
        b, label_b, notes_b = self._song(upload_b, example_b, track_b, "Song B", from_bar_b, n_bars_b)
        ml = self.generator.reader(picked, a.time_signature)      # the morph takes A's meter and A's model
        remarks = [*meter_remarks(ml, a, "morphed"), *morph_meter_remark(ml, a, b)]
        result = studio.interpolate_songs(ml, a, b, steps=steps, temperature=temperature, seed=seed,
                                          keep_intro=bool(keep_intro))
        folder = self.store.new("interpolate")
        step_stems = [f"step_{k + 1:02d}" for k in range(steps)]
        captions = ["step 1 = A"] + [f"step {k + 1}" for k in range(1, steps - 1)] + [f"step {steps} = B"]
        morph, = write_items(result, folder, ["morph"], ["Morph A → B"])
        labels = ["A"] + [str(k + 1) for k in range(steps)] + ["B"]
        write_pianoroll_png(morph.png, [result.segments[s] for s in result.files["morph"]], labels=labels)
        part = replace(result, files={s: result.files[s] for s in step_stems})
        step_bars = result.segments[step_stems[0]].size // (ml.steps // ml.bars)
        studio.write_result(part, folder, wav=False, png=True, name="musiclatent",
                            bars_per_line=gallery_bars_per_line(step_bars))
        gallery = [(str(folder / f"{s}.png"), c) for s, c in zip(step_stems, captions)]
        step_mids = [str(folder / f"{s}.mid") for s in step_stems]
        archive = zip_files([morph.mid] + [Path(p) for p in step_mids], folder / "musiclatent-morph.zip")
        lines = [*song_lines(a, label_a, "Song A"), *song_lines(b, label_b, "Song B"), *notes_a, *notes_b,
                 f"{steps} steps with **{ml.name}** · temperature {temperature:g} · {time.perf_counter() - t0:.2f} s",
                 "\n".join(f"- {markdown_text(r)}" for r in [*remarks, *result.notes, *chords_left_out(result, a, b)])]
        return (str(morph.png), str(morph.wav), str(morph.mid), gallery, step_mids, str(archive),
                "\n\n".join(lines))

    # ------------------------------------------------------------------ restyle & vary
    def _before(self, result: studio.Result, folder: Path, label: str) -> Item:
        return write_items(result, folder, ["original"], [f"Before: {label}"])[0]

    @staticmethod
    def _respect_line(result: studio.Result, stems: list[str]) -> str:
        """How the outputs kept the input's rests and register, in one line."""
        from musiclatent.generation.respect import respect_measures

        ms = [respect_measures(result.segments[s], result.segments["original"]) for s in stems]
        centres = [m["centre_diff"] for m in ms if m["centre_diff"] == m["centre_diff"]]
        rests = min(m["rests_kept"] for m in ms)
        centre = max(centres, key=abs) if centres else 0.0
        return (f"Input rests kept silent: {100 * rests:.0f}% · pitch centre {centre:+.1f} semitones from the "
                f"input's" + (" (largest of the outputs)" if len(ms) > 1 else ""))

    @user_errors
    def restyle(self, model, upload, example, track, target_style, strength, temperature, seed,
                keep_rests=True, keep_register=True, from_bar=None, n_bars=None):
        """Play a melody in another style (resting where it rests, in its register, unless
        asked otherwise). Returns before (roll, audio), slots, zip, status."""
        t0 = time.perf_counter()
        picked = self.generator.entry(model)
        if not target_style or target_style == STYLE_ANY:
            raise InputError(f"pick a target style: one of {', '.join(picked.styles[1:]) or '(this model has none)'}")
        strength = number(strength, 0.0, 1.0, "strength")
        temperature = number(temperature, 0.0, 2.0, "temperature")
        seed = number(seed, 0, MAX_SEED, "seed", integer=True)
        melody, label, notes = self._song(upload, example, track, "Melody", from_bar, n_bars)
        ml = self.generator.reader(picked, melody.time_signature)
        ml.style_id(target_style)
        result = studio.restyle_song(ml, melody, target_style, strength=strength, temperature=temperature,
                                     seed=seed, keep_rests=bool(keep_rests), keep_register=bool(keep_register))
        folder = self.store.new("restyle")
        before = self._before(result, folder, label)
        after = write_items(result, folder, ["restyled"], [f"After: {target_style}, strength {strength:g}"])
        archive = zip_files([before.mid, after[0].mid], folder / "musiclatent-restyle.zip")
        remarks = [*meter_remarks(ml, melody, "restyled"), *result.notes, *chords_left_out(result, melody)]
        status = "\n\n".join([*song_lines(melody, label, "Melody"), *notes, *map(markdown_text, remarks),
                              self._respect_line(result, ["restyled"]),
                              f"Restyled to **{target_style}** with {ml.name} · {time.perf_counter() - t0:.2f} s"])
        return (str(before.png), str(before.wav), *slot_outputs(after), str(archive), status)

    @user_errors
    def vary(self, model, upload, example, track, n, similarity, temperature, seed,
             keep_rests=True, keep_register=True, from_bar=None, n_bars=None):
        """Variations of a melody (rests and register as in :meth:`restyle`). Returns before
        (roll, audio), slots, zip, status."""
        t0 = time.perf_counter()
        picked = self.generator.entry(model)
        n = number(n, 1, MAX_SLOTS, "number of variations", integer=True)
        similarity = number(similarity, 0.0, 1.0, "similarity")
        temperature = number(temperature, 0.0, 2.0, "temperature")
        seed = number(seed, 0, MAX_SEED, "seed", integer=True)
        melody, label, notes = self._song(upload, example, track, "Melody", from_bar, n_bars)
        ml = self.generator.reader(picked, melody.time_signature)
        result = studio.vary_song(ml, melody, n=n, similarity=similarity, temperature=temperature, seed=seed,
                                  keep_rests=bool(keep_rests), keep_register=bool(keep_register))
        folder = self.store.new("vary")
        before = self._before(result, folder, label)
        stems = [f"variation_{i + 1:02d}" for i in range(n)]
        after = write_items(result, folder, stems, [f"Variation {i + 1} · similarity {similarity:g}"
                                                    for i in range(n)])
        archive = zip_files([before.mid] + [it.mid for it in after], folder / "musiclatent-variations.zip")
        remarks = [*meter_remarks(ml, melody, "varied"), *result.notes, *chords_left_out(result, melody)]
        status = "\n\n".join([*song_lines(melody, label, "Melody"), *notes, *map(markdown_text, remarks),
                              self._respect_line(result, stems),
                              f"{count(n, 'variation')} with {ml.name} · {time.perf_counter() - t0:.2f} s"])
        return (str(before.png), str(before.wav), *slot_outputs(after), str(archive), status)
