"""Notes <-> tokens: one small pure object per kind of music.

A model config names its representation (``ModelConfig.representation``); the
checkpoint stores the name and :func:`get_representation` gives the object back.
Two are registered: ``melody`` (130 classes; see :mod:`.melody`) and ``drums``
(a 9-class kit, 512 classes; see :mod:`.drums`). A meter other than 4/4 or a
chord condition is a new :class:`Representation` subclass registered here.
"""

from __future__ import annotations

from musiclatent.representations.base import Meter, Representation, UnsupportedMeterError
from musiclatent.representations.drums import DRUMS, DrumRepresentation
from musiclatent.representations.melody import MELODY, MelodyRepresentation

REPRESENTATIONS: dict[str, Representation] = {MELODY.name: MELODY, DRUMS.name: DRUMS}

__all__ = ["Meter", "Representation", "UnsupportedMeterError", "MelodyRepresentation", "MELODY",
           "DrumRepresentation", "DRUMS",
           "REPRESENTATIONS", "get_representation"]


def get_representation(name: str) -> Representation:
    """The registered representation called ``name``, or a ValueError listing the known ones."""
    try:
        return REPRESENTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown representation {name!r}; known: {', '.join(REPRESENTATIONS)}") from None
