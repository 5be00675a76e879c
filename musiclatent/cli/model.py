"""Model subcommands: train, fit-prior, export-model and model-card."""

from __future__ import annotations

from pathlib import Path


def cmd_export_model(args) -> int:
    from musiclatent.models.refine import RefineSettings
    from musiclatent.training.ship import export_model

    if args.extras_only:
        from musiclatent.generation.facade import MusicLatent
        from musiclatent.training.ship import write_extras

        print(f"wrote {write_extras(MusicLatent.from_checkpoint(args.out), args.data, args.out)}")
        return 0
    card = Path(args.card).read_text() if args.card else ""
    out = export_model(args.run, args.data, args.out, card=card, extras=not args.scorer,
                       chord_strength=args.chord_strength, int8=args.int8,
                       refine=RefineSettings(args.refine_steps, args.refine_lr) if args.refine_steps else None)
    if args.scorer and not card:
        from musiclatent.generation.facade import MusicLatent
        from musiclatent.training.card import scorer_card
        from musiclatent.training.ship import scorer_heldout

        heldout = scorer_heldout(MusicLatent.from_checkpoint(out), args.data)
        export = f"musiclatent export-model {args.run} --data {args.data} --out {args.out} --scorer"
        commands = {"train": args.train_command, "export": export}
        (out / "README.md").write_text(scorer_card(out, heldout, args.data, {k: v for k, v in commands.items() if v}))
        print(f"held-out negative ELBO {heldout['elbo_per_step']:.3f} nats/step ({heldout['phrases']} phrases)")
    print(f"wrote {out}")
    return 0


def cmd_model_card(args) -> int:
    import json

    from musiclatent.training.card import model_card

    result = json.loads(Path(args.eval).read_text())
    commands = {"train": args.train_command, "export": args.export_command, "evaluate": args.eval_command}
    outside = json.loads(Path(args.outside_eval).read_text()) if args.outside_eval else None
    commands = {k: v for k, v in commands.items() if v}
    if json.loads((Path(args.folder) / "config.json").read_text())["model"].get("representation") == "drums":
        from musiclatent.evaluation.drum_card import drum_model_card

        text = drum_model_card(args.folder, result, args.data, commands)
    else:
        text = model_card(args.folder, result, args.run, args.data, commands, outside)
    (Path(args.folder) / "README.md").write_text(text)
    print(f"wrote {Path(args.folder) / 'README.md'}")
    return 0


def add_commands(sub) -> None:
    from musiclatent.presets import PRESETS

    p = sub.add_parser("train", help="train a model on a prepared dataset",
                       description="Train a style-conditioned recurrent VAE. Checkpoints (safetensors + JSON) "
                                   "are written atomically to OUT/checkpoint; --resume continues exactly. "
                                   "Run under `torchrun --nproc_per_node=N` for DistributedDataParallel.")
    p.add_argument("--data", required=True, help="dataset folder written by `musiclatent prepare`")
    p.add_argument("--preset", default="melody-2bar", choices=sorted(PRESETS), help="model/training preset")
    p.add_argument("--out", required=True, help="run folder (checkpoints, metrics.jsonl)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument("--steps", type=int, default=None, help="stop at this step (default: the preset's)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    p.add_argument("--bf16", dest="bf16", action="store_true", default=None, help="bf16 autocast (preset default)")
    p.add_argument("--no-bf16", dest="bf16", action="store_false", help="train in fp32")
    p.add_argument("--batch-size", type=int, default=None, help="override the preset's batch size")
    p.add_argument("--init-from", default=None, metavar="MODEL",
                   help="start from these weights (run folder, model folder or pretrained name) "
                        "with a fresh optimizer: fine-tuning")
    p.add_argument("--dropout", type=float, default=None, metavar="P",
                   help="decoder dropout in [0, 1) (default: the preset's); adds no weights, so a fine-tune "
                        "may switch it on")
    p.add_argument("--base-model", default=None, metavar="MODEL",
                   help="latent-seq presets: the frozen 2-bar chunk model (default: the preset's; it must be "
                        "measured in the dataset's meter, e.g. melody-2bar-3-4 for a --model-meter 3/4 dataset)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a training setting, e.g. --set free_bits=96 --set lr=5e-4 (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("fit-prior", help="fit a model's style prior (where each style's latents live)",
                       description="Encode the training split of --data under style 'any', fit a Gaussian per "
                                   "style to the latents and a latent critic that tells the styles apart, and "
                                   "write them beside the model as prior.safetensors + prior.json. sample, "
                                   "restyle, vary, continue and the app then draw z where the asked style lives "
                                   "(without a prior: N(0, I)). export-model does this for you; run it after "
                                   "a fine-tune or on an older model folder.")
    p.add_argument("model", help="model folder, run folder or pretrained name (the prior is written into it)")
    p.add_argument("--data", required=True, help="the dataset the model was trained on")
    p.add_argument("--components", type=int, default=1, metavar="K",
                   help="Gaussian mixture components per style, at most (default 1)")
    p.add_argument("--gamma", type=float, default=None, metavar="G",
                   help="critic sharpness: samples kept with probability ~ p(style | z)^G (default 3; 0: no critic)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.set_defaults(func=cmd_fit_prior)

    try:
        from musiclatent.cli import generate as cli_generate
    except ImportError:  # pragma: no cover - during bootstrapping
        return
    from musiclatent.cli import sample as cli_sample

    cli_sample.add_sample(sub, cli_generate._common)
    cli_generate.add_commands(sub)

    p = sub.add_parser("export-model", help="turn a training run into a shippable model folder")
    p.add_argument("run", help="training run folder")
    p.add_argument("--data", required=True, help="the dataset it was trained on (for attribute vectors)")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--card", default=None, help="markdown model card to include")
    p.add_argument("--extras-only", action="store_true",
                   help="only recompute attribute vectors and style means of the model already in --out")
    p.add_argument("--scorer", action="store_true",
                   help="the run is a density-trained model for typicality scores (a fine-tuned twin or a scorer "
                        "preset): --out is MODEL/scorer, no "
                        "attribute vectors, and the card is written from its held-out ELBO on --data")
    p.add_argument("--train-command", default="", help="with --scorer: the exact training command, for the card")
    p.add_argument("--chord-strength", type=float, default=None,
                   help="a chord model with a chord-tone head: its default strength when sampling over chords "
                        "(1 = as trained, more = more chord tones; stored in config.json; default 1)")
    p.add_argument("--int8", action="store_true",
                   help="store large weight matrices as int8 with a scale per row (about half the size of fp16; "
                        "compare the result with benchmarks/compare_models.py before shipping it)")
    p.add_argument("--refine-steps", type=int, default=0, metavar="N",
                   help="encode refines the encoder's latent by N gradient steps on the decoder, so music the "
                        "encoder never saw comes back whole (about 3 ms per step and phrase; stored in "
                        "config.json; default 0 = off)")
    p.add_argument("--refine-lr", type=float, default=0.1, help="with --refine-steps: the step size (default 0.1)")
    p.set_defaults(func=cmd_export_model)

    p = sub.add_parser("model-card", help="write a model folder's README.md from its evaluation JSON")
    p.add_argument("folder", help="model folder (written by export-model)")
    p.add_argument("--eval", required=True, help="JSON written by `musiclatent evaluate --json`")
    p.add_argument("--run", required=True, help="the training run folder")
    p.add_argument("--data", required=True, help="the dataset it was trained on")
    p.add_argument("--train-command", default="", help="the exact training command, for the card")
    p.add_argument("--export-command", default="", help="the exact export command, for the card")
    p.add_argument("--eval-command", default="", help="the exact evaluation command, for the card")
    p.add_argument("--outside-eval", default=None,
                   help="JSON of `musiclatent evaluate` on music outside the training corpus (e.g. data/outside)")
    p.set_defaults(func=cmd_model_card)



def cmd_train(args) -> int:
    from musiclatent.cli.main import UserError
    from musiclatent.training.loop import train

    try:
        overrides = parse_settings(args.set)
        if args.batch_size:
            overrides["batch_size"] = args.batch_size
        last = train(args.data, args.preset, args.out, resume=args.resume, max_steps=args.steps,
                     threads=args.threads, bf16=args.bf16, progress=not args.quiet, overrides=overrides,
                     init_from=args.init_from, dropout=args.dropout, base_model=args.base_model)
    except (KeyError, ValueError) as err:
        raise UserError(str(err).strip("'\"")) from None
    keys = ("step", "val_acc_teacher_forced", "val_acc_sampled", "val_kl_bits", "val_nll_per_step")
    print(" ".join(f"{k}={last[k]:.4g}" if isinstance(last.get(k), float) else f"{k}={last.get(k)}" for k in keys))
    return 0


def cmd_fit_prior(args) -> int:
    import sys

    from musiclatent.cli.main import UserError
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.training.prior_fit import DEFAULT_GAMMA, write_model_prior

    if args.components < 1:
        raise UserError("--components must be at least 1")
    try:
        ml = MusicLatent.load(args.model)
        path = write_model_prior(ml, args.data, ml.folder, components=args.components,
                                 gamma=DEFAULT_GAMMA if args.gamma is None else args.gamma, seed=args.seed,
                                 log=lambda msg: print(msg, file=sys.stderr, flush=True))
    except (FileNotFoundError, ValueError) as err:
        raise UserError(str(err)) from None
    print(f"wrote {path.with_suffix('.safetensors')} and {path}")
    return 0


def parse_settings(items: list[str]) -> dict:
    """``["free_bits=96", "lr=5e-4"]`` -> typed TrainConfig overrides; unknown keys are a ValueError."""
    import dataclasses

    from musiclatent.config import TrainConfig

    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(fields))}")
        kind = type(getattr(TrainConfig(), key))
        try:
            out[key] = value.strip().lower() in ("1", "true", "yes") if kind is bool else kind(value)
        except ValueError:
            raise ValueError(f"--set {item!r}: {value!r} is not a {kind.__name__}") from None
    return out
