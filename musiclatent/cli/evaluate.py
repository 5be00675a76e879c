"""``musiclatent evaluate``: parse arguments, call :mod:`musiclatent.evaluate`, print and save."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from musiclatent.evaluation.settings import SECTIONS, EvalSettings

DESCRIPTION = """\
Measure a model the way the field does: reconstruction accuracy (teacher-forced and
sampled, overall and per style, note-on steps alone), NLL, KL and active latent
dimensions; MGEval-style realism of prior samples against real phrases; smoothness
of latent interpolations against a data-space baseline; and style control judged
by a style classifier. --data takes a prepared dataset or a raw folder of
MIDI/ABC/MusicXML, prepared on the fly with the model's phrase length.

The style classifier is --classifier PATH if given, else the one shipped beside the
model (classifier.json + classifier.safetensors), else one trained now on the
training split of --data (well under a minute); --save-classifier DIR keeps it.
A second judge of another kind, softmax regression on hand-made features (pitch
class, interval, note length and onset-position histograms, density, range,
register), is fitted on the training split of --data every time. Per style, the
style section reports both judges' accuracy on conditioned samples over their
accuracy on held-out real phrases, the samples' diversity (mean pairwise feature
distance over that of real phrases) and MGEval overlap with real phrases, and
held-out phrases restyled at strength 1: judged the target style, onset
agreement and contour correlation with the source.
"""

EPILOG = """\
examples:
  musiclatent evaluate --model melody-2bar --data data/melody-2bar --json eval.json
  musiclatent evaluate --model runs/melody-2bar --data data/melody-2bar --max-phrases 256 --samples 256
  musiclatent evaluate --model melody-16bar --data my_midi_folder/
  musiclatent evaluate --model melody-2bar --data data/melody-2bar --train-classifier \\
      --save-classifier musiclatent/pretrained/melody-2bar
"""


def _jsonable(x):
    """NaN/inf -> None, numpy scalars -> Python numbers, recursively."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def add_commands(sub) -> None:
    import argparse

    d = EvalSettings()
    p = sub.add_parser("evaluate", help="reconstruction, realism, interpolation and style metrics of a model",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True,
                   help="pretrained name (melody-2bar, melody-16bar), model folder or run folder")
    p.add_argument("--data", required=True,
                   help="prepared dataset folder, or a folder/file of music to prepare on the fly")
    p.add_argument("--json", default=None, metavar="OUT", help="write the full result as JSON here")
    p.add_argument("--split", default=d.split, choices=["auto", "validation", "train", "test", "all"],
                   help="phrases to evaluate (default auto: the validation split if there is one, else all; "
                        "for drum models the test split if there is one)")
    p.add_argument("--max-phrases", type=int, default=d.max_phrases, metavar="N",
                   help="reconstruction on a random N phrases of the split (default 0: all)")
    p.add_argument("--samples", type=int, default=d.samples, metavar="N",
                   help=f"realism: N prior samples against N real phrases (default {d.samples})")
    p.add_argument("--temperature", type=float, default=d.temperature, metavar="T",
                   help=f"temperature of prior samples for realism and style (default {d.temperature:g})")
    p.add_argument("--pairs", type=int, default=d.pairs, metavar="M", help=f"interpolation pairs (default {d.pairs})")
    p.add_argument("--interp-steps", type=int, default=d.interp_steps, metavar="K",
                   help=f"interpolation steps; a path has K+1 points (default {d.interp_steps})")
    p.add_argument("--style-samples", type=int, default=d.style_samples, metavar="N",
                   help=f"conditioned prior samples per style (default {d.style_samples})")
    p.add_argument("--restyle-phrases", type=int, default=d.restyle_phrases, metavar="N",
                   help=f"held-out phrases restyled at strength 1 (default {d.restyle_phrases})")
    p.add_argument("--skip", action="append", default=[], choices=SECTIONS, help="leave out a section (repeatable)")
    p.add_argument("--classifier", default=None, metavar="PATH", help="style classifier folder (or its .json)")
    p.add_argument("--train-classifier", action="store_true",
                   help="train a new style classifier on the training split even if the model ships one")
    p.add_argument("--save-classifier", default=None, metavar="DIR",
                   help="save the classifier trained now as DIR/classifier.safetensors + classifier.json")
    p.add_argument("--classifier-steps", type=int, default=None, metavar="N",
                   help="classifier training steps (default 500)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"model batch size (default {d.batch_size})")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (same seed, same numbers)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--workers", type=int, default=1, help="worker processes when preparing a raw folder (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=cmd_evaluate)


def _evaluate_drums(ml, args, settings, log) -> int:
    """A drum model: the sections of :mod:`musiclatent.evaluation.drums`."""
    from musiclatent.evaluation.drums import evaluate_drums, format_drum_table, load_drum_eval_data

    result = evaluate_drums(ml, load_drum_eval_data(args.data, ml.bars), settings, log=log)
    result["model"]["source"], result["data"]["source"] = args.model, args.data
    print(format_drum_table(result))
    if args.json:
        _write_json(Path(args.json), result, log)
    return 0


def cmd_evaluate(args) -> int:
    import dataclasses

    import torch

    from musiclatent.evaluation.classifier import ClassifierTraining, save_classifier
    from musiclatent.cli.main import UserError
    from musiclatent.evaluation.report import format_table
    from musiclatent.evaluation.evaluate import evaluate, load_eval_data, model_style_ids, obtain_classifier
    from musiclatent.generation.facade import MusicLatent

    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in ("max_phrases", "samples", "pairs", "style_samples", "restyle_phrases"):
        if getattr(args, name) < 0:
            raise UserError(f"--{name.replace('_', '-')} must not be negative")
    if args.batch_size < 1 or args.interp_steps < 1:
        raise UserError("--batch-size and --interp-steps must be at least 1")
    if args.save_classifier and args.classifier:
        raise UserError("--save-classifier saves a classifier trained now; it cannot be combined with --classifier")
    sections = tuple(s for s in SECTIONS if s not in args.skip)
    settings = EvalSettings(split=args.split, max_phrases=args.max_phrases, samples=args.samples,
                            temperature=args.temperature, pairs=args.pairs, interp_steps=args.interp_steps,
                            style_samples=args.style_samples, restyle_phrases=args.restyle_phrases,
                            batch_size=args.batch_size, seed=args.seed, sections=sections)
    try:
        ml = MusicLatent.load(args.model)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(str(err)) from None
    log(f"loading data from {args.data} ...")
    if ml.representation.name == "drums":
        return _evaluate_drums(ml, args, settings, log)
    data = load_eval_data(args.data, ml.bars, workers=args.workers, meter=ml.meter)
    classifier = None
    if "style" in sections or args.save_classifier:
        training = ClassifierTraining(seed=args.seed)
        if args.classifier_steps is not None:
            training = dataclasses.replace(training, steps=args.classifier_steps)
        retrain = args.train_classifier or bool(args.save_classifier)
        if retrain or args.classifier is None:
            log("style classifier ...")
        classifier = obtain_classifier(ml, data, model_style_ids(ml, data), path=args.classifier,
                                       retrain=retrain, training=training)
        if args.save_classifier and classifier[0] is None:
            raise UserError(f"no classifier to save: {classifier[1].get('reason')}")
    result = evaluate(ml, data, settings, classifier=classifier, log=log)
    result["model"]["source"] = args.model
    result["data"]["source"] = args.data
    if args.save_classifier:
        info = dict(classifier[1])
        real = result.get("style", {}).get("real")
        if real:
            info["heldout"] = {k: real[k] for k in ("accuracy", "balanced_accuracy", "phrases")}
        info.update(source=None, trained_now=None, data=args.data, model=args.model)
        path = save_classifier(classifier[0], args.save_classifier, {k: v for k, v in info.items() if v is not None})
        log(f"saved the style classifier to {path.parent}")
    print(format_table(result))
    if args.json:
        _write_json(Path(args.json), result, log)
    return 0


def _write_json(out: Path, result: dict, log) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_jsonable(result), indent=2, allow_nan=False) + "\n")
    log(f"wrote {out}")
