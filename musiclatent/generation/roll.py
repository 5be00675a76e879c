"""Piano-roll pictures of a note stream, drawn so that they can be read back.

Pitch runs up, time right. Each segment (an interpolation step, a style, a
variation) has its own colour; a note starts with a darker edge, so repeated
notes of one pitch stay distinct. Thin grey lines mark bars, dark lines segment
boundaries. A long stream wraps into lines of whole bars, like systems of a
score, so every step keeps at least ``MIN_PX_PER_STEP`` pixels.

The PNG carries its geometry in a text chunk (``ROLL_KEY``), which
:func:`read_png_notes` uses to read the notes back from the pixels: tests check
that a picture shows exactly the notes of the MIDI file made beside it.
"""

from __future__ import annotations

import io
import json

import numpy as np

__all__ = ["to_png", "read_png_notes", "STEP_COLORS", "ROLL_KEY"]

STEP_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
               (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
BACKGROUND = (252, 252, 250)
BAR_LINE = (215, 215, 215)
SEGMENT_LINE = (60, 60, 60)
TEXT = (40, 40, 40)
LABEL_PX = 16            # a strip under each line for segment labels
MIN_PX_PER_STEP = 3      # below this, note edges and gaps cannot be told apart
MAX_PX_PER_STEP = 8
ROLL_KEY = "musiclatent-roll"


def edge_color(color: tuple[int, int, int]) -> tuple[int, int, int]:
    """The darker shade a note of ``color`` starts with."""
    return tuple(int(c * 0.45) for c in color)


def _layout(total: int, steps_per_bar: int, px_per_step: int | None, max_width: int,
            bars_per_line: int | None) -> tuple[int, int]:
    """(steps per line, pixels per step) for a stream of ``total`` steps."""
    if bars_per_line:
        per_line = int(bars_per_line) * steps_per_bar
    elif total * MIN_PX_PER_STEP <= max_width:
        per_line = total
    else:
        per_line = max(1, max_width // (MIN_PX_PER_STEP * steps_per_bar)) * steps_per_bar
    per_line = max(1, min(per_line, total))
    pps = px_per_step or int(np.clip(max_width // per_line, MIN_PX_PER_STEP, MAX_PX_PER_STEP))
    return per_line, pps


def to_png(notes: np.ndarray, lengths: list[int], steps_per_bar: int = 16, height: int = 220,
           px_per_step: int | None = None, labels: list[str] | None = None, max_width: int = 2400,
           bars_per_line: int | None = None) -> bytes:
    """Draw a note stream made of segments as a PNG.

    Parameters
    ----------
    notes : np.ndarray, shape (n, 3), int
        ``(pitch, start, end)`` in steps from the first segment's start: the
        same notes the MIDI and WAV are made from.
    lengths : list of int
        Steps of each segment, in play order; a note takes the colour of the
        segment it starts in.
    height : int
        Pixels of one line's note area (each line also has a label strip).
    bars_per_line : int, optional
        Wrap after this many bars (default: one line when it fits ``max_width``
        at ``MIN_PX_PER_STEP``, else as many bars as fit).

    Returns
    -------
    bytes : the PNG, with its geometry in the ``ROLL_KEY`` text chunk.
    """
    from PIL import Image, ImageDraw
    from PIL.PngImagePlugin import PngInfo

    notes = np.asarray(notes, np.int64).reshape(-1, 3)
    total = max(1, int(sum(lengths)))
    per_line, pps = _layout(total, steps_per_bar, px_per_step, max_width, bars_per_line)
    n_lines = -(-total // per_line)
    pitches = notes[:, 0] if len(notes) else np.array([60, 72])
    lo, hi = int(pitches.min()) - 2, int(pitches.max()) + 2
    ph = max(2, height // (hi - lo + 1))
    area = ph * (hi - lo + 1)
    line_h = area + LABEL_PX
    img = Image.new("RGB", (per_line * pps + 1, n_lines * line_h), BACKGROUND)
    draw = ImageDraw.Draw(img)

    def xy(step: int) -> tuple[int, int]:
        line = min(step // per_line, n_lines - 1)
        return (step - line * per_line) * pps, line * line_h

    for line in range(n_lines):
        top = line * line_h
        for step in range(0, min(per_line, total - line * per_line) + 1, steps_per_bar):
            draw.line([(step * pps, top), (step * pps, top + area - 1)], fill=BAR_LINE)
    bounds = np.cumsum([0] + [int(n) for n in lengths])
    for k, start in enumerate(bounds[:-1]):
        x, top = xy(int(start))
        if k:
            draw.line([(x, top), (x, top + area - 1)], fill=SEGMENT_LINE)
        if labels and k < len(labels):
            draw.text((x + 3, top + area + 2), str(labels[k]), fill=TEXT)
    segment = np.searchsorted(bounds, notes[:, 1], side="right") - 1 if len(notes) else []
    for (pitch, s, e), k in zip(notes.tolist(), segment):
        color = STEP_COLORS[int(k) % len(STEP_COLORS)]
        y = (hi - pitch) * ph
        first = True
        while s < e:                                   # one rectangle per line the note crosses
            stop = min(e, (s // per_line + 1) * per_line)
            x, top = xy(s)
            draw.rectangle([x, top + y, x + (stop - s) * pps - 1, top + y + ph - 1], fill=color)
            if first:
                draw.line([(x, top + y), (x, top + y + ph - 1)], fill=edge_color(color))
            s, first = stop, False
    meta = PngInfo()
    meta.add_text(ROLL_KEY, json.dumps({"pps": pps, "lo": lo, "hi": hi, "ph": ph, "steps_per_line": per_line,
                                        "line_height": line_h, "total": total}))
    buf = io.BytesIO()
    img.save(buf, format="PNG", pnginfo=meta)
    return buf.getvalue()


def read_png_notes(data: bytes) -> np.ndarray:
    """The notes a picture made by :func:`to_png` shows, read from its pixels.

    Returns notes (n, 3) int32 ``(pitch, start, end)`` in steps, sorted by start.
    """
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    geo = json.loads(img.text[ROLL_KEY])
    px = np.asarray(img.convert("RGB"), dtype=np.int16)
    pps, lo, hi, ph = geo["pps"], geo["lo"], geo["hi"], geo["ph"]
    per_line, line_h, total = geo["steps_per_line"], geo["line_height"], geo["total"]
    edges = {edge_color(c) for c in STEP_COLORS}
    blank = {BACKGROUND, BAR_LINE, SEGMENT_LINE}
    steps = np.arange(total)
    xs = (steps % per_line) * pps
    tops = (steps // per_line) * line_h
    notes = []
    for pitch in range(lo, hi + 1):
        ys = tops + (hi - pitch) * ph + ph // 2
        mid = [tuple(v) for v in px[ys, xs + pps // 2]]
        first = [tuple(v) for v in px[ys, xs]]
        on = [c not in blank for c in mid]
        start = None
        for t in range(total + 1):
            sounding = t < total and on[t]
            onset = sounding and (first[t] in edges or start is None)
            if start is not None and (not sounding or onset):
                notes.append((pitch, start, t))
                start = None
            if onset:
                start = t
    out = np.asarray(notes, np.int32).reshape(-1, 3)
    return out[np.lexsort((out[:, 0], out[:, 1]))]
