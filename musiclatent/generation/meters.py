"""Which shipped model reads a piece in a given meter.

The 4/4 models read 4/4, 2/4 and 2/2; a waltz is read by ``melody-2bar-3-4`` and a jig by
``melody-2bar-6-8`` when they are shipped (see :data:`~musiclatent.midi.melody.MODEL_METERS`).
The CLI and the app pick a model with :func:`pretrained_for_meter`; pure lookups in the
package's model folder, nothing is loaded here.
"""

from __future__ import annotations

from musiclatent.constants import PRETRAINED_DIR


def meter_text(meter) -> str:
    return f"{int(meter[0])}/{int(meter[1])}"


def pretrained_for_meter(name: str, meter) -> str | None:
    """The shipped model of ``name``'s family whose bars read a piece in ``meter``.

    ``melody-2bar`` with 3/4 gives ``melody-2bar-3-4``; 6/8, 3/8 and 12/8 give ``melody-2bar-6-8``
    (:data:`~musiclatent.midi.melody.MODEL_METERS`); a 16-bar name falls back to the 2-bar model of
    that meter. 4/4, 2/4 and 2/2 give ``name`` itself; None when no shipped model reads the meter.
    """
    from musiclatent.midi.melody import model_meter_for

    mm = model_meter_for(meter)
    if mm is None:
        return None
    if mm == (4, 4):
        return name
    for candidate in (f"{name}-{mm[0]}-{mm[1]}", f"melody-2bar-{mm[0]}-{mm[1]}"):
        if (PRETRAINED_DIR / candidate / "model.safetensors").exists():
            return candidate
    return None


def shipped_meters() -> list[tuple[int, int]]:
    """Meters a shipped melody model is measured in: 4/4 plus each ``melody-2bar-N-D`` folder's."""
    found = [(4, 4)]
    for folder in sorted(PRETRAINED_DIR.glob("melody-2bar-*-*")):
        num, den = folder.name.split("-")[-2:]
        if (folder / "model.safetensors").exists() and num.isdigit() and den.isdigit():
            found.append((int(num), int(den)))
    return found
