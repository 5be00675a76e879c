"""``musiclatent prepare`` for drums: drum parts in, 2-bar groove windows out.

Sources are the bundled Groove MIDI Dataset (``--corpus groove``; the MIDI files
ship compressed in ``data/groove/groove-midi.tar.xz``, read without unpacking)
and any folders or MIDI files, whose channel-10 part is read (the first
sub-folder name is the style, as for melodies).

The Groove corpus keeps its official train/validation/test split from
``info.csv``; other files are split by piece with the melody rule
(:func:`musiclatent.data.prepare.piece_split`). Windows of ``bars`` bars start on
every bar; a window needs a hit in each of its bars, except that a piece
shorter than one window (most Groove fills last under a bar) gives one window,
padded with silence. Exact duplicate windows are dropped within a split.
Styles are Groove's primary styles (``funk/groove1`` -> ``funk``); those with
under 200 training windows are pooled as ``other`` (:data:`GROOVE_STYLES`).

The dataset folder holds ``phrases.npz`` with

- ``tokens`` (N, T) uint16 in [0, 512): the drum tokens (:mod:`musiclatent.representations.drums`);
- ``velocity`` (N, T, 9) uint8: the velocity level of every hit (0 none, 1..4);
- ``piece``, ``bar`` (N,) int32; ``style`` (N,) int16 into ``style_names``;
- ``split`` (N,) uint8: 0 train, 1 validation, 2 test (never trained on);
- ``beat`` (N,) uint8: 1 when the piece is a beat, 0 a fill (Groove; user files count as beats);

and ``manifest.json``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np

from musiclatent.data.prepare import SPLIT_NAMES, piece_split
from musiclatent.midi.drums import DrumPart, from_midi_drums, read_drums
from musiclatent.midi.io import MusicReadError, find_music_files
from musiclatent.representations.drums import DRUMS, N_DRUM_CLASSES

GROOVE_ARCHIVE = Path(__file__).resolve().parents[2] / "data" / "groove" / "groove-midi.tar.xz"
GROOVE_SOURCE = "Groove MIDI Dataset v1.0.0 (copy in zharry29/drums-with-llm @ 476adbc9, folder groove/)"
GROOVE_CREDIT = ("Jon Gillick, Adam Roberts, Jesse Engel, Douglas Eck, David Bamman, \"Learning to Groove with "
                 "Inverse Sequence Transformations\", ICML 2019; dataset under CC BY 4.0")
SPLITS = {"train": 0, "validation": 1, "test": 2}
MIN_HITS_PER_BAR = 1
# Groove's primary styles with 200 or more training windows; the rest (pop, reggae, country, gospel,
# punk, blues, middleeastern, highlife: 0-163 training windows each, gospel none) are pooled as "other"
GROOVE_STYLES = ("rock", "funk", "jazz", "latin", "hiphop", "soul", "afrocuban", "afrobeat", "neworleans", "dance",
                 "other")


def groove_pieces(archive: str | os.PathLike = GROOVE_ARCHIVE, splits: tuple[str, ...] = ("train", "validation", "test")):
    """Yield ``(DrumPart or MusicReadError, split)`` for the Groove files of ``splits``, in info.csv order."""
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"{archive} is missing (the bundled Groove MIDI Dataset)")
    with tarfile.open(archive, "r:xz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        rows = list(csv.DictReader(io.TextIOWrapper(tar.extractfile(members["groove/info.csv"]), "utf-8")))
        for row in rows:
            if row["split"] not in splits:
                continue
            name = row["midi_filename"]
            data = tar.extractfile(members["groove/" + name]).read()
            style = row["style"].split("/")[0]
            style = style if style in GROOVE_STYLES else "other"
            try:
                part = from_midi_drums(data, source=name, style=style)
            except MusicReadError as err:
                yield MusicReadError(f"{name}: {err}"), row["split"]
                continue
            part.qpm = float(row["bpm"])
            part.extra = {"beat": row["beat_type"] == "beat", "drummer": row["drummer"], "id": row["id"]}
            yield part, row["split"]


def folder_pieces(inputs: list[str]):
    """Yield ``(DrumPart or MusicReadError, split)`` for the MIDI files under ``inputs``."""
    for inp in inputs:
        base = Path(inp)
        for f, style in find_music_files([inp]):
            if f.suffix.lower() not in (".mid", ".midi"):
                continue
            name = str(f.relative_to(base)) if base.is_dir() else f.name
            split = SPLIT_NAMES[piece_split(name)]
            try:
                part = read_drums(f, style=style, name=name)
            except MusicReadError as err:
                yield MusicReadError(f"{name}: {err}"), split
                continue
            part.extra = {"beat": True}
            yield part, split


def drum_windows(part: DrumPart, bars: int, steps_per_bar: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a 4/4 drum part into windows starting on every bar.

    Returns tokens (W, bars * steps_per_bar) int64, velocity levels (W, bars * steps_per_bar, 9)
    uint8 and start bars (W,) int32; a window needs ``MIN_HITS_PER_BAR`` hit steps in each bar,
    but a part shorter than one window gives one window padded with silence.
    """
    n_bars = max(-(-part.n_steps // steps_per_bar), bars)
    levels = DRUMS.to_levels(part.notes, part.velocities, n_bars * steps_per_bar)
    tokens = DRUMS.levels_to_tokens(levels)
    per_bar = (tokens.reshape(n_bars, steps_per_bar) > 0).sum(1)
    if part.n_steps <= (bars - 1) * steps_per_bar:
        starts = [0] if per_bar[0] >= MIN_HITS_PER_BAR else []
    else:
        starts = [b for b in range(n_bars - bars + 1) if (per_bar[b:b + bars] >= MIN_HITS_PER_BAR).all()]
    steps = bars * steps_per_bar
    if not starts:
        return (np.zeros((0, steps), np.int64), np.zeros((0, steps, N_DRUM_CLASSES), np.uint8),
                np.zeros(0, np.int32))
    win = np.asarray([tokens[b * steps_per_bar:b * steps_per_bar + steps] for b in starts])
    lev = np.asarray([levels[b * steps_per_bar:b * steps_per_bar + steps] for b in starts])
    return win, lev, np.asarray(starts, np.int32)


def merge_pieces(pieces, bars: int, style_names: list[str]) -> tuple[dict, dict]:
    """Windows of every piece, deduplicated within each split -> (arrays for phrases.npz, manifest fields)."""
    steps = bars * DRUMS.steps_per_bar((4, 4))
    cols = {k: [] for k in ("tokens", "velocity", "piece", "bar", "style", "split", "beat")}
    seen: set[tuple[int, bytes]] = set()
    kept_pieces, skipped, n_dupes = [], [], 0
    counts: dict[str, list[int]] = {}
    for part, split in pieces:
        if isinstance(part, MusicReadError):
            skipped.append({"path": str(part).split(":")[0], "reason": str(part).split(": ", 1)[-1]})
            continue
        if tuple(part.time_signature) != (4, 4) or part.meter_changes:
            skipped.append({"path": part.source, "reason": f"meter {part.time_signature[0]}/{part.time_signature[1]}"
                            + (" with changes" if part.meter_changes else "") + ": drum models take 4/4"})
            continue
        tok, lev, start = drum_windows(part, bars)
        if part.style not in style_names:
            style_names.append(part.style)
        sid, code, pid, n = style_names.index(part.style), SPLITS[split], len(kept_pieces), 0
        for t, v, b in zip(tok, lev, start):
            key = (code, t.astype(np.uint16).tobytes())
            if key in seen:
                n_dupes += 1
                continue
            seen.add(key)
            for k, val in zip(cols, (t, v, pid, b, sid, code, int(part.extra.get("beat", True)))):
                cols[k].append(val)
            n += 1
        if n == 0:
            skipped.append({"path": part.source, "reason": "no 2-bar window with hits in every bar (or only duplicates)"})
            continue
        counts.setdefault(part.style, [0, 0, 0])[code] += n
        kept_pieces.append({**part.meta(), "split": split, "phrases": n})
    arrays = {
        "tokens": np.asarray(cols["tokens"], np.uint16).reshape(-1, steps),
        "velocity": np.asarray(cols["velocity"], np.uint8).reshape(-1, steps, N_DRUM_CLASSES),
        "piece": np.asarray(cols["piece"], np.int32), "bar": np.asarray(cols["bar"], np.int32),
        "style": np.asarray(cols["style"], np.int16), "split": np.asarray(cols["split"], np.uint8),
        "beat": np.asarray(cols["beat"], np.uint8),
    }
    manifest = {
        "representation": DRUMS.name,
        "files_ok": len(kept_pieces), "files_skipped": skipped,
        "phrases": int(len(arrays["tokens"])),
        "phrases_validation": int(np.sum(arrays["split"] == 1)), "phrases_test": int(np.sum(arrays["split"] == 2)),
        "duplicates_dropped": n_dupes,
        "styles": {s: counts.get(s, [0, 0, 0])[0] for s in style_names},
        "styles_by_split": {s: dict(zip(SPLITS, counts.get(s, [0, 0, 0]))) for s in style_names},
        "style_names": style_names,
        "steps_per_quarter": DRUMS.steps_per_quarter, "bars": bars, "steps": steps,
        "pieces": kept_pieces,
        "validation_rule": "Groove MIDI Dataset: its official split (info.csv); other files: the melody "
                           "rule (musiclatent.data.prepare.piece_split). Split 2 is test, never trained on.",
    }
    return arrays, manifest


def velocity_profile(data_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """The mean velocity level of each kit class on each step of a drum dataset's training windows,
    as model extras: ``{"drum.velocity": (T, 9) float32}``."""
    from musiclatent.generation.drums import VELOCITY_KEY, velocity_table

    with np.load(Path(data_dir) / "phrases.npz", allow_pickle=False) as z:
        train = z["split"] == 0
        return {VELOCITY_KEY: velocity_table(z["tokens"][train], z["velocity"][train])}


def prepare_drums(inputs: list[str], out: str | os.PathLike, bars: int = 2, corpus: str | None = None,
                  command: str = "", splits: tuple[str, ...] = ("train", "validation", "test")) -> dict:
    """Build a drum dataset folder from the Groove corpus and/or MIDI files; returns its manifest."""
    if corpus not in (None, "groove"):
        raise ValueError(f"unknown drum corpus {corpus!r}; the bundled one is 'groove'")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def pieces():
        if corpus:
            yield from groove_pieces(splits=splits)
        yield from folder_pieces(inputs)

    arrays, manifest = merge_pieces(pieces(), bars, list(GROOVE_STYLES) if corpus else [])
    manifest["command"] = command
    if corpus:
        manifest["source"], manifest["credit"], manifest["licence"] = GROOVE_SOURCE, GROOVE_CREDIT, "CC BY 4.0"
    if manifest["phrases"]:
        tmp = out / "phrases.tmp.npz"
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, out / "phrases.npz")
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, out / "manifest.json")
    return manifest
