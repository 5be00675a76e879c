"""The generation commands for drum models (``--model drums-2bar``): sample, interpolate, vary, encode.

:mod:`musiclatent.cli.generate` hands a drum model's commands here; the options are the same,
and those that only mean something for melodies (program, velocity, attributes, track) are ignored
with a remark.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from musiclatent.generation import drums


def _finish(result: drums.DrumResult, args, label: str) -> int:
    paths = drums.write_drum_result(result, args.out, wav=getattr(args, "wav", False),
                                    png=not getattr(args, "no_png", False), name=f"musiclatent {label}")
    for note in result.notes:
        print(note)
    ignored = [opt for opt in ("program", "velocity", "track") if getattr(args, opt, None) is not None]
    if getattr(args, "attr", None):
        ignored.append("attr")
    if ignored:
        print("ignored for drums: " + ", ".join(f"--{o}" for o in ignored))
    print(f"wrote {len(paths)} files to {args.out} (General MIDI drums on channel 10, tempo {result.qpm:g} qpm, 4/4)")
    return 0


def _temperature(args, default: float) -> float:
    return default if args.temperature is None else args.temperature


def cmd_sample(ml, args) -> int:
    res = drums.sample_drums(ml, n=args.n, bars=args.bars, style=args.style, temperature=_temperature(args, 0.5),
                             seed=args.seed, qpm=args.tempo)
    return _finish(res, args, "sample")


def cmd_interpolate(ml, args) -> int:
    a, b = drums.read_drum_song(args.a, ml.steps), drums.read_drum_song(args.b, ml.steps)
    print(f"A: {args.a}: {len(a.phrases)} phrases of {ml.bars} bars at {a.qpm:g} qpm")
    print(f"B: {args.b}: {len(b.phrases)} phrases of {ml.bars} bars at {b.qpm:g} qpm")
    res = drums.interpolate_drums(ml, a, b, steps=args.steps, style=args.style, temperature=_temperature(args, 0.0),
                                  seed=args.seed, qpm=args.tempo)
    return _finish(res, args, "morph")


def cmd_vary(ml, args) -> int:
    song = drums.read_drum_song(args.input, ml.steps)
    res = drums.vary_drums(ml, song, n=args.n, similarity=args.similarity, style=args.style,
                           temperature=_temperature(args, 0.0), seed=args.seed, qpm=args.tempo)
    return _finish(res, args, "variation")


def cmd_encode(ml, args) -> int:
    from musiclatent.cli.main import UserError
    from musiclatent.midi.io import MusicReadError, find_music_files

    out = Path(args.out)
    rows, zs = [], []
    for path, style in find_music_files(args.inputs):
        if path.suffix.lower() not in (".mid", ".midi"):
            continue
        try:
            song = drums.read_drum_song(path, ml.steps)
        except MusicReadError as err:
            print(f"skipped {path}: {err}", file=sys.stderr)
            continue
        st = args.style if args.style is not None else (style if style in ml.styles else None)
        zs.append(ml.encode(song.phrases, st))
        rows += [{"file": str(path), "start_bar": i * ml.bars, "style": style} for i in range(len(song.phrases))]
    if not rows:
        raise UserError("no groove could be encoded (drum models read the channel-10 part of MIDI files)")
    from musiclatent.cli.common import write_latents

    write_latents(out, zs, rows)
    return 0


COMMANDS = {"sample": cmd_sample, "interpolate": cmd_interpolate, "vary": cmd_vary, "encode": cmd_encode}


def dispatch(ml, args, command: str) -> int | None:
    """Run ``command`` for a drum model; None when ``ml`` is not one (the melody path goes on)."""
    if not drums.is_drum_model(ml):
        return None
    if command not in COMMANDS:
        from musiclatent.cli.main import UserError

        raise UserError(f"{command} is for melody models; drum models take {', '.join(COMMANDS)}")
    return COMMANDS[command](ml, args)
