"""Held-out songs for the musician's benchmarks: real tunes the models never trained on.

``data/outside`` (Nottingham reels, American fife tunes, Northumbrian
minstrelsy: ABC books) and the app's example tunes (``demo/examples``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = ROOT / "data" / "outside"
EXAMPLES = ROOT / "demo" / "examples"


def heldout_songs(per_book: int = 20, examples: bool = True) -> list[tuple[str, object]]:
    """(name, Melody) of the first ``per_book`` readable tunes of each ABC book, plus the examples."""
    from musiclatent.midi.io import MusicReadError, find_music_files, read_melodies

    songs = []
    for path, _ in find_music_files([OUTSIDE]):
        got = 0
        try:
            pieces = read_melodies(path, tune_range=(0, 3 * per_book))
        except MusicReadError:
            continue
        for pid, mel in pieces:
            if isinstance(mel, Exception) or len(mel.notes) < 8 or got >= per_book:
                continue
            songs.append((Path(pid).name, mel))
            got += 1
    if examples and EXAMPLES.is_dir():
        for path, _ in find_music_files([EXAMPLES]):
            songs += [(Path(pid).name, mel) for pid, mel in read_melodies(path) if not isinstance(mel, Exception)]
    return songs


def with_intro(melody, bars: int):
    """The melody entering after ``bars`` bars of its own meter (an instrumental intro: silence in its track)."""
    length = int(melody.bars[0, 1]) if len(melody.bars) else 16
    shift = bars * length
    first = int(melody.bars[0, 0]) if len(melody.bars) else 0
    intro = np.array([(first + k * length, length) for k in range(bars)], np.int32).reshape(-1, 2)
    notes = melody.notes + np.array([0, shift, shift], np.int32)
    return replace(melody, notes=notes, bars=np.concatenate([intro, melody.bars + [shift, 0]]).astype(np.int32))


def pushed(melody, steps: int = 2):
    """The melody anticipated by ``steps`` (an eighth note at 2): pop-style pushes, so notes
    that started on a bar line now start before it and are held across it."""
    notes = melody.notes - np.array([0, steps, steps], np.int32)
    keep = notes[:, 1] >= 0
    return replace(melody, notes=notes[keep])
