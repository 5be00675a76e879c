"""Corpora to index: phrases of a prepared dataset, or of music files tiled into phrases.

Disk is touched only by ``read_corpus_*``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musiclatent.representations import MELODY

__all__ = ["Corpus", "compact_tokens", "is_dataset_folder", "read_corpus_dataset", "read_corpus_files"]


def compact_tokens(tokens) -> np.ndarray:
    """Tokens in the smallest unsigned type that holds them: uint8 for melodies (130 classes),
    uint16 for drums (512); (n, T) -> (n, T)."""
    tokens = np.asarray(tokens)
    return tokens.astype(np.uint8 if tokens.size == 0 or int(tokens.max()) < 256 else np.uint16)


@dataclass
class Corpus:
    """Phrases to index: tokens (n, T) uint8 (uint16 for drums: :func:`compact_tokens`) ; style, file, split (n,) str ;
    bar (n,) int32, the phrase's first bar counted from 0 (people see ``bar + 1``) ;
    chords (n, K) uint8 chord ids per half bar, or None (no chord anywhere)."""

    tokens: np.ndarray
    style: np.ndarray
    file: np.ndarray
    bar: np.ndarray
    split: np.ndarray
    skipped: list[str] = field(default_factory=list)
    chords: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.tokens)

    def subset(self, idx: np.ndarray) -> "Corpus":
        return Corpus(self.tokens[idx], self.style[idx], self.file[idx], self.bar[idx], self.split[idx], self.skipped,
                      None if self.chords is None else self.chords[idx])


def is_dataset_folder(path: str | os.PathLike) -> bool:
    """True for a folder written by ``musiclatent prepare``."""
    return (Path(path) / "manifest.json").exists() and (Path(path) / "phrases.npz").exists()


def read_corpus_dataset(folder: str | os.PathLike) -> Corpus:
    """Every phrase of a prepared dataset; ``bar`` is the phrase's first bar in its piece (from 0).
    Each keeps its split: "train", "validation" or "test" (an index never matches or ranks among the
    test split, so figures measured on it stay clean)."""
    from musiclatent.data.dataset import load_dataset

    ds = load_dataset(folder)
    sources = np.asarray([p["source"] for p in ds.manifest["pieces"]], dtype=object)
    names = np.asarray(ds.style_names, dtype=object)
    chords = ds.chords.astype(np.uint8) if ds.chords.any() else None     # a dataset with chord symbols keeps them
    return Corpus(compact_tokens(ds.tokens), names[ds.style], sources[ds.piece], ds.bar.astype(np.int32),
                  np.asarray(["train", "validation", "test"], dtype=object)[ds.split], chords=chords)


def read_corpus_files(paths: list[str | os.PathLike], steps: int, bars: int, track=None,
                      keep_empty: bool = False, meter: tuple[int, int] = (4, 4), chords: bool = False,
                      drums: bool = False) -> Corpus:
    """Music files/folders tiled into consecutive phrases of ``steps`` steps.

    A folder's first sub-folder name is the style. Phrases without a note are
    dropped unless ``keep_empty``; unreadable pieces are listed in ``skipped``. ``meter`` is the
    model's (its bars tile the songs). With ``chords`` (4/4 bars only), each phrase keeps the
    chord of each half bar read from its piece (chord symbols or accompaniment; "no chord" where
    none was read). With ``drums``, MIDI files' drum parts (channel 10) are read as drum tokens.
    """
    if drums:
        return _read_drum_files(paths, steps, bars, keep_empty)
    from musiclatent.midi.io import MusicReadError, attach_chords, find_music_files, read_leadsheets, read_melodies
    from musiclatent.generation.songs import bar_number, song_phrases
    from musiclatent.representations.chords import STEPS_PER_HALF_BAR, events_to_chords

    toks, cells, styles, files, starts, skipped = [], [], [], [], [], []
    k = steps // STEPS_PER_HALF_BAR
    for path, style in find_music_files(paths):
        try:
            pieces = (read_leadsheets(path, track=track) if chords
                      else [(pid, mel, None) for pid, mel in read_melodies(path, track=track)])
        except MusicReadError as err:
            skipped.append(f"{path}: {err}")
            continue
        for pid, mel, reading in pieces:
            if isinstance(mel, Exception):
                skipped.append(f"{pid}: {mel}")
                continue
            events = getattr(attach_chords(mel, reading), "chords", None) if chords else None
            song = song_phrases(mel, steps, meter=meter)
            phrases = song.phrases
            keep = np.ones(len(phrases), bool) if keep_empty else (phrases >= MELODY.pitch_offset).any(1)
            if not keep.any():
                skipped.append(f"{pid}: no notes")
            for i in np.flatnonzero(keep):
                toks.append(phrases[i])
                cells.append(events_to_chords(np.zeros((0, 2)) if events is None else events,
                                              song.offset + int(i) * steps, k))
                styles.append(style)
                files.append(pid)
                starts.append(bar_number(mel, song.offset + int(i) * steps) - 1)  # as the file numbers bars
    n = len(toks)
    heard = np.asarray(cells, np.uint8).reshape(n, k) if chords and n else None
    return Corpus(compact_tokens(np.asarray(toks).reshape(n, steps)), np.asarray(styles, object),
                  np.asarray(files, object), np.asarray(starts, np.int32), np.full(n, "user", object), skipped,
                  heard if heard is not None and heard.any() else None)


def _read_drum_files(paths, steps: int, bars: int, keep_empty: bool) -> Corpus:
    """The drum parts of MIDI files/folders as consecutive phrases of ``steps`` steps (drum tokens)."""
    from musiclatent.generation.drums import read_drum_song
    from musiclatent.midi.io import MusicReadError, find_music_files

    toks, styles, files, starts, skipped = [], [], [], [], []
    for path, style in find_music_files(paths):
        if path.suffix.lower() not in (".mid", ".midi"):
            skipped.append(f"{path}: drums are read from MIDI files")
            continue
        try:
            song = read_drum_song(path, steps)
        except MusicReadError as err:
            skipped.append(f"{path}: {err}")
            continue
        keep = np.ones(len(song.phrases), bool) if keep_empty else (song.phrases > 0).any(1)
        for i in np.flatnonzero(keep):
            toks.append(song.phrases[i])
            styles.append(style)
            files.append(str(path))
            starts.append(int(i) * bars)
    n = len(toks)
    return Corpus(compact_tokens(np.asarray(toks, np.int64).reshape(n, steps)), np.asarray(styles, object),
                  np.asarray(files, object), np.asarray(starts, np.int32), np.full(n, "user", object), skipped)
