"""Write the web app's bundled example tunes from music21's corpus.

Public-domain dance tunes from *Ryan's Mammoth Collection* (Boston, 1883), as
encoded in ABC in music21's corpus, become small two-track MIDI files: the
melody (named "Melody: <title>", so the melody finder picks it) and a quiet
drone on the tonic (so the app has a track choice to show). Pickup notes are
dropped so every file starts on a bar line, and tunes are cut to 16 bars.

Run from the repository root::

    .venv/bin/python demo/examples/make_examples.py

It rewrites ``demo/examples/*.mid`` and ``demo/examples/README.md``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# (corpus file in ryansMammoth/, title, tempo in quarter notes per minute)
TUNES = [
    ("7thRegimentReel.abc", "7th Regiment Reel", 100.0),
    ("AbithaMugginsFavoriteReel.abc", "Abitha Muggins' Favorite Reel", 100.0),
    ("AlhambraReel.abc", "Alhambra Reel", 176.0),
    ("AllTheGoReel.abc", "All the Go Reel", 176.0),
    ("AllTheWayToGalwayReel.abc", "All the Way to Galway Reel", 176.0),
    ("AllyCroakersFavoriteReel.abc", "Ally Croaker's Favorite Reel", 176.0),
    ("AdmiralsHornpipe.abc", "Admiral's Hornpipe", 150.0),
    ("AmazonHornpipe.abc", "Amazon Hornpipe", 150.0),
]
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
    import music21

    from musiclatent.midi.io import read_melodies, write_midi

    corpus = Path(os.path.dirname(music21.__file__)) / "corpus" / "ryansMammoth"
    lines = ["# Example tunes", "",
             "Public-domain dance tunes from *Ryan's Mammoth Collection* (Boston, 1883), taken from the ABC",
             "encodings in music21's corpus (`music21/corpus/ryansMammoth/`) by `make_examples.py`.",
             "Each file has two tracks: the melody and a quiet tonic drone. Pickups are dropped and",
             "tunes are cut to 16 bars; repeats are not expanded.", "",
             "| file | tune | meter | bars | key | tempo (qpm) |", "|---|---|---|---|---|---|"]
    for fname, title, qpm in TUNES:
        (_, melody), = read_melodies(corpus / fname)[:1]
        if isinstance(melody, Exception):
            print(f"skipped {fname}: {melody}", file=sys.stderr)
            continue
        pm, n_bars = build_example(melody, title, qpm)
        out = write_midi(HERE / f"{slug(title)}.mid", pm)
        num, den = melody.time_signature
        lines.append(f"| {out.name} | {title} | {num}/{den} | {n_bars} | {melody.key} | {qpm:g} |")
        print(f"wrote {out.name}: {num}/{den}, {n_bars} bars, {melody.key}")
    (HERE / "README.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
