"""Drum generation latency (medians): decoding one 2-bar groove (goal < 10 ms), 64 grooves,
a whole sample (decode + velocities + General MIDI file) and a WAV render of it.

    .venv/bin/python benchmarks/drums_speed.py [--model drums-2bar] [--repeats 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, median_time, print_table  # noqa: E402

from musiclatent.generation.audio import render_pretty_midi  # noqa: E402
from musiclatent.generation.drums import sample_drums  # noqa: E402
from musiclatent.generation.facade import MusicLatent  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="drums-2bar", help="drum model: pretrained name or folder")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    ml = MusicLatent.load(args.model)
    z1 = np.random.default_rng(0).standard_normal((1, ml.z_dim)).astype(np.float32)
    z64 = np.random.default_rng(1).standard_normal((64, ml.z_dim)).astype(np.float32)
    style = ml.styles[1] if len(ml.styles) > 1 else None
    res = sample_drums(ml, n=1, style=style, seed=0)

    def sample_to_midi():
        r = sample_drums(ml, n=1, style=style, seed=0)
        r.to_pretty_midi("sample_01").write(io.BytesIO())

    rows = [
        ["decode one 2-bar groove (argmax)", 1000 * median_time(lambda: ml.decode(z1, style, 0.0), args.repeats)],
        ["decode one 2-bar groove (temperature 0.5)",
         1000 * median_time(lambda: ml.decode(z1, style, 0.5, 0), args.repeats)],
        ["decode 64 grooves (argmax)", 1000 * median_time(lambda: ml.decode(z64, style, 0.0), max(3, args.repeats // 4))],
        ["sample one groove -> MIDI file", 1000 * median_time(sample_to_midi, args.repeats)],
        ["render its WAV", 1000 * median_time(lambda: render_pretty_midi(res.to_pretty_midi("sample_01")),
                                              max(3, args.repeats // 4))],
    ]
    print(f"{args.model} on {machine()}, {args.threads} torch thread(s)")
    print_table(["operation", "median ms"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
