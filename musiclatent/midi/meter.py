"""Meter and downbeat from the notes alone, for files whose declared meter cannot be the music's.

Real MIDI files often say 1/4, 1/8 or nothing at all over music in 4/4 or 3/4
(exports from notation and DAW tools). Rather than skip them, we estimate the
bar length and the downbeat as symbolic meter estimators do: fold an onset
strength signal at every candidate bar length and phase, and correlate the
folded profile with a metrical template of that meter (bar, beat and
subdivision levels). Accents count: an onset weighs more when it is loud, long
or part of a chord, since those fall on strong beats in most music.

Pure numpy; times in steps of ``1 / steps_per_quarter`` quarter notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# meters we can tell apart from the notes, most common first (ties go to the earlier one)
CANDIDATES: tuple[tuple[int, int], ...] = ((4, 4), (3, 4), (6, 8), (2, 4), (9, 8), (12, 8))
# declared meters that cannot be a real bar of music; they trigger inference
IMPLAUSIBLE: tuple[tuple[int, int], ...] = ((1, 4), (1, 8), (1, 16), (1, 2), (1, 1))
# the prior favours the commonest meter (a near tie between 4/4 and 2/4 is read as 4/4) and
# disfavours the rarest (12/8 against 3/4 or 6/8); chosen on half of a lead-sheet set, checked on the other
PRIOR = {(4, 4): 0.08, (12, 8): -0.06}
# weight of each metrical level in a template: bar, half bar, beat, eighth, sixteenth
LEVEL_WEIGHTS = (4.0, 2.0, 2.0, 1.0, 0.5)
# bass notes weigh more; other notes starting with a step's strongest add this share of their weight
BASS_PITCH, BASS_WEIGHT, CHORD_SHARE = 52, 1.5, 0.25
# weight of bar-period self-similarity (rhythm repeating every bar and every two bars)
PERIOD_WEIGHT = 1.0


@dataclass(frozen=True)
class MeterGuess:
    """An inferred meter: ``downbeat`` is the step of the first bar line at or after 0."""

    meter: tuple[int, int]
    downbeat: int
    confidence: float      # best score minus the best score of any other meter, in correlation units
    bar_steps: int

    def describe(self) -> str:
        return (f"meter {self.meter[0]}/{self.meter[1]} inferred from the notes "
                f"(first downbeat at step {self.downbeat}, confidence {self.confidence:.2f})")


def is_compound(meter: tuple[int, int]) -> bool:
    """6/8, 9/8, 12/8 (beats of three eighths); 3/8 counts as one beat of three."""
    num, den = meter
    return den == 8 and num % 3 == 0


def metrical_template(meter: tuple[int, int], steps_per_quarter: int = 4) -> np.ndarray:
    """Expected accent per step of one bar: (bar_steps,) float64, a weighted count of the metrical
    levels (bar, half bar, beat, eighth, sixteenth) each position lies on (``LEVEL_WEIGHTS``)."""
    num, den = meter
    bar = num * 4 * steps_per_quarter // den
    eighth = max(1, steps_per_quarter // 2)
    beat = 3 * eighth if is_compound(meter) else 4 * steps_per_quarter // den
    w_bar, w_half, w_beat, w_eighth, w_16th = LEVEL_WEIGHTS
    pos = np.arange(bar)
    t = w_bar * (pos == 0) + w_beat * (pos % beat == 0) + w_eighth * (pos % eighth == 0) + w_16th
    beats = bar // beat
    if beats % 2 == 0 and beats > 2:                 # 4/4 and 12/8 have a strong middle
        t = t + w_half * (pos % (bar // 2) == 0)
    return t.astype(np.float64)


def onset_strength(notes: np.ndarray, velocities: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Accent-weighted onsets of (possibly polyphonic) notes (n, 3): (onset steps (m,), weights (m,)).

    A note weighs more the longer (log of its length), the louder (relative to the file's median
    velocity) and the lower (bass notes, below ``BASS_PITCH``, mark downbeats) it is. A step weighs
    what its strongest note does plus a little for every other note starting with it, so the
    off-beat chords of an oom-pah accompaniment do not outweigh its bass.
    """
    notes = np.asarray(notes, np.int64).reshape(-1, 3)
    if len(notes) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    w = 1.0 + np.log2(np.maximum(notes[:, 2] - notes[:, 1], 1))
    if velocities is not None and len(velocities) == len(notes):
        v = np.asarray(velocities, np.float64)
        w = w * np.clip(v / max(np.median(v), 1.0), 0.25, 4.0)
    w = w * np.where(notes[:, 0] < BASS_PITCH, BASS_WEIGHT, 1.0)
    starts, inverse = np.unique(notes[:, 1], return_inverse=True)
    strongest = np.zeros(len(starts))
    np.maximum.at(strongest, inverse, w)
    total = np.bincount(inverse, weights=w, minlength=len(starts))
    return starts, strongest + CHORD_SHARE * (total - strongest)


def strength_signal(notes: np.ndarray, velocities: np.ndarray | None = None) -> np.ndarray:
    """Onset strength at every step from 0 to the last onset: (T,) float64 (0 where nothing starts)."""
    starts, weights = onset_strength(notes, velocities)
    x = np.zeros(int(starts.max()) + 1 if len(starts) else 0)
    x[starts] = weights
    return x


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def fold_scores(x: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Correlation of the signal folded at the template's length with the template, for every
    phase (the step of the first downbeat): (bar_steps,)."""
    bar = len(template)
    hist = np.bincount(np.arange(len(x)) % bar, weights=x, minlength=bar)
    return np.array([_correlation(np.roll(hist, -phase), template) for phase in range(bar)])


def period_score(x: np.ndarray, bar: int) -> float:
    """How much the rhythm repeats every bar and every two bars: mean autocorrelation at both lags."""
    lags = [lag for lag in (bar, 2 * bar) if lag < len(x) - 1]
    return float(np.mean([_correlation(x[:-lag], x[lag:]) for lag in lags])) if lags else 0.0


def infer_meter(notes: np.ndarray, velocities: np.ndarray | None = None, steps_per_quarter: int = 4,
                candidates: tuple[tuple[int, int], ...] = CANDIDATES) -> MeterGuess:
    """Estimate the meter and first downbeat of notes (n, 3) in steps (all tracks: accompaniment
    and drums help). Each candidate meter scores its best phase's template correlation, plus
    ``PERIOD_WEIGHT`` times its bar-period self-similarity, plus its prior.

    With fewer than two onsets it returns 4/4 from step 0 with confidence 0.
    """
    x = strength_signal(notes, velocities)
    if np.count_nonzero(x) < 2:
        return MeterGuess((4, 4), 0, 0.0, 4 * steps_per_quarter)
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for meter in candidates:
        template = metrical_template(meter, steps_per_quarter)
        scores = fold_scores(x, template)
        phase = int(np.argmax(scores))
        total = scores[phase] + PERIOD_WEIGHT * period_score(x, len(template)) + PRIOR.get(meter, 0.0)
        best[meter] = (float(total), phase)
    ranked = sorted(best, key=lambda m: (-best[m][0], candidates.index(m)))
    meter = ranked[0]
    score, phase = best[meter]
    runner_up = best[ranked[1]][0] if len(ranked) > 1 else score
    bar = len(metrical_template(meter, steps_per_quarter))
    return MeterGuess(meter, phase % bar, max(0.0, score - runner_up), bar)


def bars_from_guess(guess: MeterGuess, end_step: int) -> np.ndarray:
    """Bar lines (b, 2) int32 of ``(start_step, length_steps)`` from the first downbeat to ``end_step``."""
    starts = np.arange(guess.downbeat, max(end_step, guess.downbeat + 1), guess.bar_steps)
    return np.stack([starts, np.full_like(starts, guess.bar_steps)], axis=1).astype(np.int32).reshape(-1, 2)


# at least this many bar lines, and more than this share of them changing the bar's length, is a tune
# that changes meter every bar (additive folk meters, a bad export): read it only in a forced meter
CHANGING_MIN_BARS, CHANGING_SHARE = 6, 0.5


def meter_problem(bars: np.ndarray, time_signature: tuple[int, int]) -> str | None:
    """Why a melody's bars (b, 2) cannot be read as phrases of one meter (None when they can):
    the bar length changes at more than half of its bar lines."""
    lengths = np.asarray(bars, np.int64).reshape(-1, 2)[:, 1]
    if len(lengths) < CHANGING_MIN_BARS:
        return None
    changes = int(np.count_nonzero(np.diff(lengths)))
    if changes <= CHANGING_SHARE * (len(lengths) - 1):
        return None
    seen = sorted({int(v) for v in lengths})[:4]
    return (f"the meter changes in {changes} of {len(lengths) - 1} bar lines (bars of "
            f"{', '.join(f'{v / 4:g}' for v in seen)} quarter notes, declared {time_signature[0]}/{time_signature[1]}); "
            "give --meter N/D to read it in one meter")


def with_meter(melody, meter: tuple[int, int], downbeat: int | None = None):
    """The melody (a :class:`~musiclatent.midi.melody.Melody`) re-barred in a forced ``meter``:
    bars of its length from ``downbeat`` (default: the first bar line the melody had, else step 0)
    to its last note. Notes are untouched; the track info records the forced meter."""
    import dataclasses

    num, den = int(meter[0]), int(meter[1])
    spq = melody.steps_per_quarter
    if num <= 0 or den <= 0 or den & (den - 1) or (num * 4 * spq) % den:
        raise ValueError(f"meter {num}/{den} is not a time signature with whole steps")
    bar = num * 4 * spq // den
    if downbeat is None:
        downbeat = int(melody.bars[0, 0]) % bar if len(melody.bars) else 0
    end = int(melody.notes[:, 2].max()) if len(melody.notes) else downbeat + bar
    starts = np.arange(downbeat, max(end, downbeat + 1), bar)
    bars = np.stack([starts, np.full_like(starts, bar)], axis=1).astype(np.int32).reshape(-1, 2)
    track = {**melody.track, "meter": {"forced": f"{num}/{den}",
                                       "declared": "{}/{}".format(*melody.time_signature)}}
    return dataclasses.replace(melody, bars=bars, time_signature=(num, den), track=track)
