"""``musiclatent prepare``: music files in, a sharded phrase dataset out.

Two stages:

1. **Units -> shards.** Input files are grouped into work units (a chunk of
   files, or a chunk of tunes of one ABC book). Each unit is parsed in a
   worker into melodies, saved as ``shards/NNNNN-HASH.npz`` (written to a
   temporary name, then renamed). A re-run skips units whose shard exists, so
   an interrupted run resumes and never duplicates or loses a shard. Scores
   are read as played, repeats written out (``expand_repeats``, the default;
   :mod:`musiclatent.midi.repeats`), so long phrases span a tune's sections;
   the setting is part of every shard's key and recorded in the manifest.
2. **Merge.** Shards are read in order, cut into windows of ``bars`` bars,
   deduplicated and split by tune into train/validation, then written as
   ``phrases.npz`` and, last, ``manifest.json``.

Output is deterministic for the same input.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musiclatent.constants import STEPS_PER_BAR, STEPS_PER_QUARTER
from musiclatent.midi.io import MusicReadError, count_abc_tunes, find_music_files, read_leadsheets
from musiclatent.midi.melody import Melody, melody_windows, meter_windows
from musiclatent.representations import MELODY
from musiclatent.data.chords import ChordTally, pack_chord_events, unpack_chord_events
from musiclatent.data.corpus import corpus_entries, corpus_names, corpus_style_names
from musiclatent.data.leadsheets import LEADSHEET_CORPORA, leadsheet_credit

FILES_PER_UNIT = 16
TUNES_PER_UNIT = 60
VAL_MODULUS = 10  # a piece is held out when crc32(piece id) % 10 == 0; half of those are test
SPLIT_NAMES = ("train", "validation", "test")
SPLIT_RULE = (f"a piece is held out when zlib.crc32(piece id) % {VAL_MODULUS} == 0: validation when "
              f"crc32 // {VAL_MODULUS} is even, test when odd (split by tune, never by window); "
              "no training run or model choice looks at the test split")


@dataclass(frozen=True)
class Unit:
    """One piece of work: files, or a tune range of one ABC book."""

    items: tuple  # ((path, name, style, tune_range or None), ...)

    def key(self, steps_per_quarter: int, track) -> str:
        h = hashlib.sha1()
        for path, name, style, rng in self.items:
            size = os.path.getsize(path) if os.path.exists(path) else -1
            h.update(f"{name}|{style}|{rng}|{size}|{steps_per_quarter}|{track}\n".encode())
        return h.hexdigest()[:12]


def piece_split(piece_id: str) -> int:
    """The fixed tune-level split rule: 0 train, 1 validation, 2 test (see ``SPLIT_RULE``)."""
    h = zlib.crc32(piece_id.encode("utf-8"))
    if h % VAL_MODULUS:
        return 0
    return 2 if (h // VAL_MODULUS) % 2 else 1


def is_validation(piece_id: str) -> bool:
    """True for validation pieces (not test, not train)."""
    return piece_split(piece_id) == 1


def plan_units(inputs: list[str], corpus: str | list[str] | None = None,
               cache: str | os.PathLike = "corpus") -> list[Unit]:
    """Group inputs into work units, in a deterministic order (a lead-sheet corpus is unpacked into ``cache``)."""
    files: list[tuple[Path, str, str]] = []
    for name in corpus_names(corpus):   # one or more built-in corpora
        files += corpus_entries(name, Path(cache))
    for inp in inputs:
        base = Path(inp)
        for f, style in find_music_files([inp]):
            name = str(f.relative_to(base)) if base.is_dir() else f.name
            files.append((f, name, style))
    units: list[Unit] = []
    batch: list = []
    for f, name, style in files:
        if f.suffix.lower() == ".abc":
            try:
                n = count_abc_tunes(f.read_bytes()[: 64 * 1024 * 1024])
            except OSError:
                n = 0
            if n > TUNES_PER_UNIT:
                for a in range(0, n, TUNES_PER_UNIT):
                    units.append(Unit(((str(f), name, style, (a, a + TUNES_PER_UNIT)),)))
                continue
        batch.append((str(f), name, style, None))
        if len(batch) == FILES_PER_UNIT:
            units.append(Unit(tuple(batch)))
            batch = []
    if batch:
        units.append(Unit(tuple(batch)))
    return units


# --------------------------------------------------------------------------- shards

def _pack_shard(melodies: list[Melody], skipped: list[dict], chords: list | None = None) -> dict[str, np.ndarray]:
    notes = [m.notes for m in melodies]
    bars = [m.bars for m in melodies]
    chords = chords if chords is not None else [None] * len(melodies)
    meta = {"pieces": [m.meta() for m in melodies], "skipped": skipped,
            "chords": [r.meta() if r is not None else None for r in chords]}
    return {
        "notes": np.concatenate(notes).astype(np.int32) if notes else np.zeros((0, 3), np.int32),
        "note_offsets": np.cumsum([0] + [len(n) for n in notes]).astype(np.int64),
        "bars": np.concatenate(bars).astype(np.int32) if bars else np.zeros((0, 2), np.int32),
        "bar_offsets": np.cumsum([0] + [len(b) for b in bars]).astype(np.int64),
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8),
        **pack_chord_events(chords),
    }


def _unpack_shard(arrays) -> tuple[list[Melody], list[dict], list[tuple[np.ndarray, dict | None]]]:
    meta = json.loads(bytes(arrays["meta"]).decode("utf-8"))
    no, bo = arrays["note_offsets"], arrays["bar_offsets"]
    melodies = []
    for i, m in enumerate(meta["pieces"]):
        melodies.append(Melody(
            notes=arrays["notes"][no[i]:no[i + 1]], bars=arrays["bars"][bo[i]:bo[i + 1]],
            qpm=m["qpm"], time_signature=tuple(m["time_signature"]), key=m["key"], program=m["program"],
            velocity=m["velocity"], source=m["source"], style=m["style"], track=m["track"],
        ))
    chords = list(zip(unpack_chord_events(arrays, len(melodies)), meta.get("chords") or [None] * len(melodies)))
    return melodies, meta["skipped"], chords


def process_unit(args) -> tuple[int, int, int]:
    """Worker: parse one unit and write its shard. Returns (unit index, ok, skipped)."""
    index, unit, shard_path, steps_per_quarter, track, force_meter, expand = args
    melodies, skipped, chords = [], [], []
    for path, name, style, rng in unit.items:
        try:
            results = read_leadsheets(path, track=track, style=style, steps_per_quarter=steps_per_quarter,
                                      tune_range=rng, name=name, meter=force_meter, expand=expand)
        except MusicReadError as err:
            skipped.append({"path": name, "reason": str(err)})
            continue
        except Exception as err:  # never let one file stop the run
            skipped.append({"path": name, "reason": f"unexpected error: {type(err).__name__}: {err}"})
            continue
        for pid, res, reading in results:
            if isinstance(res, Melody):
                res.source = pid
                melodies.append(res)
                chords.append(reading)
            else:
                skipped.append({"path": pid, "reason": str(res)})
    arrays = _pack_shard(melodies, skipped, chords)
    tmp = Path(str(shard_path) + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, shard_path)
    return index, len(melodies), len(skipped)


# --------------------------------------------------------------------------- merge

def merge_shards(shard_paths: list[Path], bars: int, style_names: list[str],
                 all_meters: bool = False, meter: tuple[int, int] = (4, 4),
                 require_chords: bool = False) -> tuple[dict, dict]:
    """Cut melodies from shards into deduplicated phrase windows (of every meter with ``all_meters``).

    ``meter`` is the bar the phrases are measured in: 4/4 (the default), or 3/4, 6/8, 9/8 for a
    model of that meter (only pieces in meters it reads give windows; see ``MODEL_METERS``).
    Phrases of 4/4 bars also get the chord of each half bar (``chords``, :mod:`musiclatent.data.chords`);
    ``require_chords`` (lead-sheet corpora) skips pieces whose chord symbols are mostly unreadable.
    Returns (arrays for phrases.npz, manifest fields).
    """
    meter = (int(meter[0]), int(meter[1]))
    if meter != (4, 4) and all_meters:
        raise ValueError("--all-meters reads every meter as 4/4 phrases; a --model-meter dataset keeps its own")
    steps = bars * MELODY.steps_per_bar(meter)
    tokens, piece_idx, start_bar, style_idx, split = [], [], [], [], []
    pieces, skipped, tracks = [], [], {}
    seen: set[bytes] = set()
    style_counts = {s: 0 for s in style_names}
    n_dupes = 0
    meter_counts: dict[str, int] = {}
    repeat_counts: dict[str, int] = {}
    tally = ChordTally(bars) if meter == (4, 4) else None
    for sp in shard_paths:
        with np.load(sp, allow_pickle=False) as arrays:
            melodies, sk, chord_info = _unpack_shard(arrays)
        skipped += sk
        for mel, (events, chord_meta) in zip(melodies, chord_info):
            if "repeats" in (mel.track or {}):
                repeat_counts[mel.track["repeats"]] = repeat_counts.get(mel.track["repeats"], 0) + 1
            if require_chords and chord_meta and chord_meta.get("unparsed", 0) > 0.5 * chord_meta.get("symbols", 0):
                skipped.append({"path": mel.source, "reason": f"chord symbols mostly unreadable: "
                                f"{chord_meta['unparsed']} of {chord_meta['symbols']} (e.g. "
                                f"{', '.join(map(repr, chord_meta.get('unparsed_examples', [])))})"})
                continue
            win = meter_windows(mel, bars, meter) if meter != (4, 4) else melody_windows(mel, bars, all_meters)
            if len(win.tokens) == 0:
                skipped.append({"path": mel.source, "reason": win.reason})
                continue
            if mel.style not in style_counts:
                style_names.append(mel.style)
                style_counts[mel.style] = 0
            pid = len(pieces)
            split_code = piece_split(mel.source)
            kept, shares = 0, []
            for tok, b in zip(win.tokens, win.start_bars):
                h = tok.tobytes()
                if h in seen:
                    n_dupes += 1
                    continue
                seen.add(h)
                tokens.append(tok)
                piece_idx.append(pid)
                start_bar.append(b)
                style_idx.append(style_names.index(mel.style))
                split.append(split_code)
                if tally is not None:
                    shares.append(tally.add(tally.window(events, int(mel.bars[b, 0])), tok, mel.style))
                kept += 1
            if kept == 0:
                skipped.append({"path": mel.source, "reason": "every window duplicates an earlier phrase"})
                continue
            style_counts[mel.style] += kept
            piece_meter = "{}/{}".format(*mel.time_signature)
            meter_counts[piece_meter] = meter_counts.get(piece_meter, 0) + kept
            tracks[mel.source] = mel.track
            pieces.append({**mel.meta(), "split": SPLIT_NAMES[split_code]})
            if tally is not None and chord_meta and chord_meta["source"] != "none":
                pieces[-1]["chords"] = tally.piece(mel.source, chord_meta, shares)
    arrays = {
        "tokens": np.asarray(tokens, dtype=np.uint8).reshape(-1, steps),
        "piece": np.asarray(piece_idx, dtype=np.int32),
        "bar": np.asarray(start_bar, dtype=np.int32),
        "style": np.asarray(style_idx, dtype=np.int16),
        "split": np.asarray(split, dtype=np.uint8),
        **({"chords": tally.array()} if tally is not None else {}),
    }
    manifest = {
        "files_ok": len(pieces),
        "files_skipped": skipped,
        "phrases": int(len(tokens)),
        "phrases_validation": int(np.sum(arrays["split"] == 1)),
        "phrases_test": int(np.sum(arrays["split"] == 2)),
        "duplicates_dropped": n_dupes,
        "styles": {s: style_counts[s] for s in style_names},
        "meters": dict(sorted(meter_counts.items(), key=lambda kv: -kv[1])),
        "repeats": dict(sorted(repeat_counts.items())),
        "style_names": style_names,
        "steps_per_quarter": STEPS_PER_QUARTER,
        "bars": bars,
        "meter": list(meter),
        "steps": steps,
        "tracks": tracks,
        "pieces": pieces,
        "validation_rule": SPLIT_RULE,
        **(tally.manifest() if tally is not None else {}),
    }
    return arrays, manifest


def prepare(inputs: list[str], out: str | os.PathLike, bars: int = 2, workers: int = 1,
            track: str | None = None, corpus: str | list[str] | None = None, progress: bool = True,
            command: str = "", all_meters: bool = False, meter: tuple[int, int] = (4, 4),
            force_meter: tuple[int, int] | None = None, expand_repeats: bool = True) -> dict:
    """Build a dataset folder; returns its manifest. Resumes from existing shards.

    Phrases come from duple meters only, as the bundled models were trained; ``all_meters``
    keeps 3/4, 6/8, 9/8, ... too (read across their bar lines; the manifest counts per meter).
    ``meter`` 3/4, 6/8 or 9/8 instead builds phrases of that meter's bars, for a model of it.
    ``force_meter`` reads every input in that meter, whatever it declares. ``expand_repeats``
    reads scores as played (repeats and first/second endings written out; MIDI is read as it is);
    the manifest records it, and counts the scores expanded, without repeats or unexpandable.
    """
    from tqdm import tqdm

    out = Path(out)
    shard_dir = out / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    units = plan_units(inputs, corpus, out / "corpus")
    if not units:
        raise MusicReadError("no music files found (looked for " + ", ".join(
            ("*.mid", "*.midi", "*.abc", "*.xml", "*.mxl", "*.musicxml", "*.krn")) + ")")
    read_as = track if force_meter is None else f"{track}|meter {force_meter[0]}/{force_meter[1]}"
    if expand_repeats:   # shards read as written are never reused for an expanded build (nor back)
        read_as = f"{read_as}|repeats expanded"
    paths = [shard_dir / f"{i:05d}-{u.key(STEPS_PER_QUARTER, read_as)}.npz" for i, u in enumerate(units)]
    todo = [(i, u, paths[i], STEPS_PER_QUARTER, track, force_meter, expand_repeats) for i, u in enumerate(units)
            if not paths[i].exists()]
    bar = tqdm(total=len(units), initial=len(units) - len(todo), desc="prepare", unit="unit", disable=not progress)
    if workers > 1 and len(todo) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers, maxtasksperchild=50) as pool:
            for _ in pool.imap_unordered(process_unit, todo):
                bar.update(1)
    else:
        for args in todo:
            process_unit(args)
            bar.update(1)
    bar.close()
    arrays, manifest = merge_shards(paths, bars, corpus_style_names(corpus), all_meters, meter,
                                    require_chords=any(c in LEADSHEET_CORPORA for c in corpus_names(corpus)))
    credits = {c: leadsheet_credit(c) for c in corpus_names(corpus) if leadsheet_credit(c)}
    if len(credits) == 1:
        manifest.update(next(iter(credits.values())))
    elif credits:
        manifest["corpora"] = credits
    manifest["command"] = command
    manifest["expand_repeats"] = bool(expand_repeats)
    manifest["units"] = len(units)
    if manifest["phrases"]:
        tmp = out / "phrases.tmp.npz"
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, out / "phrases.npz")
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=False))
    os.replace(tmp, out / "manifest.json")
    return manifest
