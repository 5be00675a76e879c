"""Models the app describes at once and loads on first use.

Building the page needs only what a model folder's ``config.json``,
``README.md`` (the card) and the header of ``extras.safetensors`` say: its
bars, styles, attributes and card. :class:`LazyModel` reads those without
importing torch, and loads the weights (a :class:`~musiclatent.MusicLatent`)
the first time anything else is asked of it, once, under a lock. So
``musiclatent demo`` serves its page before torch is even imported; the
first model is warmed up in the background after that, the second one and
every scorer and index wait for their first request.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from musiclatent.constants import PRETRAINED_DIR

log = logging.getLogger("musiclatent.demo")

ATTRIBUTE_PREFIX = "attr."
_DESCRIBED = ("name", "folder", "card", "cfg_dict")


def model_folder(name_or_path: str) -> Path:
    """The folder of a pretrained name or a model/run path (the one holding model.safetensors)."""
    shipped = PRETRAINED_DIR / name_or_path
    if (shipped / "model.safetensors").exists():
        return shipped
    path = Path(name_or_path)
    if (path / "model.safetensors").exists():
        return path
    found = None
    if path.is_dir():  # a training run: its latest checkpoint (the checkpoint module imports torch)
        from musiclatent.training.checkpoint import find_checkpoint

        found = find_checkpoint(path)
    if found is None:
        avail = sorted(p.name for p in PRETRAINED_DIR.glob("*") if (p / "model.safetensors").exists())
        raise FileNotFoundError(f"no model {name_or_path!r} (not a model folder; pretrained: {', '.join(avail)})")
    return Path(found)


def _extras_keys(folder: Path) -> list[str]:
    """Tensor names in ``extras.safetensors``, from its JSON header alone."""
    path = folder / "extras.safetensors"
    if not path.exists():
        return []
    with open(path, "rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        if size <= 0 or size > 16 * 1024 * 1024:
            return []
        header = json.loads(fh.read(size))
    return [k for k in header if k != "__metadata__"]


class LazyModel:
    """A model folder, described now and loaded on first use.

    Parameters
    ----------
    name_or_path : str
        A pretrained name (``melody-2bar``) or a model/run folder.

    Attributes such as ``bars``, ``steps``, ``styles``, ``attribute_names``,
    ``card`` and :meth:`describe` come from the folder's files; any other
    attribute is the loaded :class:`~musiclatent.MusicLatent`'s.
    """

    def __init__(self, name_or_path: str):
        folder = model_folder(name_or_path)
        self.folder = folder
        self.cfg_dict = json.loads((folder / "config.json").read_text())["model"]
        config = json.loads((folder / "config.json").read_text())
        shipped = (PRETRAINED_DIR / name_or_path / "model.safetensors").exists()
        self.name = name_or_path if shipped else (config.get("preset") or name_or_path)
        self.card = (folder / "README.md").read_text() if (folder / "README.md").exists() else ""
        self._attributes = [k[len(ATTRIBUTE_PREFIX):] for k in _extras_keys(folder) if k.startswith(ATTRIBUTE_PREFIX)]
        self._lock = threading.Lock()
        self._model = None

    # ------------------------------------------------------------------ described without loading
    @property
    def bars(self) -> int:
        return int(self.cfg_dict.get("bars", 2))

    @property
    def meter(self) -> tuple[int, int]:
        return tuple(self.cfg_dict.get("meter", (4, 4)))

    @property
    def steps(self) -> int:
        from musiclatent.representations import get_representation

        rep = get_representation(self.cfg_dict.get("representation", "melody"))
        return self.bars * rep.steps_per_bar(self.meter)

    @property
    def styles(self) -> list[str]:
        return list(self.cfg_dict.get("styles", ["any"]))

    @property
    def attribute_names(self) -> list[str]:
        from musiclatent.generation.attributes import ATTRIBUTES

        return [a for a in ATTRIBUTES if a in self._attributes]

    @property
    def takes_chords(self) -> bool:
        return bool(self.cfg_dict.get("chord_dim", 0))

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def describe(self) -> dict:
        return {"name": self.name, "representation": self.cfg_dict.get("representation", "melody"),
                "meter": "{}/{}".format(*self.meter), "bars": self.bars, "steps": self.steps,
                "z_dim": int(self.cfg_dict.get("z_dim", 0)), "styles": self.styles,
                "attributes": self.attribute_names, "decoder": self.cfg_dict.get("decoder", "flat"),
                "chords": self.takes_chords}

    # ------------------------------------------------------------------ the model itself
    def load(self):
        """The :class:`~musiclatent.MusicLatent`, loaded on the first call (thread-safe)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from musiclatent.generation.facade import MusicLatent

                    self._model = MusicLatent.from_checkpoint(self.folder, name=self.name)
        return self._model

    def __getattr__(self, attr: str):
        if attr.startswith("_") or attr in _DESCRIBED:
            raise AttributeError(attr)
        return getattr(self.load(), attr)

    def __repr__(self) -> str:
        return f"LazyModel({self.name!r}, {'loaded' if self.loaded else 'not loaded yet'})"


def resolve(model):
    """The loaded model behind a :class:`LazyModel`, or ``model`` itself."""
    return model.load() if isinstance(model, LazyModel) else model


# --------------------------------------------------------------------------- warming up

def warm_up(generator, threads: int = 1) -> None:
    """Load the first model of a :class:`~demo.generator.Generator` and run one tiny request's
    work, so the first visitor does not wait for it. The second model, the meter models, the
    scorers and the indexes still load on first use."""
    import torch

    from musiclatent.generation.audio import render_pretty_midi
    from musiclatent.generation.export import phrases_to_pretty_midi

    torch.set_num_threads(max(1, threads))  # small batches: one thread each is fastest
    tokens = generator.get(None).sample(1, seed=0)
    render_pretty_midi(phrases_to_pretty_midi(tokens))


def warm_up_when_served(demo, generator, threads: int = 1, wait_s: float = 300.0) -> None:
    """Start :func:`warm_up` in a background thread once the page (a ``gr.Blocks``) is being served."""
    import time

    def run():
        t0 = time.monotonic()
        while getattr(demo, "local_url", None) is None:
            if time.monotonic() - t0 > wait_s:
                return
            time.sleep(0.2)
        try:
            warm_up(generator, threads)
        except Exception:
            log.exception("warming up the first model failed; it will load on the first request")

    threading.Thread(target=run, name="musiclatent-warm-up", daemon=True).start()
