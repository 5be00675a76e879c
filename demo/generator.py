"""The models the app serves, and the models that read songs in other meters.

A :class:`Generator` holds the served models by name (the page's Model
choice), each a :class:`~demo.lazy.LazyModel` until a request needs it. It also
finds the model a song's meter asks for: a 4/4 model reads 4/4, 2/4 and 2/2; a
waltz (3/4) or a jig (6/8, 3/8, 12/8) is read by the shipped model of the same
family measured in its bars (``melody-2bar-3-4``, ``melody-2bar-6-8``) when that
model is in ``musiclatent/pretrained/``
(:func:`~musiclatent.generation.meters.pretrained_for_meter`). Such a model is
described when first asked for and loaded on its first request, like the
served ones; nothing here loads weights by itself.

Melodies over chords are sampled by the family's shipped chord model
(``melody-2bar-chords``, the model ``musiclatent sample --chords`` uses) when
it is shipped, described and loaded the same way; without one, the picked model
samples and the chords are only written beside its melodies.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from musiclatent.constants import PRETRAINED_DIR, STYLE_ANY
from musiclatent.generation.attributes import ATTRIBUTES
from musiclatent.generation.meters import meter_text, pretrained_for_meter, shipped_meters
from musiclatent.midi.melody import model_meter_for

from .lazy import LazyModel, resolve
from .workspace import InputError, plain

if TYPE_CHECKING:  # the facade imports torch, which the page does not need to be served
    from musiclatent.generation.facade import MusicLatent

COMMON_TIME = (4, 4)
# the shipped model that plays over chords, as musiclatent.cli.sample.CHORD_MODEL (not imported:
# the CLI imports the app)
CHORD_MODEL = "melody-2bar-chords"


def model_meter(model) -> tuple[int, int]:
    """The meter whose bars a model (loaded or not) is measured in; 4/4 for one that does not say."""
    num, den = getattr(model, "meter", COMMON_TIME)
    return int(num), int(den)


def takes_chords(model) -> bool:
    """True for a chord model (loaded or not): its decoder hears the chord of every half bar."""
    return bool(getattr(model, "takes_chords", False))


class Generator:
    """The models the app serves, by name, in display order.

    Parameters
    ----------
    models : dict of str to MusicLatent, or list of MusicLatent
        A list is keyed by each model's ``name``. A :class:`~demo.lazy.LazyModel`
        stands in for a model until a request needs it.
    """

    def __init__(self, models: dict[str, MusicLatent] | list[MusicLatent]):
        if not isinstance(models, dict):
            models = {m.name: m for m in models}
        if not models:
            raise ValueError("the app needs at least one model")
        self.models = dict(models)
        self._meter_models: dict[str, LazyModel] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return list(self.models)

    def entry(self, name: str | None):
        """A served model by name, as served (a LazyModel is not loaded); None or empty means the first."""
        if not name:
            return next(iter(self.models.values()))
        if name not in self.models:
            raise InputError(f"unknown model {plain(name)!r}; available: {', '.join(self.models)}")
        return self.models[name]

    def get(self, name: str | None) -> MusicLatent:
        """A model by name, loaded; None or empty means the first."""
        return resolve(self.entry(name))

    def _for_bars(self, bars: int):
        models = sorted(self.models.values(), key=lambda m: m.bars)
        exact = [m for m in models if m.bars == bars]
        if exact:
            return exact[0]
        shorter = [m for m in models if m.bars < bars and bars % m.bars == 0]
        return shorter[-1] if shorter else models[0]

    def for_bars(self, bars: int) -> MusicLatent:
        """The model for ``bars``-bar melodies: an exact match, else the longest
        shorter model (phrases get chained), else the shortest one."""
        return resolve(self._for_bars(bars))

    def label(self, name: str) -> str:
        return f"{name} ({self.models[name].bars}-bar phrases)"

    @property
    def styles(self) -> list[str]:
        """Every model's styles, "any" first."""
        out = [STYLE_ANY]
        for m in self.models.values():
            out += [s for s in m.styles if s not in out]
        return out

    @property
    def attribute_names(self) -> list[str]:
        """Attributes any model can steer, in the canonical order."""
        have = {a for m in self.models.values() for a in m.attribute_names}
        return [a for a in ATTRIBUTES if a in have]

    # ------------------------------------------------------------------ meters
    @property
    def meters(self) -> list[tuple[int, int]]:
        """The meters melodies can be sampled in: the first model's, the other served models',
        then every shipped meter model's (:func:`~musiclatent.generation.meters.shipped_meters`)."""
        out: list[tuple[int, int]] = []
        for meter in [*map(model_meter, self.models.values()), *shipped_meters()]:
            if meter not in out:
                out.append(meter)
        return out

    def reader_name(self, model, meter) -> str | None:
        """The model that runs a piece in ``meter`` in place of ``model`` (loaded or not): None when
        ``model``'s own bars read it, or when no model here is measured in its bars (then ``model``
        reads it across its bar lines)."""
        measured_in = model_meter_for(meter)
        if measured_in is None or measured_in == model_meter(model):
            return None
        name = pretrained_for_meter(model.name, meter)
        return None if name is None or name == model.name else name

    def meter_model(self, name: str):
        """A served model, or a shipped meter or chord model described on first use (a LazyModel,
        one per name)."""
        if name in self.models:
            return self.models[name]
        with self._lock:
            if name not in self._meter_models:
                self._meter_models[name] = LazyModel(name)
            return self._meter_models[name]

    def reader(self, model, meter) -> MusicLatent:
        """The loaded model that runs a piece in ``meter`` when ``model`` was picked: ``model``
        itself, or the shipped model measured in the piece's bars (:meth:`reader_name`)."""
        name = self.reader_name(model, meter)
        return resolve(model if name is None else self.meter_model(name))

    # ------------------------------------------------------------------ chords
    def chord_model_name(self, model) -> str | None:
        """The shipped chord model that plays over chords in place of ``model`` (loaded or not):
        ``NAME-chords`` of its family, else :data:`CHORD_MODEL`; None when ``model`` hears chords
        itself or no chord model is shipped."""
        if takes_chords(model):
            return None
        for name in (f"{model.name}-chords", CHORD_MODEL):
            if name in self.models or (PRETRAINED_DIR / name / "model.safetensors").exists():
                return name
        return None

    def for_sampling(self, bars: int, meter=None, chords: bool = False) -> MusicLatent:
        """The loaded model that samples ``bars``-bar melodies in ``meter`` (default: in its own);
        with ``chords``, the chord model of its family when one is shipped (4/4 only: the caller
        checks the meter)."""
        model = self._for_bars(bars)
        if chords:
            name = self.chord_model_name(model)
            return resolve(model if name is None else self.meter_model(name))
        if meter is None or model_meter_for(meter) == model_meter(model):
            return resolve(model)
        name = self.reader_name(model, meter)
        if name is None:
            raise InputError(f"no model here samples {meter_text(meter)}; the meters are "
                             f"{', '.join(meter_text(m) for m in self.meters)}")
        return resolve(self.meter_model(name))

    def described(self) -> dict:
        """Every model the page can run: the served ones, the shipped meter models, then the
        shipped chord model, by name."""
        out = dict(self.models)
        first = self.entry(None)
        for meter in self.meters:
            name = self.reader_name(first, meter)
            if name is not None and name not in out:
                out[name] = self.meter_model(name)
        name = self.chord_model_name(first)
        if name is not None and name not in out:
            out[name] = self.meter_model(name)
        return out
