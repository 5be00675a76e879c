"""Repeats written out: a score's repeat signs, first/second endings and D.C./D.S. played through.

Folk books write an AABB tune as two 8-bar sections between repeat signs, so read as written
it holds 16 bars and no 16-bar phrase spans its sections. :func:`expand_repeats` turns a parsed
music21 score into the music as played (music21's ``expandRepeats``: every part alike, so chord
symbols stay on the melody's bars), with a ``:|`` that lacks its ``|:`` repeating the section
before it (:func:`implied_repeat_starts`; ABC's ``:|:`` respelled by :func:`abc_repeat_signs`);
:func:`join_split_bars` then mends the bars a repeat splits (a section's short last bar and the
pickup into the next time through it).

In memory only, and failing soft: music21 refuses badly formed repeats, and then the score is
kept as written (the reason says why), never a MusicReadError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_REPEAT_TIMES", "MAX_EXPANSION", "RepeatExpansion", "expand_repeats", "join_split_bars",
           "abc_repeat_signs", "implied_repeat_starts"]

MAX_REPEAT_TIMES = 4   # a repeat sign asking for more passes (MusicXML times="1000") is not played out
MAX_EXPANSION = 8      # the music as played may be at most this many times as many bars as written

EXPANDED, NO_REPEATS, UNEXPANDABLE = "expanded", "none", "unexpandable"
SECTION_BARLINES = ("double", "final", "heavy", "heavy-light", "heavy-heavy", "light-light", "light-heavy")


@dataclass
class RepeatExpansion:
    """What :func:`expand_repeats` did: the score to read and how it came about.

    ``status`` is ``"expanded"``, ``"none"`` (no repeat to play out: the score as written) or
    ``"unexpandable"`` (the score as written; ``reason`` says why).
    """

    score: object
    status: str
    reason: str = ""
    bars_written: int = 0
    bars_played: int = 0


def _parts(score) -> list:
    return list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]


def _n_measures(score) -> int:
    return max((len(part.getElementsByClass("Measure")) for part in _parts(score)), default=0)


def _repeat_marks(score) -> tuple[int, int]:
    """(repeat signs and D.C./D.S. marks, the most passes one sign asks for) in the score."""
    from music21 import bar, repeat

    signs = list(score.recurse().getElementsByClass(bar.Repeat))
    marks = list(score.recurse().getElementsByClass(repeat.RepeatExpression))
    return len(signs) + len(marks), max((int(s.times or 2) for s in signs if s.direction == "end"), default=2)


def implied_repeat_starts(marks: list[tuple[str | None, str | None, bool]]) -> list[int]:
    """Measures where a repeat that has no start sign starts; one ``(left, right, bracketed)`` per measure.

    ``left`` is ``"start"`` (``|:``), ``"section"`` (a double or heavy bar line) or None; ``right``
    is ``"end"`` (``:|``), ``"section"`` or None; ``bracketed``: the measure is under a first or
    second ending. A ``:|`` without its ``|:`` repeats from the previous ``:|`` (past a second
    ending) or double bar line, as the ABC standard and the fiddle books read it, else from the
    top (music21 instead goes back to the top each time: ``A :| B :| C :|`` would play
    A A B A A B ... and grow exponentially). Returns the indices that need a ``|:``.
    """
    out: list[int] = []
    section, has_start, after_end = 0, False, False
    for i, (left, right, bracketed) in enumerate(marks):
        if after_end and i == section and bracketed:   # the second ending after a :| is not the next section
            section = i + 1
        if left == "start":
            section, has_start = i, True
        elif left == "section":
            section = i
        if right == "end":
            if not has_start and section > 0:
                out.append(section)
            section, has_start, after_end = i + 1, False, True
        elif right == "section":
            section, after_end = i + 1, False
    return sorted(set(out))


def _marks(part) -> list[tuple[str | None, str | None, bool]]:
    from music21 import bar, spanner

    def kind(barline, direction: str) -> str | None:   # direction: "start" on the left, "end" on the right
        if isinstance(barline, bar.Repeat):
            return direction if barline.direction == direction else None
        return "section" if isinstance(barline, bar.Barline) and barline.type in SECTION_BARLINES else None

    return [(kind(m.leftBarline, "start"), kind(m.rightBarline, "end"),
             any(isinstance(s, spanner.RepeatBracket) for s in m.getSpannerSites()))
            for m in part.getElementsByClass("Measure")]


def _with_implied_starts(score):
    """The score, or a copy with a ``|:`` where :func:`implied_repeat_starts` finds one missing."""
    import copy

    from music21 import bar

    needed = [implied_repeat_starts(_marks(part)) for part in _parts(score)]
    if not any(needed):
        return score
    score = copy.deepcopy(score)
    for part, starts in zip(_parts(score), needed):
        measures = list(part.getElementsByClass("Measure"))
        for i in starts:
            measures[i].leftBarline = bar.Repeat(direction="start")
    return score


def expand_repeats(score) -> RepeatExpansion:
    """The score as played: repeats, first/second endings and D.C./D.S. written out.

    Every part is expanded alike (a chord symbol travels with its bar); a ``:|`` without its
    ``|:`` repeats from the previous section (:func:`implied_repeat_starts`). A score without repeat
    marks comes back as it is; one music21 cannot expand (unbalanced signs, endings without a
    repeat, a part without measures), one asking for more than :data:`MAX_REPEAT_TIMES` passes
    or one growing past :data:`MAX_EXPANSION` times its bars comes back as written, status
    ``"unexpandable"``.
    """
    try:
        written = _n_measures(score)
        n_marks, times = _repeat_marks(score)
    except Exception as err:  # music21's walk over a half-built score
        return RepeatExpansion(score, UNEXPANDABLE, f"{type(err).__name__}: {str(err)[:120]}")
    if n_marks == 0:
        return RepeatExpansion(score, NO_REPEATS, "", written, written)
    if times > MAX_REPEAT_TIMES:
        return RepeatExpansion(score, UNEXPANDABLE, f"a repeat of {times} passes (over {MAX_REPEAT_TIMES})",
                               written, written)
    try:
        played = _with_implied_starts(score).expandRepeats()
        n_played = _n_measures(played)
    except Exception as err:  # ExpanderException, StreamException and whatever else a bad structure raises
        return RepeatExpansion(score, UNEXPANDABLE, f"{type(err).__name__}: {str(err)[:120]}", written, written)
    if n_played > MAX_EXPANSION * max(written, 1):
        return RepeatExpansion(score, UNEXPANDABLE, f"{written} bars play as {n_played} (over {MAX_EXPANSION}x)",
                               written, written)
    if n_played == 0 and written:
        return RepeatExpansion(score, UNEXPANDABLE, "expansion lost the measures", written, written)
    return RepeatExpansion(played, EXPANDED, "", written, n_played)


def abc_repeat_signs(text: str) -> str:
    """ABC text with each ``:|:`` (end one repeat, start the next) spelled ``::``.

    music21 10's ABC parser reads ``:|:`` as an end repeat only, so the next section would be
    played from the top of the tune; ``::`` it reads as both (so do ``:||:`` and ``:| |:``).
    """
    return re.sub(r":\|:", "::", text)


def join_split_bars(spans: list[tuple[float, float, float]], tol: float = 1e-6) -> list[tuple[float, float, float]]:
    """Measures ``(offset, length, bar length)`` in quarter notes, with each bar that a repeat or
    a section's pickup splits in two joined again.

    Two adjacent short measures whose lengths add up to one bar of their meter (``d4 :|`` then
    the pickup ``A |`` into the next pass) become one full bar at the first one's offset; every
    other measure is kept as it is. The first measure is joined too when its pickup and the next
    short measure make one bar.
    """
    out: list[tuple[float, float, float]] = []
    i = 0
    while i < len(spans):
        off, length, bar = spans[i]
        if i + 1 < len(spans):
            off2, length2, bar2 = spans[i + 1]
            if (length + tol < bar and length2 + tol < bar2 and abs(bar - bar2) < tol
                    and abs(off + length - off2) < tol and abs(length + length2 - bar) < tol):
                out.append((off, bar, bar))
                i += 2
                continue
        out.append((off, length, bar))
        i += 1
    return out
