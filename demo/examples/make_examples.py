"""Write the web app's bundled example tunes from music21's corpus.

Public-domain dance tunes, as encoded in ABC in music21's corpus: reels and
hornpipes from *Ryan's Mammoth Collection* (Boston, 1883), and tunes in 3/4 and
6/8 (airs in waltz time, jigs) from Ryan's and from *O'Neill's Music of Ireland*
(Chicago, 1850). The 3/4 and 6/8 tunes lie in the held-out test split
(``musiclatent.data.prepare.piece_split(piece_id) == 2``), so no shipped model,
of any meter, was trained on them. Each becomes a small two-track MIDI file,
read and written by the project's own reader and writer: the melody (named
"Melody: <title>", so the melody finder picks it) and a quiet drone on the tonic
(so the app has a track choice to show). Pickup notes are dropped so every file
starts on a bar line, and tunes are cut to 16 bars.

Run from the repository root::

    .venv/bin/python demo/examples/make_examples.py

It rewrites ``demo/examples/*.mid`` and ``demo/examples/README.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# (corpus file, tune number in the file, title, tempo in quarter notes per minute)
TUNES = [
    ("ryansMammoth/7thRegimentReel.abc", 0, "7th Regiment Reel", 100.0),
    ("ryansMammoth/AbithaMugginsFavoriteReel.abc", 0, "Abitha Muggins' Favorite Reel", 100.0),
    ("ryansMammoth/AlhambraReel.abc", 0, "Alhambra Reel", 176.0),
    ("ryansMammoth/AllTheGoReel.abc", 0, "All the Go Reel", 176.0),
    ("ryansMammoth/AllTheWayToGalwayReel.abc", 0, "All the Way to Galway Reel", 176.0),
    ("ryansMammoth/AllyCroakersFavoriteReel.abc", 0, "Ally Croaker's Favorite Reel", 176.0),
    ("ryansMammoth/AdmiralsHornpipe.abc", 0, "Admiral's Hornpipe", 150.0),
    ("ryansMammoth/AmazonHornpipe.abc", 0, "Amazon Hornpipe", 150.0),
    # held out (test split): 3/4 airs in waltz time and 6/8 jigs
    ("oneills1850/0001-0050.abc", 23, "The Black Slender Boy", 132.0),
    ("oneills1850/0101-0200.abc", 17, "Along with My Love I'll Go", 132.0),
    ("oneills1850/0701-0720.abc", 17, "Saddle the Pony Jig", 180.0),
    ("ryansMammoth/GeeseInTheBogJig.abc", 0, "Geese in the Bog Jig", 180.0),
]
COLLECTIONS = {"ryansMammoth": "Ryan's Mammoth Collection (1883)", "oneills1850": "O'Neill's Music of Ireland (1850)"}
SPLITS = ("train", "validation", "test")
MAX_BARS = 16
MELODY_PROGRAM = 40   # violin
DRONE_PROGRAM = 32    # acoustic bass
DRONE_VELOCITY = 50
PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def slug(title: str) -> str:
    """'Ally Croaker's Favorite Reel' -> 'ally_croakers_favorite_reel'."""
    keep = "".join(c.lower() if c.isalnum() else " " for c in title.replace("'", ""))
    return "_".join(keep.split())


def tonic_pitch(key: str, octave_base: int = 36) -> int:
    """MIDI pitch of a key's tonic in the bass octave; 'b minor' -> 47, 'B- major' -> 46."""
    name = (key.split() or ["C"])[0]
    pc = PITCH_CLASSES.get(name[:1].upper(), 0)
    pc += name.count("#") - name.count("-")
    return octave_base + pc % 12


def trim_melody(notes: np.ndarray, bars: np.ndarray, max_bars: int = MAX_BARS) -> tuple[np.ndarray, np.ndarray]:
    """Drop the pickup and cut to ``max_bars`` full bars.

    Parameters
    ----------
    notes : np.ndarray, shape (n, 3), int32
        ``(pitch, start, end)`` in steps.
    bars : np.ndarray, shape (b, 2), int32
        ``(start_step, length_steps)`` of every full bar.

    Returns
    -------
    notes : np.ndarray, shape (m, 3), int32, starting at step 0 on a bar line
    bars : np.ndarray, shape (min(b, max_bars), 2), int32, shifted the same way
    """
    bars = bars[:max_bars]
    start, end = int(bars[0, 0]), int(bars[-1, 0] + bars[-1, 1])
    kept = notes[(notes[:, 1] >= start) & (notes[:, 1] < end)].copy()
    kept[:, 2] = np.minimum(kept[:, 2], end)
    kept[:, 1:] -= start
    out_bars = bars.copy()
    out_bars[:, 0] -= start
    return kept.astype(np.int32), out_bars.astype(np.int32)


def build_example(melody, title: str, qpm: float):
    """A two-track PrettyMIDI (melody + tonic drone) of a trimmed melody."""
    import pretty_midi

    from musiclatent.generation.export import phrases_to_pretty_midi
    from musiclatent.representations.pianoroll import notes_to_tokens

    notes, bars = trim_melody(melody.notes, melody.bars)
    total = int(bars[-1, 0] + bars[-1, 1])
    tokens = notes_to_tokens(notes, total)
    pm = phrases_to_pretty_midi(tokens, qpm=qpm, time_signature=tuple(melody.time_signature),
                                program=MELODY_PROGRAM, name=f"Melody: {title}")
    sec = 60.0 / qpm / melody.steps_per_quarter
    drone = pretty_midi.Instrument(DRONE_PROGRAM, name="Drone")
    pitch = tonic_pitch(melody.key)
    for start, length in bars.tolist():
        drone.notes.append(pretty_midi.Note(DRONE_VELOCITY, pitch, start * sec, (start + length) * sec))
    pm.instruments.append(drone)
    return pm, len(bars)


def main() -> int:
    from musiclatent.data.corpus import music21_corpus_root
    from musiclatent.data.prepare import piece_split
    from musiclatent.midi.io import read_melodies, write_midi

    corpus = music21_corpus_root()
    lines = ["# Example tunes", "",
             "Public-domain dance tunes taken from the ABC encodings in music21's corpus by `make_examples.py`:",
             "reels and hornpipes from *Ryan's Mammoth Collection* (Boston, 1883, `music21/corpus/ryansMammoth/`),",
             "and tunes in 3/4 (airs in waltz time) and 6/8 (jigs) from Ryan's and from *O'Neill's Music of Ireland*",
             "(Chicago, 1850, `music21/corpus/oneills1850/`). The 3/4 and 6/8 tunes are in the held-out test split",
             "(`piece_split(piece id) == 2` in `musiclatent/data/prepare.py`): no shipped model, of any meter, was",
             "trained on them. Each file has two tracks, written by the project's own MIDI writer: the melody and a",
             "quiet tonic drone. Pickups are dropped and tunes are cut to 16 bars; repeats are not expanded.", "",
             "| file | tune | meter | bars | key | tempo (qpm) | source (piece id) | split |",
             "|---|---|---|---|---|---|---|---|"]
    for fname, number, title, qpm in TUNES:
        (piece, melody), = read_melodies(corpus / fname, tune_range=(number, number + 1), name=fname)
        if isinstance(melody, Exception):
            print(f"skipped {piece}: {melody}", file=sys.stderr)
            continue
        pm, n_bars = build_example(melody, title, qpm)
        out = write_midi(HERE / f"{slug(title)}.mid", pm)
        num, den = melody.time_signature
        book = COLLECTIONS[fname.split("/")[0]]
        lines.append(f"| {out.name} | {title} | {num}/{den} | {n_bars} | {melody.key} | {qpm:g} | {book}: "
                     f"`{piece}` | {SPLITS[piece_split(piece)]} |")
        print(f"wrote {out.name}: {num}/{den}, {n_bars} bars, {melody.key}")
    (HERE / "README.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
