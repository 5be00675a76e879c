"""Tiny MusicXML lead sheets written by hand, for the chord readers and the lead-sheet prepare tests."""

from __future__ import annotations

STEPS = ("C", "C", "D", "D", "E", "F", "F", "G", "G", "A", "A", "B")
ALTERS = (0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0)
TYPES = {1: "16th", 2: "eighth", 4: "quarter", 8: "half", 12: "half", 16: "whole"}


def harmony(symbol: str | None) -> str:
    """A ``<harmony>`` element: ``"C"``, ``"F#:minor-seventh"`` (root:kind), ``"N.C."`` or None (nothing)."""
    if symbol is None:
        return ""
    if symbol == "N.C.":
        return "<harmony><root><root-step>C</root-step></root><kind>none</kind></harmony>"
    root, _, kind = symbol.partition(":")
    alter = {"#": 1, "b": -1}.get(root[1:], 0)
    alter_xml = f"<root-alter>{alter}</root-alter>" if alter else ""
    return (f"<harmony><root><root-step>{root[0]}</root-step>{alter_xml}</root>"
            f"<kind>{kind or 'major'}</kind></harmony>")


def note(pitch: int | None, steps: int) -> str:
    """A note (MIDI pitch) or rest (None) lasting ``steps`` sixteenths (divisions = 4)."""
    kind = f"<type>{TYPES.get(steps, 'quarter')}</type>"
    if pitch is None:
        return f"<note><rest/><duration>{steps}</duration>{kind}</note>"
    alter = f"<alter>{ALTERS[pitch % 12]}</alter>" if ALTERS[pitch % 12] else ""
    return (f"<note><pitch><step>{STEPS[pitch % 12]}</step>{alter}<octave>{pitch // 12 - 1}</octave></pitch>"
            f"<duration>{steps}</duration>{kind}</note>")


def leadsheet(measures: list[list], beats: int = 4) -> str:
    """MusicXML text of one part; each measure a list of chord symbols (str, see :func:`harmony`)
    and notes ``(pitch or None, steps)`` in order. The first measure may be a short pickup."""
    body = []
    for i, items in enumerate(measures):
        attrs = (f"<attributes><divisions>4</divisions><key><fifths>0</fifths></key><time><beats>{beats}</beats>"
                 "<beat-type>4</beat-type></time></attributes>") if i == 0 else ""
        inner = "".join(harmony(x) if isinstance(x, str) else note(*x) for x in items)
        length = sum(x[1] for x in items if not isinstance(x, str))
        implicit = ' implicit="yes"' if i == 0 and length < 4 * beats else ""
        body.append(f'<measure number="{i}"{implicit}>{attrs}{inner}</measure>')
    return ('<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1"><part-list>'
            '<score-part id="P1"><part-name>Melody</part-name></score-part></part-list>'
            f'<part id="P1">{"".join(body)}</part></score-partwise>')


def simple_song(chords: list[str], bars: int = 4, low: int = 64) -> str:
    """A 4/4 lead sheet of ``bars`` bars, one chord per half bar (``chords`` repeated), quarter notes
    walking over the chord tones."""
    from musiclatent.representations.chords import chord_pitch_classes, parse_chord

    measures = []
    for b in range(bars):
        items = []
        for half in range(2):
            sym = chords[(2 * b + half) % len(chords)]
            items.append(sym)
            name = sym.split(":")[0] + {"minor": "m", "dominant": "7"}.get(sym.partition(":")[2], "")
            pcs = sorted(chord_pitch_classes(parse_chord(name)))
            items += [(low + (pcs[k % len(pcs)] - low) % 12, 4) for k in (0, 1)]
        measures.append(items)
    return leadsheet(measures)
