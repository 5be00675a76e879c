"""``musiclatent`` command line: thin wrappers that parse arguments and call the library.

User mistakes (bad files, unknown styles, missing folders) print one line on
stderr and exit with status 2; they never print a traceback.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from musiclatent.midi.io import MusicReadError


class UserError(Exception):
    """A mistake in what the user asked for; printed without a traceback."""


def _add_prepare(sub):
    p = sub.add_parser("prepare", help="turn music files (or the built-in corpus) into a phrase dataset",
                       description="Extract melodies from MIDI/ABC/MusicXML/**kern files, cut them into "
                                   "N-bar phrases and write a sharded dataset folder with manifest.json. "
                                   "Re-running resumes an interrupted run.")
    p.add_argument("inputs", nargs="*", help="files or folders; in a folder, the first sub-folder name is the style")
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument("--bars", type=int, default=2, choices=[2, 4, 8, 16], help="phrase length in bars (default 2; 4/4 bars unless --model-meter)")
    p.add_argument("--workers", type=int, default=2, help="parallel worker processes (default 2)")
    p.add_argument("--track", default=None, help="force the melody track by index or name (default: automatic)")
    p.add_argument("--corpus", choices=["music21", "openewld", "chord-melody", "groove"], default=None,
                   action="append",
                   help="also use a bundled corpus: music21 (melodies, 6 styles), openewld (lead sheets with chords, "
                        "style 'standards'), chord-melody (lead sheets with chords, style 'jazz-pop') or groove "
                        "(the Groove MIDI Dataset's drums; implies --drums); repeat it to join melody corpora, "
                        "e.g. --corpus music21 --corpus openewld --corpus chord-melody")
    p.add_argument("--drums", action="store_true",
                   help="read drum parts (MIDI channel 10) into 2-bar groove windows instead of melodies")
    p.add_argument("--all-meters", action="store_true",
                   help="also keep 3/4, 6/8, 9/8, 12/8, ... (read across their bar lines; default: duple only, "
                        "as the bundled models were trained)")
    p.add_argument("--model-meter", default="4/4", metavar="M",
                   help="measure phrases in bars of this meter, for a model of it: 4/4 (default), 3/4 (waltzes), "
                        "6/8 (jigs; 3/8 and 12/8 tunes are read in 6/8 bars) or 9/8 (slip jigs)")
    p.add_argument("--meter", default=None, metavar="N/D",
                   help="read every input in this meter, bars laid from its first bar line (default: the "
                        "declared meter, or one inferred from the notes when a file declares none or 1/4)")
    p.add_argument("--no-expand-repeats", dest="expand_repeats", action="store_false",
                   help="read ABC/MusicXML/**kern scores as written: default is as played, repeat signs, "
                        "first/second endings and D.C./D.S. written out (with the bars a repeat splits "
                        "joined), so a long phrase can span a tune's repeated sections; MIDI is read as it is")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_prepare)


def parse_meter(text: str) -> tuple[int, int]:
    """'6/8' -> (6, 8), or a UserError naming the text."""
    try:
        num, den = (int(v) for v in str(text).strip().split("/"))
    except ValueError:
        raise UserError(f"meter {text!r}: write it as N/D, e.g. 3/4 or 6/8") from None
    if num <= 0 or den <= 0 or den & (den - 1):
        raise UserError(f"meter {text!r} is not a time signature")
    return num, den


def cmd_prepare(args) -> int:
    from musiclatent.data.prepare import prepare

    if not args.inputs and not args.corpus:
        raise UserError("give input files/folders or --corpus music21 (or openewld, chord-melody, groove)")
    command = "musiclatent " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    corpora = list(dict.fromkeys(args.corpus or []))
    if "groove" in corpora and len(corpora) > 1:
        raise UserError("--corpus groove (drums) does not join the melody corpora")
    if args.drums or corpora == ["groove"]:
        from musiclatent.data.drums import prepare_drums

        manifest = prepare_drums(args.inputs, args.out, bars=args.bars, corpus=corpora[0] if corpora else None,
                                 command=command)
    else:
        from musiclatent.midi.melody import MODEL_METERS

        meter = parse_meter(args.model_meter)
        if meter not in MODEL_METERS:
            raise UserError(f"--model-meter {args.model_meter}: models are measured in "
                            + ", ".join(f"{n}/{d}" for n, d in MODEL_METERS) + " bars")
        if meter != (4, 4) and args.all_meters:
            raise UserError("--all-meters reads every meter as 4/4 phrases; leave it out with --model-meter")
        manifest = prepare(args.inputs, args.out, bars=args.bars, workers=args.workers, track=args.track,
                           corpus=corpora or None, progress=not args.quiet, command=command,
                           all_meters=args.all_meters, meter=meter,
                           force_meter=parse_meter(args.meter) if args.meter else None,
                           expand_repeats=args.expand_repeats)
    skipped = manifest["files_skipped"]
    print(f"{manifest['files_ok']} pieces -> {manifest['phrases']} phrases of {manifest['bars']} bars "
          f"({manifest['phrases_validation']} validation, {manifest.get('phrases_test', 0)} test) in {args.out}")
    for style, n in manifest["styles"].items():
        print(f"  {style:12s} {n:8d}")
    if manifest.get("phrases_with_chords"):
        print(f"  chords: {manifest['phrases_with_chords']} phrases with a chord (" + ", ".join(
            f"{s} {c['half_bars_with_chord']:.0%} of half bars" for s, c in manifest["chord_coverage"].items()
            if c["phrases_with_chords"]) + ")")
    if manifest.get("repeats"):
        print("  repeats: " + ", ".join(f"{k} {n}" for k, n in manifest["repeats"].items()))
    if len(manifest.get("meters", {})) > 1:
        print("  meters: " + ", ".join(f"{m} {n}" for m, n in manifest["meters"].items()))
    if skipped:
        print(f"{len(skipped)} skipped (reasons in manifest.json), e.g.:")
        for s in skipped[:5]:
            print(f"  {s['path']}: {s['reason']}")
    if manifest["phrases"] == 0:
        reasons = sorted({s["reason"] for s in skipped})[:5]
        print("no phrase was written: " + ("; ".join(reasons) if reasons else "no input"), file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musiclatent", description="Learn, explore and play a latent space of melodies.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_prepare(sub)
    import importlib

    for name in ("model", "evaluate", "latent"):  # each registers its subcommands
        try:
            module = importlib.import_module(f"musiclatent.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"musiclatent.cli.{name}":
                raise
            continue
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, MusicReadError, FileNotFoundError, ValueError) as err:
        print(f"musiclatent {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
