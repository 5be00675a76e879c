"""Generation subcommands: sample, interpolate, restyle, vary, continue, render, encode, demo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from musiclatent.generation.attributes import ATTRIBUTES


def _common(p, out_required=True):
    p.add_argument("--model", default=None, help="pretrained name (melody-2bar, melody-16bar) or a run/model folder")
    p.add_argument("--out", required=out_required, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result)")
    p.add_argument("--temperature", type=float, default=None, help="sampling temperature: 0 = argmax notes, and for sample with a style prior the "
                   "style's most typical phrase (0.5, sample's default, draws from the style's fitted spread)")
    p.add_argument("--style", default=None, help="style name (see the model's styles); default: any")
    p.add_argument("--tempo", type=float, default=None, help="tempo in quarter notes per minute")
    p.add_argument("--program", type=int, default=None, help="General MIDI program 0-127")
    p.add_argument("--velocity", type=int, default=None, help="note velocity 1-127")
    p.add_argument("--wav", action="store_true", help="also render WAV previews")
    p.add_argument("--no-png", action="store_true", help="skip piano-roll pictures")
    p.add_argument("--attr", action="append", default=[], metavar="NAME=AMOUNT",
                   help=f"attribute slider, amount -2..2; names: {', '.join(ATTRIBUTES)} (repeatable)")


def _song_args(p):
    p.add_argument("--track", default=None, help="melody track by index or name (default: automatic)")
    p.add_argument("--meter", default=None, metavar="N/D",
                   help="read the input in this meter, bars laid from its first bar line (default: the meter the "
                        "file declares, or one inferred from the notes when it declares none or 1/4)")


def _parse_attrs(items: list[str]) -> dict[str, float]:
    from musiclatent.cli.main import UserError

    out = {}
    for item in items:
        name, _, val = item.partition("=")
        if name not in ATTRIBUTES:
            raise UserError(f"unknown attribute {name!r}; choose from {', '.join(ATTRIBUTES)}")
        try:
            out[name] = float(val)
        except ValueError:
            raise UserError(f"--attr {item!r}: amount must be a number in [-2, 2]") from None
        if not -2 <= out[name] <= 2:
            raise UserError(f"--attr {item!r}: amount must lie in [-2, 2]")
    return out


def _load(args, bars: int | None = None, meter=None):
    """The model a command runs: ``--model``, else the shipped one for its length and ``meter`` (the
    input song's, or sample's ``--meter``): a waltz gets the 3/4 model, a jig the 6/8 one."""
    from musiclatent.cli.main import UserError
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.generation.meters import meter_text, pretrained_for_meter

    name = args.model or ("melody-16bar" if bars and bars >= 16 and bars % 16 == 0 else "melody-2bar")
    if args.model is None and meter is not None:
        routed = pretrained_for_meter(name, meter)
        if routed is not None and routed != name:
            print(f"{meter_text(meter)}: using the {routed} model (bars of {meter_text(meter)})")
            name = routed
    try:
        ml = MusicLatent.load(name)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(str(err)) from None
    if args.style is not None:
        try:
            ml.style_id(args.style)
        except ValueError as err:
            raise UserError(str(err)) from None
    return ml


def _drums(ml, args, command: str):
    """A drum model's commands run in :mod:`musiclatent.cli.drums`; None for a melody model."""
    from musiclatent.cli.drums import dispatch

    return dispatch(ml, args, command)


def _read(path, track, meter=None):
    """A song with its chords, if it has any (chord symbols, a score's parts, MIDI accompaniment)."""
    from musiclatent.cli.main import parse_meter
    from musiclatent.midi.io import read_song

    mel = read_song(path, track=track, meter=parse_meter(meter) if meter else None)
    info = mel.track.get("chords")
    if info:
        print(f"{path}: chords from {info.get('source')} ({info.get('changes')} changes)")
    return mel


def _model_and_song(args, path, track):
    """(model, melody): without ``--model``, the song is read first and its meter picks the shipped
    model; with one, a drum model reads its own input (melody None)."""
    from musiclatent.cli.drums import drums

    if args.model is not None:
        ml = _load(args)
        return ml, (None if drums.is_drum_model(ml) else _read(path, track, args.meter))
    mel = _read(path, track, args.meter)
    return _load(args, meter=mel.time_signature), mel


def _finish(result, args, label: str) -> int:
    from musiclatent.generation.studio import write_result

    paths = write_result(result, args.out, wav=args.wav, png=not args.no_png, name=label)
    for note in result.notes:
        print(note)
    print(f"wrote {len(paths)} files to {args.out} (tempo {result.qpm:g} qpm, "
          f"{result.time_signature[0]}/{result.time_signature[1]}, program {result.program}, velocity {result.velocity})")
    return 0


def cmd_interpolate(args) -> int:
    from musiclatent.generation import studio

    ml, a = _model_and_song(args, args.a, args.track)
    if (done := _drums(ml, args, "interpolate")) is not None:
        return done
    b = _read(args.b, args.track_b or args.track, args.meter)
    print(f"A: {args.a}: melody track {a.track.get('name')!r} ({a.track.get('reason')})")
    print(f"B: {args.b}: melody track {b.track.get('name')!r} ({b.track.get('reason')})")
    res = studio.interpolate_songs(ml, a, b, steps=args.steps, style=args.style,
                                   temperature=0.0 if args.temperature is None else args.temperature,
                                   seed=args.seed, attributes=_parse_attrs(args.attr), qpm=args.tempo,
                                   program=args.program, velocity=args.velocity, keep_intro=args.keep_intro)
    return _finish(res, args, "morph")


def cmd_restyle(args) -> int:
    from musiclatent.generation import studio

    ml, mel = _model_and_song(args, args.input, args.track)
    _drums(ml, args, "restyle")
    if args.style is None:
        from musiclatent.cli.main import UserError

        raise UserError(f"--style is required: the target style, one of {', '.join(ml.styles[1:])}")
    res = studio.restyle_song(ml, mel, args.style, strength=args.strength, source_style=args.source_style,
                              temperature=0.0 if args.temperature is None else args.temperature, seed=args.seed,
                              attributes=_parse_attrs(args.attr), qpm=args.tempo, program=args.program,
                              velocity=args.velocity, **_respect(args))
    return _finish(res, args, "restyle")


def _respect_args(p):
    p.add_argument("--fill-rests", action="store_true",
                   help="let the output play where the input rests (default: it rests there too)")
    p.add_argument("--free-register", action="store_true",
                   help="let the output leave the input's register (default: moved back by octaves)")


def _respect(args) -> dict:
    return {"keep_rests": not args.fill_rests, "keep_register": not args.free_register}


def _walk_from_song(args, op, label: str, **options) -> int:
    """vary and continue: a song in, n phrases from latent steps around it out."""
    ml, mel = _model_and_song(args, args.input, args.track)
    if (done := _drums(ml, args, {"variation": "vary"}.get(label, label))) is not None:
        return done
    res = op(ml, mel, n=args.n, similarity=args.similarity, style=args.style,
             temperature=0.0 if args.temperature is None else args.temperature, seed=args.seed,
             qpm=args.tempo, program=args.program, velocity=args.velocity, **options)
    return _finish(res, args, label)


def cmd_vary(args) -> int:
    from musiclatent.generation import studio

    return _walk_from_song(args, studio.vary_song, "variation", **_respect(args))


def cmd_continue(args) -> int:
    from musiclatent.generation import studio

    return _walk_from_song(args, studio.continue_song, "continue", form=args.form)


def cmd_render(args) -> int:
    import pretty_midi

    from musiclatent.generation.audio import write_wav
    from musiclatent.cli.main import UserError

    data = Path(args.input).read_bytes()
    if data[:4] != b"MThd":
        raise UserError(f"{args.input} is not a MIDI file")
    try:
        import io

        pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as err:
        raise UserError(f"cannot read {args.input}: {err}") from None
    write_wav(args.output, pm)
    print(f"wrote {args.output}")
    return 0


def cmd_encode(args) -> int:
    from musiclatent.midi.io import MusicReadError, find_music_files, read_melodies
    from musiclatent.generation.songs import song_phrases

    from musiclatent.cli.main import parse_meter

    meter = parse_meter(args.meter) if args.meter else None
    ml = _load(args) if args.model is not None else None
    if ml is not None and (done := _drums(ml, args, "encode")) is not None:
        return done
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, zs, songs = [], [], []
    for path, style in find_music_files(args.inputs):
        try:
            pieces = read_melodies(path, track=args.track, meter=meter, strict=True)
        except MusicReadError as err:
            print(f"skipped {path}: {err}", file=sys.stderr)
            continue
        for pid, mel in pieces:
            if isinstance(mel, Exception):
                print(f"skipped {pid}: {mel}", file=sys.stderr)
                continue
            songs.append((pid, mel, style))
    if ml is None:   # one model for every latent: the one that reads the first song's meter
        ml = _load(args, meter=songs[0][1].time_signature if songs else None)
    for pid, mel, style in songs:
        song = song_phrases(mel, ml.steps, meter=ml.meter)
        st = args.style if args.style is not None else (style if style in ml.styles else None)
        zs.append(ml.encode(song.phrases, st))
        for i in range(len(song.phrases)):
            rows.append({"file": pid, "start_bar": i * ml.bars, "style": style,
                         "meter": "{}/{}".format(*mel.time_signature)})
    if not rows:
        from musiclatent.cli.main import UserError

        raise UserError("no phrase could be encoded")
    from musiclatent.cli.common import write_latents

    write_latents(out, zs, rows)
    return 0


def cmd_demo(args) -> int:
    from demo.app import main as demo_main  # the app ships beside musiclatent (pyproject packages)

    argv = ["--host", args.host, "--port", str(args.port)] + (["--share"] if args.share else [])
    for model in args.model or []:
        argv += ["--model", model]
    return int(demo_main(argv) or 0)


def add_commands(sub) -> None:
    p = sub.add_parser("interpolate", help="morph song A into song B (any length, MIDI/ABC/MusicXML)",
                       description="Morph song A into song B. The morph takes A's tempo, instrument and meter: "
                                   "a waltz A is morphed by the 3/4 model and a jig A by the 6/8 model, and B is "
                                   "read in A's bars (B's notes keep their times; a B in another meter runs "
                                   "across those bar lines). The result is written in A's meter.")
    p.add_argument("a", help="song A")
    p.add_argument("b", help="song B")
    _common(p)
    _song_args(p)
    p.add_argument("--track-b", default=None, help="melody track of B, if different from --track")
    p.add_argument("--steps", type=int, default=5, help="interpolation steps, endpoints included (default 5)")
    p.add_argument("--keep-intro", action="store_true",
                   help="keep A's intro and B's outro (default: the morph starts where A's melody starts and "
                        "ends where B's melody ends)")
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("restyle", help="play a melody in another style")
    p.add_argument("input", help="a music file")
    _common(p)
    _song_args(p)
    p.add_argument("--strength", type=float, default=1.0, help="0 keeps the original, 1 moves fully (default 1)")
    p.add_argument("--source-style", default=None, help="style of the input (default: unconditioned)")
    _respect_args(p)
    p.set_defaults(func=cmd_restyle)

    p = sub.add_parser("vary", help="variations of a melody")
    p.add_argument("input", help="a music file")
    _common(p)
    _song_args(p)
    p.add_argument("--n", type=int, default=4, help="number of variations")
    p.add_argument("--similarity", type=float, default=0.8, help="0 (unrelated) .. 1 (identical)")
    _respect_args(p)
    p.set_defaults(func=cmd_vary)

    p = sub.add_parser("continue", help="continue a melody with new phrases, in a form where its opening returns")
    p.add_argument("input", help="a music file")
    _common(p)
    _song_args(p)
    p.add_argument("--n", type=int, default=4, help="number of new phrases (default 4)")
    p.add_argument("--similarity", type=float, default=0.9,
                   help="how close each new phrase stays to the one before: 0 (unrelated) .. 1 (repeat); default 0.9")
    p.add_argument("--form", default=None,
                   help="one letter per new phrase: A is the song's opening returning with a new cadence, B, C ... "
                        "new phrases that come back when repeated (default: B, BA, BBA, BBAA, ... for --n 1, 2, 3, "
                        "4, ...); 'walk' = a latent walk from the song's last phrase, nothing returning")
    p.set_defaults(func=cmd_continue)

    p = sub.add_parser("render", help="render a MIDI file to WAV with the bundled GM soundfont")
    p.add_argument("input")
    p.add_argument("output")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("encode", help="write latent means of every phrase to .npy with a CSV index")
    p.add_argument("inputs", nargs="+", help="files or folders")
    p.add_argument("--model", default=None, help="pretrained name or folder")
    p.add_argument("--out", required=True, help="output folder (latents.npy, index.csv)")
    p.add_argument("--style", default=None, help="encode under this style (default: folder style if known)")
    _song_args(p)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("demo", help="run the web app (http://127.0.0.1:7860)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="create a public Gradio share link (explicit opt-in)")
    p.add_argument("--model", action="append", default=None,
                   help="serve this model (pretrained name or run folder); repeatable (default: the shipped models)")
    p.set_defaults(func=cmd_demo)
