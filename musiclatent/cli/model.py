"""Model subcommands: train and fit-prior (more are registered by :mod:`musiclatent.cli.generate`)."""

from __future__ import annotations


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
    cli_generate.add_commands(sub)


def cmd_train(args) -> int:
    from musiclatent.cli.main import UserError
    from musiclatent.training.loop import train

    try:
        overrides = parse_settings(args.set)
        if args.batch_size:
            overrides["batch_size"] = args.batch_size
        last = train(args.data, args.preset, args.out, resume=args.resume, max_steps=args.steps,
                     threads=args.threads, bf16=args.bf16, progress=not args.quiet, overrides=overrides,
                     init_from=args.init_from, dropout=args.dropout)
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
