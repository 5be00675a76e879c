"""musiclatent: learn a latent space of melodies; generate, morph, restyle and export them.

>>> from musiclatent import MusicLatent
>>> m = MusicLatent.from_pretrained("melody-2bar")
>>> tokens = m.sample(4, style="irish", temperature=0.5, seed=1)   # (4, 32) int64
"""

from musiclatent.constants import HOLD, NOTE_ON_OFFSET, NUM_CLASSES, REST, STEPS_PER_QUARTER
from musiclatent.midi.io import MusicReadError, read_melody, read_melodies
from musiclatent.midi.melody import Melody
from musiclatent.representations.pianoroll import (notes_to_pianoroll, notes_to_tokens, pianoroll_to_notes, pianoroll_to_tokens,
                                                   tokens_to_notes, tokens_to_pianoroll)

__version__ = "0.1.0"

_FACADE = ("MusicLatent", "UnknownStyleError", "slerp")


def __getattr__(name: str):
    """The facade (and torch behind it) is imported on first use, so tools that only read
    files or serve a page start fast: ``from musiclatent import MusicLatent`` works as before."""
    if name in _FACADE:
        from musiclatent.generation import facade

        return getattr(facade, name)
    raise AttributeError(f"module 'musiclatent' has no attribute {name!r}")

__all__ = [
    "MusicLatent", "UnknownStyleError", "slerp", "MusicReadError", "read_melody", "read_melodies", "Melody",
    "notes_to_pianoroll", "notes_to_tokens", "pianoroll_to_notes", "pianoroll_to_tokens", "tokens_to_notes",
    "tokens_to_pianoroll", "HOLD", "REST", "NOTE_ON_OFFSET", "NUM_CLASSES", "STEPS_PER_QUARTER",
]
