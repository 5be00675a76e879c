"""Reading chords: from chord symbols in scores, from the other voices of a score, from MIDI accompaniment.

Every reader returns a :class:`ChordReading`: chord events (k, 2) ``(start step, chord id)`` on
the melody's step grid (see :mod:`musiclatent.representations.chords` for the vocabulary), and
where they came from, the way ``Melody.track`` records the melody pick:

* ``chord symbols``: MusicXML ``<harmony>`` / ABC ``"C"`` symbols (music21 ``ChordSymbol``);
* ``other parts``: a score without symbols but with other parts (a chorale's alto, tenor and
  bass), one chord per beat by :func:`~musiclatent.representations.chords.template_match`;
* ``accompaniment``: a MIDI file's non-melody, non-drum tracks, one chord per half bar.

Nothing here opens a file; music21 objects and MIDI bytes come from :mod:`musiclatent.midi.io`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from musiclatent.constants import STEPS_PER_QUARTER
from musiclatent.midi.melody import Melody, Track
from musiclatent.midi.midifile import midi_tracks
from musiclatent.midi.notation import part_notes
from musiclatent.representations.chords import (
    NO_CHORD,
    STEPS_PER_HALF_BAR,
    ChordError,
    chord_id,
    events_to_chords,
    match_chords,
    parse_chord,
)

__all__ = ["ChordReading", "quality_of_kind", "chord_from_music21", "chords_from_score", "chords_from_tracks",
           "chords_from_midi_bytes", "MAX_UNPARSED_SHARE"]

MAX_UNPARSED_SHARE = 0.5  # more unreadable chord symbols than this: the piece's chords are not trusted
N_EXAMPLES = 5


@dataclass
class ChordReading:
    """The chords of one piece and how they were read.

    events : (k, 2) int32 ``(start step, chord id)``, sorted; each lasts until the next.
    confidence : (k,) float32, the template match of each event (1 for chord symbols).
    """

    events: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int32))
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    source: str = "none"           # "chord symbols", "other parts", "accompaniment" or "none"
    tracks: list[str] = field(default_factory=list)
    mean_confidence: float | None = None   # template matches: mean over the cells where something sounds
    n_symbols: int = 0
    unparsed: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def trusted(self) -> bool:
        """False when most chord symbols could not be read (OCR junk, annotations read as chords)."""
        return not self.n_symbols or len(self.unparsed) <= MAX_UNPARSED_SHARE * self.n_symbols

    def chords(self, start: int, n_cells: int, steps_per_cell: int = STEPS_PER_HALF_BAR) -> np.ndarray:
        """The chord of each cell from ``start`` on, (n_cells,) uint8 (zeros when not trusted)."""
        if not self.trusted:
            return np.zeros(int(n_cells), np.uint8)
        return events_to_chords(self.events, start, n_cells, steps_per_cell)

    def meta(self) -> dict:
        """JSON-ready description (no arrays)."""
        out = {"source": self.source, "changes": int(len(self.events))}
        if self.tracks:
            out["tracks"] = list(self.tracks)
        if self.mean_confidence is not None:
            out["mean_confidence"] = round(float(self.mean_confidence), 3)
        if self.n_symbols:
            out["symbols"] = self.n_symbols
            out["unparsed"] = len(self.unparsed)
            if self.unparsed:
                out["unparsed_examples"] = sorted(set(self.unparsed))[:N_EXAMPLES]
        if self.reason:
            out["reason"] = self.reason
        return out


def _merge_repeats(starts: np.ndarray, ids: np.ndarray, conf: np.ndarray, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Chord events with repeats merged and "no chord" from ``end`` (the end of the music) on."""
    if len(ids) == 0:
        return np.zeros((0, 2), np.int32), np.zeros(0, np.float32)
    inside = np.asarray(starts) < end
    starts, ids, conf = np.append(starts[inside], end), np.append(ids[inside], NO_CHORD), np.append(conf[inside], 0.0)
    keep = np.concatenate([[True], ids[1:] != ids[:-1]])
    return (np.stack([starts[keep], ids[keep]], axis=1).astype(np.int32), conf[keep].astype(np.float32))


def quality_of_kind(kind: str) -> str | None:
    """A MusicXML / music21 chord kind (``"minor-seventh"``, ``"dominant-ninth"``) -> a quality, or None."""
    kind = (kind or "").strip().lower()
    kind = {"dominant": "dominant-seventh", "major-minor": "minor-major", "half-diminished": "half-diminished-seventh"
            }.get(kind, kind)
    if kind.startswith("half-diminished"):
        return "hdim"
    for prefix, quality in (("diminished", "dim"), ("augmented", "aug"), ("suspended", "sus"),
                            ("dominant", "dom7"), ("seventh-flat-five", "dom7"), ("power", "maj")):
        if kind.startswith(prefix):
            return quality
    if kind.startswith("minor-major") or kind in ("minor", "minor-sixth"):
        return "min"
    if kind.startswith("minor-"):
        return "min7"
    if kind.startswith("major"):
        return "maj"
    return None


def chord_from_music21(symbol) -> int:
    """A music21 ``ChordSymbol`` (or ``NoChord``) -> chord id; :class:`ChordError` names an unreadable one.

    The root and the kind decide; a kind outside MusicXML's list falls back to reading the
    figure with :func:`~musiclatent.representations.chords.parse_chord`.
    """
    from music21 import harmony

    if isinstance(symbol, harmony.NoChord):
        return NO_CHORD
    figure = str(getattr(symbol, "figure", "") or "")
    try:
        kind = str(symbol.chordKind or "")
        root = symbol.root()
    except Exception:  # music21 raises several kinds on symbols it half-parsed
        kind, root = "", None
    quality = quality_of_kind(kind)
    if quality is not None and root is not None:
        return chord_id(root.pitchClass, quality)
    if figure[:1].isalpha() and figure[1:2] == "-":  # music21 spells a flat root with '-'
        figure = figure[0] + "b" + figure[2:]
    return parse_chord(figure)


def _symbol_events(score, melody_part: int, steps_per_quarter: int):
    """Chord symbols of the part that holds them (the melody's first): (starts, ids, n, unparsed)."""
    from music21 import harmony

    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    order = [melody_part] + [i for i in range(len(parts)) if i != melody_part] if melody_part < len(parts) else \
        list(range(len(parts)))
    for i in order:
        part = parts[i]
        symbols = list(part.recurse().getElementsByClass(harmony.ChordSymbol))
        if not symbols:
            continue
        starts, ids, unparsed = [], [], []
        for cs in symbols:
            try:
                cid = chord_from_music21(cs)
                offset = float(cs.getOffsetInHierarchy(part))
            except ChordError:
                unparsed.append(str(getattr(cs, "figure", "") or "?"))
                continue
            except Exception:  # music21's walk: a symbol it placed nowhere is one we cannot read
                unparsed.append(str(getattr(cs, "figure", "") or "?"))
                continue
            starts.append(int(round(offset * steps_per_quarter)))
            ids.append(cid)
        order_ = np.argsort(np.asarray(starts, np.int64), kind="stable")
        return (np.asarray(starts, np.int64)[order_], np.asarray(ids, np.int64)[order_], len(symbols), unparsed)
    return None


def _end(melody: Melody, notes: np.ndarray | None = None) -> int:
    """The step where the music ends: its last note or bar line."""
    ends = [int(melody.notes[:, 2].max()) if len(melody.notes) else 0,
            int(melody.bars[-1].sum()) if len(melody.bars) else 0,
            int(notes[:, 2].max()) if notes is not None and len(notes) else 0]
    return max(ends)


def _grid(melody: Melody, notes: np.ndarray, steps_per_cell: int) -> tuple[int, int]:
    """(origin, number of cells): cells start on the melody's first full bar and cover the music."""
    origin = int(melody.bars[0, 0]) if len(melody.bars) else 0
    return origin, max(-(-(_end(melody, notes) - origin) // steps_per_cell), 0)


def _matched(notes: np.ndarray, melody: Melody, steps_per_cell: int, source: str, names: list[str]) -> ChordReading:
    origin, n_cells = _grid(melody, notes, steps_per_cell)
    ids, conf = match_chords(notes, origin, n_cells, steps_per_cell)
    starts = origin + np.arange(n_cells) * steps_per_cell
    sounding = conf > 0
    events, confidence = _merge_repeats(starts, ids.astype(np.int64), conf, origin + n_cells * steps_per_cell)
    return ChordReading(events=events, confidence=confidence, source=source, tracks=names,
                        mean_confidence=float(conf[sounding].mean()) if sounding.any() else 0.0,
                        reason=f"template match of {', '.join(names)}, one chord per {steps_per_cell} steps")


def chords_from_score(score, melody: Melody, steps_per_quarter: int = STEPS_PER_QUARTER) -> ChordReading:
    """The chords of a parsed music21 score whose melody :func:`~musiclatent.midi.notation.from_music21` read.

    Chord symbols when the score has any (in the melody's part first); otherwise the other parts
    with notes (a chorale's lower voices), one chord per beat; otherwise none.
    """
    pick = int(melody.track.get("index", 0)) if melody.track else 0
    found = _symbol_events(score, pick, steps_per_quarter)
    if found is not None:
        starts, ids, n, unparsed = found
        events, conf = _merge_repeats(starts, ids, np.ones(len(ids), np.float32), _end(melody))
        reading = ChordReading(events=events, confidence=conf, source="chord symbols", n_symbols=n, unparsed=unparsed)
        if not reading.trusted:
            reading.reason = f"{len(unparsed)} of {n} chord symbols are unreadable"
        return reading
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    others, names = [], []
    for i, part in enumerate(parts):
        if i == pick:
            continue
        notes, _ = part_notes(part, steps_per_quarter)
        if len(notes):
            others.append(notes)
            names.append(str(getattr(part, "partName", None) or f"part {i}"))
    if not others:
        return ChordReading(reason="no chord symbols and no other part")
    return _matched(np.concatenate(others), melody, steps_per_quarter, "other parts", names)


def chords_from_tracks(tracks: list[Track], melody: Melody,
                       steps_per_chord: int = STEPS_PER_HALF_BAR) -> ChordReading:
    """Chords of a MIDI file's accompaniment: every non-drum track with notes but the melody's.

    The duration-weighted pitch classes sounding in each half bar (from the melody's first full
    bar on) go to the template match; the reading names the tracks used and the mean confidence.
    """
    pick = int(melody.track.get("index", -1)) if melody.track else -1
    used = [t for t in tracks if not t.is_drum and len(t.notes) and t.index != pick]
    if not used:
        return ChordReading(reason="no accompaniment: no track with notes besides the melody and drums")
    notes = np.concatenate([t.notes for t in used])
    return _matched(notes, melody, steps_per_chord, "accompaniment", [t.name for t in used])


def chords_from_midi_bytes(data: bytes, melody: Melody, steps_per_quarter: int = STEPS_PER_QUARTER,
                           steps_per_chord: int = STEPS_PER_HALF_BAR) -> ChordReading:
    """:func:`chords_from_tracks` of MIDI bytes whose melody :func:`~musiclatent.midi.midifile.from_midi_bytes` read."""
    return chords_from_tracks(midi_tracks(data, steps_per_quarter), melody, steps_per_chord)
