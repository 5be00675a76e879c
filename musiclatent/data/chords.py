"""Chords in prepared datasets: chord events in shards, a chord per half bar of every phrase, coverage.

``prepare`` reads the chords of every piece with its melody (:func:`musiclatent.midi.io.read_leadsheets`)
and keeps them in the shard as chord events. When phrases of 4/4 model bars are cut, each phrase
gets the chord of each of its half bars: ``chords`` (N, bars * 2) uint8 in ``phrases.npz``
(0 = no chord; see :mod:`musiclatent.representations.chords`). The manifest counts, per style,
the phrases with a chord, the share of half bars with one and the share of strong-beat melody
notes that are chord tones (the reference for chord-conditioned samples).
"""

from __future__ import annotations

import numpy as np

from musiclatent.midi.chords import ChordReading
from musiclatent.representations.chords import (
    N_CHORDS,
    QUALITIES,
    STEPS_PER_HALF_BAR,
    chord_tone_share,
    events_to_chords,
)
from musiclatent.representations.pianoroll import tokens_to_notes

__all__ = ["pack_chord_events", "unpack_chord_events", "ChordTally", "VOCABULARY"]

VOCABULARY = (f"{N_CHORDS} chord ids: 0 no chord, then 1 + 8 * root (0 = C) + quality, quality one of "
              + ", ".join(QUALITIES) + "; one chord per half bar (8 steps)")
LOW_SHARE = 0.3  # a lead sheet whose strong-beat notes are chord tones less often than this is listed


def pack_chord_events(readings: list[ChordReading | None]) -> dict[str, np.ndarray]:
    """Shard arrays of the readings' chord events: ``chord_events`` (sum k, 2) int32 and
    ``chord_offsets`` (n + 1,) int64. An untrusted reading (mostly unreadable symbols) keeps none."""
    events = [r.events if r is not None and r.trusted else np.zeros((0, 2), np.int32) for r in readings]
    return {
        "chord_events": np.concatenate(events).astype(np.int32) if events else np.zeros((0, 2), np.int32),
        "chord_offsets": np.cumsum([0] + [len(e) for e in events]).astype(np.int64),
    }


def unpack_chord_events(arrays, n: int) -> list[np.ndarray]:
    """The chord events (k, 2) of each of the ``n`` pieces of a shard; none for a shard written
    before chords were read."""
    if "chord_offsets" not in getattr(arrays, "files", arrays):
        return [np.zeros((0, 2), np.int32) for _ in range(n)]
    ev, off = arrays["chord_events"], arrays["chord_offsets"]
    return [ev[off[i]:off[i + 1]] for i in range(n)]


class ChordTally:
    """Chords of the phrases of one dataset as they are merged, and their counts for the manifest."""

    def __init__(self, bars: int):
        self.cells = 2 * int(bars)
        self.rows: list[np.ndarray] = []
        self.styles: dict[str, dict] = {}
        self.sources: dict[str, int] = {}
        self.low: list[dict] = []

    def window(self, events: np.ndarray, start_step: int) -> np.ndarray:
        """The chord of every half bar of the phrase starting at ``start_step``: (bars * 2,) uint8."""
        return events_to_chords(events, start_step, self.cells, STEPS_PER_HALF_BAR)

    def add(self, chords: np.ndarray, tokens: np.ndarray, style: str) -> float:
        """Keep one phrase's chords; returns its chord-tone share (NaN without chords)."""
        self.rows.append(np.asarray(chords, np.uint8))
        s = self.styles.setdefault(style, {"phrases": 0, "with_chords": 0, "half_bars": 0, "shares": []})
        s["phrases"] += 1
        n = int(np.count_nonzero(chords))
        share = float("nan")
        if n:
            s["with_chords"] += 1
            s["half_bars"] += n
            share = chord_tone_share(tokens_to_notes(tokens), chords)
            if share == share:
                s["shares"].append(share)
        return share

    def piece(self, source: str, meta: dict, shares: list[float]) -> dict:
        """Count a kept piece's chord source; returns its chord meta with its mean chord-tone share.
        A piece under ``LOW_SHARE`` is listed: its chords may not fit its melody (a chart in another
        key, misread accidentals) or its tune dwells on tensions."""
        self.sources[meta["source"]] = self.sources.get(meta["source"], 0) + 1
        finite = [v for v in shares if v == v]
        share = round(float(np.mean(finite)), 3) if finite else None
        if share is not None and share < LOW_SHARE:
            self.low.append({"path": source, "chord_tone_share": share})
        return {**meta, "chord_tone_share": share}

    def array(self) -> np.ndarray:
        """``chords`` for phrases.npz: (N, bars * 2) uint8."""
        return np.asarray(self.rows, np.uint8).reshape(-1, self.cells)

    def manifest(self) -> dict:
        """Manifest fields: the vocabulary and, per style, the phrases with chords and their coverage."""
        coverage = {}
        for style, s in self.styles.items():
            coverage[style] = {
                "phrases": s["phrases"], "phrases_with_chords": s["with_chords"],
                "half_bars_with_chord": round(s["half_bars"] / max(1, s["phrases"] * self.cells), 4),
                "chord_tone_share": round(float(np.mean(s["shares"])), 4) if s["shares"] else None,
            }
        return {"chord_vocabulary": VOCABULARY, "chord_coverage": coverage,
                "phrases_with_chords": int(sum(s["with_chords"] for s in self.styles.values())),
                "pieces_by_chord_source": dict(sorted(self.sources.items())),
                "chord_tone_share_under_" + str(LOW_SHARE): sorted(self.low, key=lambda d: d["chord_tone_share"])}
