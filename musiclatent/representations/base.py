"""What every representation owns: a vocabulary, a step grid that follows the meter,
and the pure conversions between quantized notes and tokens.

A representation is a small immutable object in the spirit of magenta's data
converters (``OneHotMelodyConverter``, ``DrumsConverter``): the model config
names one (``ModelConfig.representation``), the checkpoint stores that name,
and the model, the facade, songs, export, evaluation and the app ask it instead
of importing constants. Adding a kind of music (a drum kit, a chord condition)
means adding one subclass and registering it in :mod:`musiclatent.representations`.

Units: times are in *steps* of ``1 / steps_per_quarter`` quarter notes. Notes are
``int32`` arrays of shape ``(n, 3)``: ``(pitch, start, end)``, ``end`` exclusive.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

Meter = tuple[int, int]  # (numerator, denominator), e.g. (3, 4) or (6, 8)


class UnsupportedMeterError(ValueError):
    """A meter whose bar is not a whole number of steps, or that the representation does not take."""


@dataclass(frozen=True)
class Representation(ABC):
    """Base class: subclasses set ``name`` and ``n_classes`` and implement the conversions."""

    steps_per_quarter: int = 4

    name: ClassVar[str] = "abstract"
    n_classes: ClassVar[int] = 0
    # meters this representation's models may be built for (its bar grid must be whole steps)
    meters: ClassVar[tuple[Meter, ...]] = ((4, 4),)

    # ------------------------------------------------------------------ time
    def steps_per_bar(self, meter: Meter = (4, 4)) -> int:
        """Steps in one bar of ``meter``: 4/4 -> 16, 3/4 -> 12, 6/8 -> 12, 9/8 -> 18 at 4 per quarter."""
        num, den = int(meter[0]), int(meter[1])
        if num <= 0 or den <= 0 or den & (den - 1):
            raise UnsupportedMeterError(f"meter {num}/{den} is not a time signature")
        steps = num * 4 * self.steps_per_quarter
        if steps % den:
            raise UnsupportedMeterError(f"a bar of {num}/{den} is not a whole number of "
                                        f"1/{4 * self.steps_per_quarter} notes")
        return steps // den

    def check_meter(self, meter: Meter) -> Meter:
        """``meter`` as a tuple if models of this representation take it; else a clear error."""
        meter = (int(meter[0]), int(meter[1]))
        self.steps_per_bar(meter)
        if meter not in self.meters:
            takes = ", ".join(f"{n}/{d}" for n, d in self.meters)
            raise UnsupportedMeterError(f"{self.name} models take the meters {takes}, not {meter[0]}/{meter[1]}")
        return meter

    # ------------------------------------------------------------------ conversions (pure)
    @abstractmethod
    def to_tokens(self, notes: np.ndarray, n_steps: int) -> np.ndarray:
        """Notes (n, 3) -> tokens (n_steps,) int64 in ``[0, n_classes)``."""

    @abstractmethod
    def from_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens (steps,) -> notes (n, 3) int32; the inverse of :meth:`to_tokens` on its outputs."""

    @abstractmethod
    def onsets(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens (..., T) -> bool (..., T): steps where something starts sounding."""

    def check_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """Tokens as int64, or a ValueError naming the bad range."""
        tokens = np.asarray(tokens)
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.n_classes):
            raise ValueError(f"{self.name} tokens lie in [0, {self.n_classes}); got {tokens.min()}..{tokens.max()}")
        return tokens.astype(np.int64, copy=False)

    def describe(self, tokens: np.ndarray) -> str:
        """What a decoded phrase means musically, in a few words (for remarks and the app)."""
        n = int(self.onsets(np.asarray(tokens)).sum())
        return f"{n} event{'s' if n != 1 else ''}"
