"""What ``musiclatent evaluate`` measures, and how much: plain settings that import no torch,
so the command line can offer them without loading a model."""

from __future__ import annotations

from dataclasses import dataclass

SECTIONS = ("reconstruction", "realism", "interpolation", "style", "samples", "chords")


@dataclass(frozen=True)
class EvalSettings:
    """How much to measure; the defaults take a few minutes on two CPU cores."""

    split: str = "auto"          # validation | train | test | all | auto (validation if any, else all)
    max_phrases: int = 0         # reconstruction on at most this many phrases (0 = the whole split)
    samples: int = 512           # realism: prior samples, compared with as many real phrases
    temperature: float = 0.5     # for prior samples (realism and style)
    pairs: int = 64              # interpolation pairs
    interp_steps: int = 10       # K: a path has K + 1 points, endpoints included
    style_samples: int = 100     # conditioned prior samples per style
    restyle_phrases: int = 256   # held-out phrases restyled at strength 1
    batch_size: int = 256
    seed: int = 0
    sections: tuple[str, ...] = SECTIONS

    def __post_init__(self):
        unknown = set(self.sections) - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
        if self.split not in ("auto", "validation", "train", "test", "all"):
            raise ValueError(f"split must be auto, validation, train, test or all, not {self.split!r}")
        if self.interp_steps < 1:
            raise ValueError("interp_steps must be at least 1")
