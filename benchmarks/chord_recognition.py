"""Chord recognition from MIDI accompaniment, against the chord symbols of held-out lead sheets.

    python benchmarks/chord_recognition.py [--split validation|test|held-out] [--limit N]

Each held-out lead sheet of the bundled corpora (OpenEWLD, chord-melody; split by piece, never
trained on) is rendered to a 3-track MIDI file the way a player would voice it (see
:func:`accompaniment`: shell voicings with ninths, inversions, a walking approach note in the
bass), so the notes are not the chord templates themselves. ``musiclatent`` then reads the MIDI as a user's file (the melody track picked, the
other tracks template-matched per half bar, :func:`musiclatent.midi.chords.chords_from_midi_bytes`)
and the chord of every half bar is compared with the symbol's: root and quality right, and root
right. Half bars without a symbol are not counted. Prints a table.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musiclatent.data.leadsheets import LEADSHEET_CORPORA, leadsheet_files  # noqa: E402
from musiclatent.data.prepare import piece_split  # noqa: E402
from musiclatent.midi.chords import chords_from_midi_bytes  # noqa: E402
from musiclatent.midi.io import MusicReadError, read_leadsheets  # noqa: E402
from musiclatent.midi.melody import Melody  # noqa: E402
from musiclatent.midi.midifile import from_midi_bytes, to_pretty_midi  # noqa: E402
from musiclatent.representations.chords import chord_pitch_classes, chord_root  # noqa: E402

SPLITS = {"validation": (1,), "test": (2,), "held-out": (1, 2)}


def accompaniment(chords: np.ndarray, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Bass and comping notes (n, 3) for a chord per half bar (k steps each), as a jazz or pop
    player would voice them: seventh chords as shells (third and seventh) plus the ninth, triads
    in an inversion that changes with the bar and, every other bar, an added ninth; the bass
    holds the root for three beats of the four eighths and walks a half step into the next root."""
    bass, comp = [], []
    for i, cid in enumerate(chords.tolist()):
        if cid == 0:
            continue
        start, root = i * k, chord_root(cid)
        pcs = sorted(chord_pitch_classes(cid), key=lambda p: (p - root) % 12)   # root, third, fifth(, seventh)
        nxt = next((c for c in chords[i + 1:].tolist() if c), cid)
        bass.append((36 + root, start, start + k - 2))
        bass.append((36 + (chord_root(nxt) - 1) % 12, start + k - 2, start + k))     # chromatic approach
        if len(pcs) == 4:
            voiced = [pcs[1], pcs[3], (root + 2) % 12]                              # shell + ninth
        else:
            inversion = (i // 2) % 3
            voiced = pcs[inversion:] + pcs[:inversion] + ([(root + 2) % 12] if (i // 2) % 2 else [])
        pitches, last = [], 52
        for pc in voiced:                                   # stack upwards from E3
            p = last + ((pc - last) % 12)
            pitches.append(p)
            last = p + 1
        for j in range(k // 2):                            # broken chord in eighths
            p = pitches[j % len(pitches)]
            comp.append((p, start + 2 * j, start + 2 * j + 2))
    return np.asarray(bass, np.int32).reshape(-1, 3), np.asarray(comp, np.int32).reshape(-1, 3)


def score_piece(mel: Melody, reading) -> tuple[int, int, int]:
    """(half bars with a symbol, root and quality right, root right) for one lead sheet."""
    if not len(mel.bars):
        return 0, 0, 0
    start = int(mel.bars[0, 0])
    end = int(mel.bars[-1, 0] + mel.bars[-1, 1])
    n = (end - start) // 8
    truth = reading.chords(start, n)
    bass, comp = accompaniment(truth)
    shift = np.array([0, start, start], np.int32)
    pm = to_pretty_midi([mel.notes, bass + shift, comp + shift], qpm=mel.qpm, time_signature=(4, 4),
                        names=["Melody", "Bass", "Piano"])
    buf = io.BytesIO()
    pm.write(buf)
    data = buf.getvalue()
    heard = chords_from_midi_bytes(data, from_midi_bytes(data)).chords(start, n)
    has = truth > 0
    roots_t = np.array([chord_root(c) for c in truth])
    roots_h = np.array([chord_root(c) for c in heard])
    return int(has.sum()), int((heard == truth)[has].sum()), int((roots_h == roots_t)[has].sum())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="held-out", choices=sorted(SPLITS))
    ap.add_argument("--limit", type=int, default=0, help="at most this many pieces per corpus (0 = all)")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for name in LEADSHEET_CORPORA:
            total = exact = root = pieces = 0
            files = [(f, pid) for f, pid, _ in leadsheet_files(name, cache) if piece_split(pid) in SPLITS[args.split]]
            for f, pid in files[: args.limit or None]:
                try:
                    read = read_leadsheets(f, name=pid)
                except MusicReadError:
                    continue
                for _, mel, reading in read:
                    if not isinstance(mel, Melody) or reading is None or mel.time_signature != (4, 4):
                        continue
                    t, e, r = score_piece(mel, reading)
                    total, exact, root, pieces = total + t, exact + e, root + r, pieces + (t > 0)
            rows.append((name, pieces, total, exact / max(total, 1), root / max(total, 1)))
    print(f"chord recognition from rendered accompaniment ({args.split} lead sheets, 4/4)")
    print("| corpus | pieces | half bars with a chord | root and quality right | root right |")
    print("|---|---|---|---|---|")
    for name, pieces, total, ex, rt in rows:
        print(f"| {name} | {pieces} | {total} | {ex:.3f} | {rt:.3f} |")
    t = sum(r[2] for r in rows)
    print(f"| **all** | {sum(r[1] for r in rows)} | {t} | {sum(r[2] * r[3] for r in rows) / max(t, 1):.3f} | "
          f"{sum(r[2] * r[4] for r in rows) / max(t, 1):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
