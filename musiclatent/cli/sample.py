"""``musiclatent sample``: new melodies from the prior, in a meter, over a chord progression."""

from __future__ import annotations

from musiclatent.cli.generate import _drums, _finish, _load, _parse_attrs


def cmd_sample(args) -> int:
    from musiclatent.generation import studio

    meter = _sample_meter(args)
    chords = _progression(args)
    if chords is not None and args.model is None and meter in (None, (4, 4)):
        from musiclatent.constants import PRETRAINED_DIR

        if (PRETRAINED_DIR / CHORD_MODEL / "model.safetensors").exists():
            args.model = CHORD_MODEL        # the shipped model that plays over chords
    ml = _load(args, args.bars, meter)
    if (done := _drums(ml, args, "sample")) is not None:
        return done
    if chords is not None and ml.steps_per_bar != 16:
        from musiclatent.cli.main import UserError

        raise UserError(f"--chords: chords sound on half bars of 4/4; {ml.name} writes bars of "
                        "{}/{}".format(*ml.meter))
    if args.chord_strength is not None:
        _set_chord_strength(ml, args.chord_strength)
    if meter is not None and ml.representation.name == "melody":
        from musiclatent.generation.meters import meter_text, shipped_meters

        model_meter = pretrained_meter(ml)
        if model_meter != meter and not (meter in ((2, 4), (2, 2)) and model_meter == (4, 4)):
            from musiclatent.cli.main import UserError

            raise UserError(f"--meter {meter_text(meter)}: {ml.name} is measured in {meter_text(model_meter)} bars; "
                            f"the shipped models sample {', '.join(meter_text(m) for m in shipped_meters())}")
    res = studio.sample(ml, n=args.n, bars=args.bars, style=args.style,
                        temperature=0.5 if args.temperature is None else args.temperature, seed=args.seed,
                        attributes=_parse_attrs(args.attr), qpm=args.tempo, program=args.program,
                        velocity=args.velocity, time_signature=meter, chords=chords,
                        chords_per_bar=args.chords_per_bar, chord_program=args.chord_program, form=args.form)
    return _finish(res, args, "sample")


CHORD_MODEL = "melody-2bar-chords"


def _progression(args):
    """sample's --chords as chord ids, or None; a bad symbol is a UserError that names it."""
    from musiclatent.cli.main import UserError
    from musiclatent.representations.chords import ChordError, parse_progression

    if not args.chords:
        return None
    try:
        return parse_progression(args.chords)
    except ChordError as err:
        raise UserError(f"--chords {args.chords!r}: {err}") from None


def _set_chord_strength(ml, strength: float) -> None:
    from musiclatent.cli.main import UserError
    from musiclatent.models.vae import check_chord_strength

    if not getattr(ml.cfg, "chord_tones", False):
        raise UserError(f"--chord-strength: {ml.name} has no chord-tone head (use it with --chords and {CHORD_MODEL})")
    try:
        ml.chord_strength = check_chord_strength(strength)
    except ValueError as err:
        raise UserError(f"--chord-strength: {err}") from None


def pretrained_meter(ml) -> tuple[int, int]:
    return tuple(int(v) for v in ml.meter)


def _sample_meter(args):
    from musiclatent.cli.main import UserError, parse_meter
    from musiclatent.generation.meters import meter_text, shipped_meters

    if args.meter is None:
        return None
    meter = parse_meter(args.meter)
    if args.model is None and meter not in shipped_meters() and meter not in ((2, 4), (2, 2)):
        raise UserError(f"--meter {meter_text(meter)}: the shipped models sample "
                        f"{', '.join(meter_text(m) for m in shipped_meters())} (plus 2/4 and 2/2 in 4/4's bars)")
    return meter


def add_sample(sub, common) -> None:
    p = sub.add_parser("sample", help="draw new melodies from the prior")
    common(p)
    p.add_argument("--n", type=int, default=4, help="number of melodies (default 4)")
    p.add_argument("--bars", type=int, default=None,
                   help="length in bars: 2 or 16 pick the model; longer pieces have form (see --form) or chain "
                        "phrases (default: the model's)")
    p.add_argument("--form", default=None, metavar="LETTERS",
                   help="form of pieces longer than the model's phrase, one letter a section: AABB, AABA, ... "
                        "(default: 24 bars AAB, 32 AABB, 48 AABBCC, 64 AABA, when the sections fit in the "
                        "model's phrase), or 'walk' for a chain of phrases along a latent walk")
    p.add_argument("--meter", default=None, metavar="N/D",
                   help="meter of the melodies: 4/4 (default), 3/4 (a waltz model) or 6/8 (a jig model); "
                        "2/4 and 2/2 are written from 4/4 phrases")
    p.add_argument("--chords", default=None, metavar="PROGRESSION",
                   help='a chord progression repeated over the bars, one chord a bar, e.g. "C G Am F" or '
                        '"Dm7 G7 Cmaj7 Cmaj7" (spellings: C, Am, G7, F#m7b5, Bbmaj7, Dsus4, N.C.); the melodies are '
                        f"played over it by the {CHORD_MODEL} model and every MIDI file gets a chord track")
    p.add_argument("--chords-per-bar", type=int, default=1, choices=[1, 2],
                   help="chords of the progression per bar: 1 (default) or 2 (one per half bar)")
    p.add_argument("--chord-program", type=int, default=0, metavar="P",
                   help="General MIDI program of the chord track (default 0, piano)")
    p.add_argument("--chord-strength", type=float, default=None, metavar="S",
                   help="how closely the melody keeps to the chord tones, 0 to 8 (default: the model's, set when "
                        "it was shipped; 1 = as trained, more = more chord tones on the beats)")
    p.set_defaults(func=cmd_sample)
