"""Meter and downbeat inferred from the notes, for files that declare none or an impossible one."""

from __future__ import annotations

import mido
import numpy as np
import pretty_midi
import pytest

from musiclatent.midi.io import read_melody
from musiclatent.midi.meter import bars_from_guess, infer_meter, metrical_template


def _accompanied(meter, bars=12, pickup=0, seed=0):
    """Notes (n, 3) and velocities of a melody over an oom-pah accompaniment in ``meter``, every
    bar line at ``pickup + k * bar``: a loud bass note on each downbeat, softer chords on the other
    beats, and a melody of random quarter and eighth notes."""
    num, den = meter
    bar = num * 16 // den
    beat = 6 if den == 8 and num % 3 == 0 else 16 // den
    rng = np.random.default_rng(seed)
    notes, vel = [], []
    for b in range(bars):
        s = pickup + b * bar
        notes.append((40, s, s + beat)); vel.append(110)
        for k in range(beat, bar, beat):
            for p in (55, 59, 62):
                notes.append((p, s + k, s + k + beat // 2)); vel.append(60)
        t = s
        while t < s + bar:
            d = int(min(rng.choice([2, 4]) if beat == 4 else rng.choice([2, 6]), s + bar - t))
            notes.append((int(rng.integers(67, 80)), t, t + d)); vel.append(80)
            t += d
    return np.asarray(notes, np.int32), np.asarray(vel)


@pytest.mark.parametrize("meter", [(4, 4), (3, 4), (6, 8), (9, 8)], ids=lambda m: f"{m[0]}-{m[1]}")
@pytest.mark.parametrize("pickup", [0, 4], ids=["on-the-bar", "pickup"])
def test_meter_and_downbeat_of_an_accompanied_tune(meter, pickup):
    notes, vel = _accompanied(meter, pickup=pickup)
    guess = infer_meter(notes, vel)
    assert guess.meter == meter
    assert guess.downbeat == pickup % guess.bar_steps and guess.confidence > 0


def test_templates_put_the_strongest_accent_on_the_downbeat():
    for meter in [(4, 4), (3, 4), (6, 8), (12, 8)]:
        t = metrical_template(meter)
        assert t.argmax() == 0 and len(t) == meter[0] * 16 // meter[1]
    # 6/8 groups eighths in threes: the second beat is step 6, not step 4
    t = metrical_template((6, 8))
    assert t[6] > t[4] and metrical_template((3, 4))[4] > metrical_template((3, 4))[6]


def test_no_notes_reads_as_four_four():
    guess = infer_meter(np.zeros((0, 3), np.int32))
    assert guess.meter == (4, 4) and guess.downbeat == 0 and guess.confidence == 0.0
    assert bars_from_guess(guess, 40).tolist() == [[0, 16], [16, 16], [32, 16]]


@pytest.mark.parametrize("declared", [(1, 4), None], ids=["declared-1-4", "no-meter"])
def test_a_waltz_that_declares_an_impossible_meter_is_read_in_three_four(tmp_path, declared):
    notes, vel = _accompanied((3, 4), bars=16, pickup=4, seed=2)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    if declared:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(*declared, 0))
    sec = 60 / 120 / 4
    mel, acc = pretty_midi.Instrument(73, name="Flute"), pretty_midi.Instrument(0, name="Piano")
    for (p, s, e), v in zip(notes.tolist(), vel.tolist()):
        (mel if p >= 67 else acc).notes.append(pretty_midi.Note(int(v), p, s * sec, e * sec))
    pm.instruments += [mel, acc]
    path = tmp_path / "waltz.mid"
    pm.write(str(path))
    if not declared:   # pretty_midi writes 4/4 when told nothing: strip every time signature
        mid = mido.MidiFile(str(path))
        for track in mid.tracks:
            track[:] = [m for m in track if m.type != "time_signature"]
        mid.save(str(path))
    m = read_melody(path)
    assert m.time_signature == (3, 4)
    assert set(m.bars[:, 1].tolist()) == {12} and int(m.bars[0, 0]) % 12 == 4
    info = m.track["meter"]
    assert info["inferred"] == "3/4" and info["declared"] == ("1/4" if declared else None)
    assert info["downbeat_step"] == 4 and info["confidence"] > 0
