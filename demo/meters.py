"""Meters in the app: the Generate tab's meter choice and what the page says about a song's meter.

Which model runs a song is :class:`~demo.generator.Generator`'s choice (a
waltz goes to the shipped 3/4 model, a jig to the 6/8 one, when they are
shipped); this module turns that choice into widgets and into lines a musician
reads before and after a run ("3/4: morphed by melody-2bar-3-4"). A morph takes
A's meter: A's model reads both songs, B in A's bars, and the morph is written
in A's meter.
"""

from __future__ import annotations

import gradio as gr

from musiclatent.generation.meters import meter_text
from musiclatent.generation.songs import export_meter
from musiclatent.midi.io import MusicReadError, read_melody
from musiclatent.midi.melody import Melody, model_meter_for

from .generator import Generator, model_meter
from .workspace import ExampleSongs, InputError, plain

METER_NAMES = {(4, 4): "common time", (3, 4): "waltz", (6, 8): "jig", (9, 8): "slip jig"}
MAX_PAIRS = 3            # example morphs of tunes in the commonest meter; then one pair per other meter


def meter_choice(value) -> tuple[int, int] | None:
    """A meter from the page: ``"3/4"`` -> (3, 4); None or empty -> None (the model's own)."""
    if value in (None, ""):
        return None
    num, sep, den = str(value).partition("/")
    if not (sep and num.strip().isdigit() and den.strip().isdigit()) or int(num) < 1 or int(den) < 1:
        raise InputError(f"meter must look like 3/4 or 6/8, not {plain(value)!r}")
    return int(num), int(den)


def meter_label(meter: tuple[int, int]) -> str:
    """'3/4 · waltz', '4/4' (a choice's label)."""
    name = METER_NAMES.get(tuple(meter))
    return f"{meter_text(meter)} · {name}" if name and tuple(meter) != (4, 4) else meter_text(meter)


def meter_radio(generator: Generator) -> gr.Radio:
    """The Generate tab's meter choice: the meters a served or shipped model is measured in; hidden
    when there is only one."""
    meters = generator.meters
    return gr.Radio([(meter_label(m), meter_text(m)) for m in meters], value=meter_text(meters[0]), label="Meter",
                    visible=len(meters) > 1, elem_id="gen-meter",
                    info="Each meter is sampled by the model measured in its bars (the status says which)")


def song_meter_line(generator: Generator, melody: Melody) -> str:
    """What the page says before a run about the model that reads a song in another meter than
    the first model's ('' for a song that model reads in its own bars)."""
    first = generator.entry(None)
    meter, written = tuple(melody.time_signature), export_meter(melody)
    name = generator.reader_name(first, meter)
    if name is not None:
        return (f"In {meter_text(meter)}: run by **{name}**, a model measured in "
                f"{meter_text(model_meter_for(meter))} bars; "
                f"the results stay in {meter_text(written)}.")
    if model_meter_for(meter) == model_meter(first):
        return ""
    return (f"No model here is measured in {meter_text(meter)} bars: {plain(first.name)} reads it across its "
            f"bar lines, and the results stay in {meter_text(written)}.")


def meter_remarks(ml, melody: Melody, verb: str) -> list[str]:
    """'3/4: morphed by melody-2bar-3-4' when a model measured in other bars than 4/4 ran a song."""
    measured = model_meter(ml)
    if measured == (4, 4):
        return []
    meter = tuple(melody.time_signature)
    bars = "" if meter == measured else f" in its {meter_text(measured)} bars"
    return [f"{meter_text(meter)}: {verb} by {ml.name}{bars}"]


def morph_meter_remark(ml, a: Melody, b: Melody) -> list[str]:
    """What a morph of two songs in different meters does: it takes A's meter and model."""
    ma, mb = export_meter(a), export_meter(b)
    if ma == mb:
        return []
    return [f"the morph takes A's meter ({meter_text(ma)}): {ml.name} reads B ({meter_text(mb)}) "
            f"in {meter_text(model_meter(ml))} bars, and every step is written in {meter_text(ma)}"]


def morph_meter_help(generator: Generator) -> str:
    """The Interpolate tab's line on meters: which models read which meters, and what a morph of
    two meters does."""
    first = generator.entry(None)
    routed = [(m, generator.reader_name(first, m)) for m in generator.meters]
    named = [f"{meter_text(m)} by {name}" for m, name in routed if name]
    read = (f"A song is run by the model measured in its bars ({', '.join(named)}); others are read in "
            f"{meter_text(model_meter(first))} bars, across their own bar lines." if named else
            f"The models here are measured in {meter_text(model_meter(first))} bars: a song in another meter "
            "is read across its bar lines, and its results keep its meter.")
    return (f"_Meters: {read} Songs in two meters: the morph takes A's meter (A's model reads both songs, "
            "B in A's bars) and is written in A's meter._")


def example_pairs(examples: ExampleSongs) -> list[list[str]]:
    """Example morphs: up to ``MAX_PAIRS`` pairs of tunes in the commonest meter family (4/4, 2/4,
    2/2), then one pair of each other meter that has two tunes (two waltzes, two jigs)."""
    families: dict = {}
    for name in examples.names:
        try:
            meter = tuple(read_melody(examples.path(name)).time_signature)
        except (MusicReadError, OSError):
            continue
        families.setdefault(model_meter_for(meter) or meter, []).append(name)
    groups = sorted(families.values(), key=len, reverse=True)
    if not groups:
        return []
    first = groups[0] if len(groups[0]) >= 2 else []
    pairs = [[first[i], first[(i + 1) % len(first)]] for i in range(0, min(len(first), 2 * MAX_PAIRS), 2)]
    return pairs + [group[:2] for group in groups[1:] if len(group) >= 2]
