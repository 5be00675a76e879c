"""Meter inference on MIDI files whose declared meter is wrong or missing (issue: every meter).

Lead sheets of known meter (MusicXML melody + chord symbols) are rendered to two-track MIDI
(melody, block chords an octave down), their meter is replaced by 1/4 (as DAW exports do) or
removed, and each file is read back through ``musiclatent.midi.io.read_melodies``, the path every
command uses. A file *agrees* when the inferred bar lines are the true ones (same bar length and
first downbeat); it agrees *up to the metrical level* when one grid is the other with every second
bar line dropped (2/4 against 4/4, 6/8 against 12/8), a choice notation itself makes both ways.

    python benchmarks/meter_inference.py --leadsheets PATH/openewld/dataset PATH/chord-melody --n 260

Prints a table per true meter and in all. Half of the files (even positions in the shuffled list)
were used to choose the prior in ``musiclatent/midi/meter.py``; the table reports both halves.
"""

from __future__ import annotations

import argparse
import collections
import io
import random
import sys
import warnings
from pathlib import Path

import mido
import pretty_midi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musiclatent.midi.io import read_melodies  # noqa: E402


def leadsheet(path: Path):
    """(melody notes, chord notes, (num, den), bar steps, first downbeat step) or None."""
    import music21 as m21

    part = m21.converter.parse(str(path)).parts[0]
    flat = part.flatten()
    tss = list(flat.getElementsByClass(m21.meter.TimeSignature))
    if len(tss) != 1:
        return None
    ts = tss[0]
    mel = []
    for n in flat.notes:
        if isinstance(n, m21.harmony.ChordSymbol):
            continue
        st, en = round(float(n.offset) * 4), round((float(n.offset) + float(n.quarterLength)) * 4)
        if en > st:
            mel.append((max(p.midi for p in n.pitches), st, en))
    if len(mel) < 16:
        return None
    end = max(e for _, _, e in mel)
    syms = list(flat.getElementsByClass(m21.harmony.ChordSymbol))
    chords = []
    for i, c in enumerate(syms):
        st = round(float(c.offset) * 4)
        en = round(float(syms[i + 1].offset) * 4) if i + 1 < len(syms) else end
        try:
            pitches = [p.midi - 12 for p in c.pitches]
        except Exception:          # an unreadable chord symbol: leave it out
            continue
        chords += [(p, st, en) for p in pitches if en > st]
    bar = round(ts.barDuration.quarterLength * 4)
    first = next((m for m in part.getElementsByClass(m21.stream.Measure)
                  if round(m.duration.quarterLength * 4) == bar), None)
    if first is None:
        return None
    return mel, chords, (ts.numerator, ts.denominator), bar, round(float(first.offset) * 4) % bar


def to_midi_bytes(mel, chords, declared: tuple[int, int] | None) -> bytes:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    sec = 60 / 120 / 4
    for name, notes, vel in (("Melody", mel, 90), ("Chords", chords, 70)):
        inst = pretty_midi.Instrument(0 if name == "Chords" else 73, name=name)
        inst.notes = [pretty_midi.Note(vel, int(p), s * sec, e * sec) for p, s, e in notes]
        pm.instruments.append(inst)
    if declared:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(*declared, 0))
    buf = io.BytesIO()
    pm.write(buf)
    if declared is None:          # pretty_midi writes 4/4 when told nothing: remove it
        mid = mido.MidiFile(file=io.BytesIO(buf.getvalue()))
        for track in mid.tracks:
            track[:] = [m for m in track if m.type != "time_signature"]
        buf = io.BytesIO()
        mid.save(file=buf)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leadsheets", nargs="+", required=True, help="folders of .mxl / .xml lead sheets")
    ap.add_argument("--n", type=int, default=260, help="files to try (shuffled, seed 1)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    files = sorted(f for d in args.leadsheets for f in Path(d).rglob("*") if f.suffix in (".mxl", ".xml"))
    random.seed(1)
    random.shuffle(files)
    rows = collections.defaultdict(lambda: collections.Counter())
    for i, f in enumerate(files[: args.n]):
        try:
            sheet = leadsheet(f)
        except Exception:          # music21 cannot parse it: not a meter question
            continue
        if sheet is None:
            continue
        mel, chords, meter, bar, phase = sheet
        for declared in ((1, 4), None):
            got = read_melodies(Path(f.stem + ".mid"), data=to_midi_bytes(mel, chords, declared))
            m = got[0][1] if got else None
            row = rows[(f"{meter[0]}/{meter[1]}", "A" if i % 2 == 0 else "B")]
            row["files"] += 1
            if m is None or isinstance(m, Exception) or not len(m.bars):
                continue
            row["read"] += 1
            L, first = int(m.bars[0, 1]), int(m.bars[0, 0])
            exact = L == bar and first % bar == phase
            level = exact or (max(L, bar) == 2 * min(L, bar) and first % min(L, bar) == phase % min(L, bar))
            row["exact"] += exact
            row["level"] += level
    print("| true meter | half | files (x2: 1/4 and none) | read | bar lines agree | agree up to the metrical level |")
    print("|---|---|---|---|---|---|")
    total = {h: collections.Counter() for h in "AB"}
    for (meter, half), c in sorted(rows.items()):
        total[half].update(c)
        n = c["files"]
        print(f"| {meter} | {half} | {n} | {c['read'] / n:.3f} | {c['exact'] / n:.3f} | {c['level'] / n:.3f} |")
    for half, c in total.items():
        n = max(1, c["files"])
        label = "A (chose the prior)" if half == "A" else "B (held out)"
        print(f"| **all** | {label} | {c['files']} | {c['read'] / n:.3f} | {c['exact'] / n:.3f} | {c['level'] / n:.3f} |")


if __name__ == "__main__":
    main()
