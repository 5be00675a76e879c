"""Debug models standing in for shipped ones: trained in seconds, exported into a temporary
pretrained folder, and every module that imported ``PRETRAINED_DIR`` pointed at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo import generator as generator_module
from demo import lazy
from musiclatent.generation import facade, meters


def use_pretrained(mp: pytest.MonkeyPatch, folder: Path) -> None:
    """Point every module that imported PRETRAINED_DIR by name at ``folder``."""
    for module in (meters, lazy, facade, generator_module):
        mp.setattr(module, "PRETRAINED_DIR", folder)


def ship_debug_model(tmp_path_factory, data: Path, preset: str, name: str) -> Path:
    """Train ``preset`` on ``data`` for 20 steps and export it as ``name`` in a new pretrained
    folder; returns that folder."""
    from musiclatent.training.loop import train
    from musiclatent.training.ship import export_model

    run = tmp_path_factory.mktemp(f"{name}-run")
    train(data, preset, run, max_steps=20, progress=False)
    pretrained = tmp_path_factory.mktemp("pretrained")
    export_model(run, data, pretrained / name, card=f"# debug stand-in for {name}\n", prior=False)
    return pretrained
