"""Chords: a fixed 97-symbol vocabulary, symbol parsing, template matching and chord-tone measures.

Pure functions; nothing here touches a file. A chord is an ``int`` id:

* ``0`` is "no chord" (``N.C.``);
* ``1 + 8 * root + quality`` for ``root`` a pitch class (0 = C ... 11 = B) and ``quality``
  an index into :data:`QUALITIES`: ``maj``, ``min``, ``dom7``, ``min7``, ``dim``, ``hdim``
  (m7b5), ``aug``, ``sus``.

Richer symbols fold into these: ``maj7``/``6``/``add9`` are ``maj``; ``m6``/``m(maj7)`` are
``min``; ``9``/``11``/``13`` and altered dominants are ``dom7``; ``m9``/``m11`` are ``min7``;
``dim7`` is ``dim``; ``7#5`` is ``aug``; ``sus2``/``7sus4`` are ``sus``. A slash chord's bass
is ignored. A chord sequence is a uint8 array of ids, one per ``steps_per_chord`` steps (a half
bar of 4/4 at 4 steps per quarter is 8 steps). *Chord events* are an int32 array (k, 2) of
``(start step, chord id)``, sorted by start; each chord lasts until the next event.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = [
    "ChordError", "NO_CHORD", "QUALITIES", "QUALITY_INTERVALS", "N_CHORDS", "STEPS_PER_HALF_BAR",
    "chord_id", "chord_root", "chord_quality", "chord_name", "chord_pitch_classes", "parse_chord",
    "parse_progression", "chord_templates", "template_match", "pitch_class_weights", "match_chords",
    "events_to_chords", "chords_to_events", "transpose_chords", "chord_tone_share", "chord_block_notes",
]

NO_CHORD = 0
QUALITIES = ("maj", "min", "dom7", "min7", "dim", "hdim", "aug", "sus")
QUALITY_INTERVALS = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dom7": (0, 4, 7, 10), "min7": (0, 3, 7, 10),
    "dim": (0, 3, 6), "hdim": (0, 3, 6, 10), "aug": (0, 4, 8), "sus": (0, 5, 7),
}
QUALITY_SUFFIX = {"maj": "", "min": "m", "dom7": "7", "min7": "m7", "dim": "dim", "hdim": "m7b5", "aug": "aug",
                  "sus": "sus4"}
N_CHORDS = 1 + 12 * len(QUALITIES)  # 97
STEPS_PER_HALF_BAR = 8  # half a 4/4 bar at 4 steps per quarter
STRONG_STEPS = (0, 8)   # beats 1 and 3 of a 16-step 4/4 bar
ROOT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACCIDENTAL = {"": 0, "#": 1, "♯": 1, "##": 2, "b": -1, "♭": -1, "bb": -2}
NO_CHORD_SPELLINGS = {"n.c.", "n.c", "nc", "n", "no chord", "none"}
MIN_MATCH = 0.6        # a template match below this cosine is "no chord" (one pitch class alone: 0.58)
BASS_BONUS = 0.1       # score bonus of a template whose root is the bass (breaks Cmaj7 vs Em ties)

# a chord symbol after its root: head (the quality family) then alterations ("b9", "#11", "add9", "(13)", "alt")
_ALTER = r"(?:[\s,()]*(?:add|no|omit)?[#b♯♭+\-]?(?:2|4|5|6|9|11|13)|[\s,()]*alt)*[\s,()]*"
_EXT = r"(?:7|9|11|13)"
_HEADS = [  # (regex of the head, quality); the first that matches head + alterations wins
    (r"(?:m|mi|min|-)(?:7|9|11)?\(?(?:b5|-5|♭5)\)?|ø7?|Ø7?|h7?", "hdim"),
    (r"(?:dim|°|o)7?", "dim"),
    (r"(?:aug|\+)(?:7|9)?|(?:7|9)?(?:\+5|#5|♯5|\(#5\)|\+)|\+5|#5", "aug"),
    (rf"{_EXT}?sus[24]?{_EXT}?|sus", "sus"),
    (rf"(?:maj|Maj|MAJ|ma|Ma|M|Δ|\^){_EXT}?", "maj"),
    (rf"(?:m|mi|min|-){_EXT}", "min7"),
    (r"(?:m|mi|min|-)(?:6|69|\(?(?:maj|Maj|M|Δ)7\)?)?", "min"),
    (rf"{_EXT}|dom7?|7alt", "dom7"),
    (r"6|69|5|2|4|", "maj"),
]
_HEAD_RES = [(re.compile(f"(?:{head}){_ALTER}"), q) for head, q in _HEADS]
_ROOT_RE = re.compile(r"([A-G])(##|bb|#|b|♯|♭)?")


class ChordError(ValueError):
    """A chord symbol that is not understood; the message names it."""


def chord_id(root: int, quality: str) -> int:
    """(pitch class, quality name) -> chord id."""
    return 1 + 8 * (int(root) % 12) + QUALITIES.index(quality)


def chord_root(cid: int) -> int:
    """Pitch class of a chord's root (-1 for no chord)."""
    return -1 if cid == NO_CHORD else (int(cid) - 1) // 8


def chord_quality(cid: int) -> str:
    """Quality name of a chord ("" for no chord)."""
    return "" if cid == NO_CHORD else QUALITIES[(int(cid) - 1) % 8]


def _check(cid: int) -> int:
    cid = int(cid)
    if not 0 <= cid < N_CHORDS:
        raise ChordError(f"chord id {cid} is outside the vocabulary [0, {N_CHORDS})")
    return cid


def chord_name(cid: int) -> str:
    """Chord id -> a symbol that :func:`parse_chord` reads back (``"N.C."``, ``"C"``, ``"F#m7b5"``)."""
    cid = _check(cid)
    if cid == NO_CHORD:
        return "N.C."
    return ROOT_NAMES[chord_root(cid)] + QUALITY_SUFFIX[chord_quality(cid)]


def chord_pitch_classes(cid: int) -> frozenset[int]:
    """The pitch classes of a chord (empty for no chord)."""
    cid = _check(cid)
    if cid == NO_CHORD:
        return frozenset()
    root = chord_root(cid)
    return frozenset((root + i) % 12 for i in QUALITY_INTERVALS[chord_quality(cid)])


def chord_tone_table() -> np.ndarray:
    """Per chord id, its root and its tones as pitch-class indicators: (N_CHORDS, 2, 12) float32
    (row 0 the root, row 1 every chord tone; all zero for no chord)."""
    table = np.zeros((N_CHORDS, 2, 12), np.float32)
    for cid in range(1, N_CHORDS):
        table[cid, 0, chord_root(cid)] = 1.0
        table[cid, 1, sorted(chord_pitch_classes(cid))] = 1.0
    return table


def parse_chord(symbol: str) -> int:
    """A chord symbol -> chord id, or :class:`ChordError` naming the symbol.

    Reads ``C``, ``Am``, ``G7``, ``F#m7b5``, ``Bbmaj7``, ``Dsus4``, ``Cdim``, ``C+``, ``C-7``
    (``-`` is minor, as in jazz charts), ``Cø``, ``E7b9``, ``C6/9``, slash chords (``C/E``;
    the bass is ignored) and ``N.C.`` (or ``NC``) for no chord.
    """
    text = str(symbol).strip()
    if text.lower() in NO_CHORD_SPELLINGS:
        return NO_CHORD
    m = _ROOT_RE.match(text)
    if not m:
        raise ChordError(f"chord {symbol!r}: a chord starts with a root A-G (e.g. C, F#m, Bb7) or is N.C.")
    root = (LETTER_PC[m.group(1)] + ACCIDENTAL[m.group(2) or ""]) % 12
    rest = text[m.end():].replace("6/9", "69")
    if "/" in rest:
        rest, bass = rest.rsplit("/", 1)
        if not re.fullmatch(r"[A-G](?:##|bb|#|b|♯|♭)?", bass.strip()):
            raise ChordError(f"chord {symbol!r}: the bass after '/' must be a note name (e.g. C/E)")
    for pattern, quality in _HEAD_RES:
        if pattern.fullmatch(rest):
            return chord_id(root, quality)
    raise ChordError(f"chord {symbol!r}: unknown quality {rest!r} (try e.g. C, Cm, C7, Cmaj7, Cm7, Cm7b5, "
                     "Cdim, C+, Csus4)")


def parse_progression(text: str) -> list[int]:
    """``"C G Am F"`` (spaces, commas or ``|`` between chords) -> chord ids.

    A bad symbol raises :class:`ChordError` naming it and its position (1-based).
    """
    symbols = [s for s in re.split(r"[\s,|]+", str(text).strip()) if s]
    if not symbols:
        raise ChordError("empty chord progression (give chords such as \"C G Am F\")")
    out = []
    for pos, sym in enumerate(symbols, 1):
        try:
            out.append(parse_chord(sym))
        except ChordError as err:
            raise ChordError(f"chord {pos} of {len(symbols)} in the progression, {sym!r}: "
                             f"{str(err).split(': ', 1)[-1]}") from None
    return out


def chord_templates() -> np.ndarray:
    """Binary templates of every chord: (N_CHORDS, 12) float64; row 0 (no chord) is zeros."""
    out = np.zeros((N_CHORDS, 12))
    for cid in range(1, N_CHORDS):
        out[cid, sorted(chord_pitch_classes(cid))] = 1.0
    return out


_TEMPLATES = chord_templates()
_UNIT = _TEMPLATES / np.maximum(np.linalg.norm(_TEMPLATES, axis=1, keepdims=True), 1e-12)
# ties go to the plainer chord: triads, then sevenths, then the rest
_PRIOR = np.concatenate([[-np.inf], np.tile(-1e-6 * np.array([0, 0, 1, 1, 2, 2, 3, 3]), 12)])


def template_match(weights: np.ndarray, bass: np.ndarray | None = None,
                   min_match: float = MIN_MATCH) -> tuple[int, float]:
    """The chord whose template best fits the pitch-class weights.

    Parameters
    ----------
    weights : np.ndarray, shape (12,), float
        How long (or how loud) each pitch class sounds; all zeros is silence.
    bass : np.ndarray, shape (12,), float, optional
        The same for the lowest note only; a chord rooted on the bass gets ``BASS_BONUS``.

    Returns
    -------
    (chord id, confidence): the cosine between ``weights`` and the chord's binary template, in
    [0, 1]. Silence, or a best cosine under ``min_match``, gives ``(0, 0.0)``.
    """
    w = np.asarray(weights, dtype=np.float64).reshape(12)
    norm = float(np.linalg.norm(w))
    if norm <= 1e-12:
        return NO_CHORD, 0.0
    cos = _UNIT @ (w / norm)
    score = cos + _PRIOR
    if bass is not None:
        b = np.asarray(bass, dtype=np.float64).reshape(12)
        if b.sum() > 0:
            roots = np.concatenate([[0], np.repeat(np.arange(12), 8)])
            score = score + BASS_BONUS * (b / b.sum())[roots]
    best = int(np.argmax(score))
    if cos[best] < min_match:
        return NO_CHORD, 0.0
    return best, float(cos[best])


def pitch_class_weights(notes: np.ndarray, origin: int, n_cells: int,
                        steps_per_cell: int = STEPS_PER_HALF_BAR) -> tuple[np.ndarray, np.ndarray]:
    """Duration-weighted pitch classes of (polyphonic) notes in each grid cell.

    notes : (n, 3) int ``(pitch, start, end)`` in steps; cell k covers steps
    ``[origin + k * steps_per_cell, origin + (k + 1) * steps_per_cell)``.

    Returns ``(weights, bass)``, each (n_cells, 12) float64: the steps each pitch class sounds
    in each cell (one count per sounding note), and the steps it is the lowest sounding note.
    """
    n_cells, steps_per_cell = max(int(n_cells), 0), int(steps_per_cell)
    n_steps = n_cells * steps_per_cell
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 3)
    if n_steps == 0 or len(notes) == 0:
        return np.zeros((n_cells, 12)), np.zeros((n_cells, 12))
    bass = np.zeros((n_steps, 12))
    s = np.clip(notes[:, 1] - origin, 0, n_steps)
    e = np.clip(notes[:, 2] - origin, 0, n_steps)
    keep = e > s
    pitch, s, e = notes[keep, 0], s[keep], e[keep]
    delta = np.zeros((n_steps + 1, 12))
    np.add.at(delta, (s, pitch % 12), 1.0)
    np.add.at(delta, (e, pitch % 12), -1.0)
    weights = np.cumsum(delta, axis=0)[:n_steps]
    lowest = np.full(n_steps, 1_000, dtype=np.int64)
    for p, a, b in zip(pitch.tolist(), s.tolist(), e.tolist()):
        np.minimum(lowest[a:b], p, out=lowest[a:b])
    sounding = lowest < 1_000
    bass[np.flatnonzero(sounding), lowest[sounding] % 12] = 1.0
    shape = (n_cells, steps_per_cell, 12)
    return weights.reshape(shape).sum(1), bass.reshape(shape).sum(1)


def match_chords(notes: np.ndarray, origin: int, n_cells: int,
                 steps_per_cell: int = STEPS_PER_HALF_BAR) -> tuple[np.ndarray, np.ndarray]:
    """A chord per grid cell from the notes sounding in it (:func:`template_match`).

    Returns ``(chords (n_cells,) uint8, confidence (n_cells,) float32)``.
    """
    weights, bass = pitch_class_weights(notes, origin, n_cells, steps_per_cell)
    out = np.zeros(len(weights), np.uint8)
    conf = np.zeros(len(weights), np.float32)
    for k in range(len(weights)):
        out[k], conf[k] = template_match(weights[k], bass[k])
    return out, conf


def events_to_chords(events: np.ndarray, start: int, n_cells: int,
                     steps_per_cell: int = STEPS_PER_HALF_BAR) -> np.ndarray:
    """Chord events (k, 2) ``(start step, id)`` -> the chord of each cell, (n_cells,) uint8.

    Cell k covers ``[start + k * steps_per_cell, start + (k + 1) * steps_per_cell)``; its chord
    is the one sounding longest in it (the earlier of two chords on a tie, a chord rather than no
    chord), and no chord sounds before the first event.
    """
    ev = np.asarray(events, dtype=np.int64).reshape(-1, 2)
    out = np.zeros(int(n_cells), np.uint8)
    if len(ev) == 0:
        return out
    for k in range(int(n_cells)):
        a = start + k * steps_per_cell
        b = a + steps_per_cell
        first = max(int(np.searchsorted(ev[:, 0], a, side="right")) - 1, 0)
        last = int(np.searchsorted(ev[:, 0], b, side="left"))
        best, best_len = NO_CHORD, 0
        for j in range(first, last):
            lo = max(a, int(ev[j, 0]))
            hi = min(b, int(ev[j + 1, 0])) if j + 1 < len(ev) else b
            if hi - lo > best_len:
                best, best_len = int(ev[j, 1]), hi - lo
        # the steps before the first event have no chord: they win when they are the longest part
        if ev[0, 0] > a and min(b, int(ev[0, 0])) - a > best_len:
            best = NO_CHORD
        out[k] = best
    return out


def chords_to_events(chords: np.ndarray, start: int = 0, steps_per_cell: int = STEPS_PER_HALF_BAR) -> np.ndarray:
    """A chord per cell (n,) -> chord events (k, 2) int32, repeats merged."""
    chords = np.asarray(chords, dtype=np.int64).reshape(-1)
    if len(chords) == 0:
        return np.zeros((0, 2), np.int32)
    change = np.flatnonzero(np.concatenate([[True], chords[1:] != chords[:-1]]))
    return np.stack([start + change * steps_per_cell, chords[change]], axis=1).astype(np.int32)


def transpose_chords(chords: np.ndarray, semitones) -> np.ndarray:
    """Shift the roots of chord ids (any shape) by ``semitones`` (an int, or an array that broadcasts
    against ``chords``, e.g. (B, 1) for a shift per row); no chord stays 0. Same dtype."""
    c = np.asarray(chords)
    ci = c.astype(np.int64)
    moved = 1 + ((ci - 1) // 8 + np.asarray(semitones, np.int64)) % 12 * 8 + (ci - 1) % 8
    return np.where(ci == NO_CHORD, 0, moved).astype(c.dtype)


def chord_tone_share(notes: np.ndarray, chords: np.ndarray, steps_per_chord: int = STEPS_PER_HALF_BAR,
                     strong_steps: tuple[int, ...] = STRONG_STEPS, steps_per_bar: int = 16) -> float:
    """Share of melody notes starting on strong beats whose pitch class is a tone of the chord then.

    Parameters
    ----------
    notes : np.ndarray, shape (n, 3), int
        ``(pitch, start, end)`` in steps, step 0 on a bar line and on the first chord.
    chords : np.ndarray, shape (c,), int
        Chord ids, chord k sounding over ``[k * steps_per_chord, (k + 1) * steps_per_chord)``.
    strong_steps : the steps of a bar that count (beats 1 and 3 of 16-step 4/4 bars: 0 and 8).

    Notes under "no chord" or after the last chord are not counted. Returns NaN when no note counts.
    """
    hits, total = chord_tone_hits(notes, chords, steps_per_chord, strong_steps, steps_per_bar)
    return hits / total if total else float("nan")


def chord_tone_hits(notes: np.ndarray, chords: np.ndarray, steps_per_chord: int = STEPS_PER_HALF_BAR,
                    strong_steps: tuple[int, ...] = STRONG_STEPS, steps_per_bar: int = 16) -> tuple[int, int]:
    """(strong-beat notes on a chord tone, strong-beat notes under a chord): the counts behind
    :func:`chord_tone_share`, for pooling over many phrases."""
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 3)
    chords = np.asarray(chords, dtype=np.int64).reshape(-1)
    strong = np.isin(notes[:, 1] % steps_per_bar, strong_steps) & (notes[:, 1] >= 0)
    cell = notes[:, 1] // steps_per_chord
    strong &= cell < len(chords)
    hits = total = 0
    for pitch, k in zip(notes[strong, 0].tolist(), cell[strong].tolist()):
        cid = int(chords[k])
        if cid == NO_CHORD:
            continue
        total += 1
        hits += (pitch % 12) in chord_pitch_classes(cid)
    return hits, total


def chord_block_notes(chords: np.ndarray, steps_per_chord: int = STEPS_PER_HALF_BAR, low: int = 48) -> np.ndarray:
    """Block chords for a chord track: every chord struck for its cell, in root position.

    The root is in the octave from ``low`` (48 = C3) up, the other tones stacked above it, so
    the voicing stays between C3 and A4. chords : (c,) int -> notes (n, 3) int32
    ``(pitch, start, end)`` in steps, sorted by start then pitch; no chord is silent.
    """
    out = []
    for k, cid in enumerate(np.asarray(chords, dtype=np.int64).reshape(-1).tolist()):
        if cid == NO_CHORD:
            continue
        _check(cid)
        root = low + (chord_root(cid) - low) % 12
        for interval in QUALITY_INTERVALS[chord_quality(cid)]:
            out.append((root + interval, k * steps_per_chord, (k + 1) * steps_per_chord))
    return np.asarray(out, dtype=np.int32).reshape(-1, 3)
