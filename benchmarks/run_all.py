"""Run every benchmark and the evaluation of both shipped models; write benchmarks/RESULTS.md.

Each benchmark script that exists in benchmarks/ runs in its own process
(a crash in one does not stop the others; a missing one is noted and skipped).
When its ``main()`` returns a dict, the figures in it are collected; the text
it prints is kept verbatim at the end of RESULTS.md. ``musiclatent evaluate``
runs on each shipped model against its bundled dataset and writes
``benchmarks/results/eval-<model>.json``.

RESULTS.md holds the machine, the date, one table of figures with the ratio
to the reference where there is one (Magenta's training speed, the project's
speed goals, and the quality targets of the evaluation issue), a quality table
per model, and the raw output.

    .venv/bin/python benchmarks/run_all.py                 # everything (tens of minutes on 2 cores)
    .venv/bin/python benchmarks/run_all.py --quick         # fewer repeats and smaller evaluations
    .venv/bin/python benchmarks/run_all.py --only evaluate --only train_speed

With ``--only``, the figures and raw output of benchmarks not run this time are
kept from the existing RESULTS.md (a note says from when).

A table, never an assertion.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _common import machine  # noqa: E402

MODELS = {"melody-2bar": "data/melody-2bar", "melody-16bar": "data/melody-16bar"}

# run name -> (arguments, arguments with --quick, writes its numbers with --json, needs shipped melody-2bar);
# a run name is the script's file name, optionally followed by a space and a label (one script, two runs)
SCRIPTS = {
    "prepare_speed": ([], ["--files", "20", "--repeats", "1"], False, False),
    "train_speed": ([], ["--steps", "3"], False, False),
    "generate_speed": ([], ["--repeats", "3"], False, False),
    "demo_speed": ([], ["--repeats", "3"], False, False),
    "anomaly_auroc": (["--outside", "data/outside"], ["--n", "300", "--per-style", "50"], True, True),
    "anomaly_auroc melody-16bar": (["--model", "melody-16bar", "--data", "data/melody-16bar", "--n", "500",
                                    "--reference", "2000", "--per-style", "50", "--tunes", "100",
                                    "--outside", "data/outside"],
                                   ["--model", "melody-16bar", "--data", "data/melody-16bar", "--n", "200",
                                    "--reference", "1000", "--per-style", "20", "--tunes", "50"], True, True),
    "load_web": ([], ["--clients", "4", "--requests", "2"], False, False),
    "fuzz_long": ([], ["--cases", "1000"], False, False),
}
EVAL_QUICK = ["--max-phrases", "1000", "--samples", "256", "--pairs", "32", "--style-samples", "32",
              "--restyle-phrases", "128"]

# quality targets (issue 6): metric path in the evaluate JSON -> {model: target}; all "higher is better"
QUALITY = [
    ("sampled reconstruction accuracy", ("recon_accuracy_sampled", "overall"),
     {"melody-2bar": 0.95, "melody-16bar": 0.85}),
    ("teacher-forced reconstruction accuracy", ("recon_accuracy_teacher_forced", "overall"), {}),
    ("sampled accuracy on note-ons", ("recon_accuracy_sampled_notes", "overall"), {}),
    ("NLL per step (nats)", ("nll_per_step",), {}),
    ("KL (bits)", ("kl_bits",), {}),
    ("active latent dims", ("active_dims",), {}),
    ("mean realism overlap area", ("realism", "overlap_area"), {"melody-2bar": 0.9, "melody-16bar": 0.9}),
    ("interpolation monotonicity", ("interpolation", "monotonicity"), {"melody-2bar": 0.95, "melody-16bar": 0.95}),
    ("interpolation max jump", ("interpolation", "max_jump"), {}),
    ("interpolation linearity error", ("interpolation", "linearity_error"), {}),
    ("data-space monotonicity (baseline)", ("interpolation", "data_space", "monotonicity"), {}),
    ("classifier accuracy, held-out real", ("style", "real", "accuracy"), {}),
    ("classifier balanced accuracy, held-out real", ("style", "real", "balanced_accuracy"), {}),
    ("style accuracy, conditioned samples", ("style", "conditioned", "accuracy"), {}),
    ("conditioned / balanced real accuracy", ("style", "conditioned_to_real"),
     {"melody-2bar": 0.9, "melody-16bar": 0.9}),
    ("style accuracy, restyled at strength 1", ("style", "restyled", "accuracy"), {}),
]

PER_STYLE = [("sampled reconstruction accuracy", ("recon_accuracy_sampled", "per_style")),
             ("style accuracy, conditioned samples", ("style", "conditioned", "per_style")),
             ("classifier accuracy, held-out real", ("style", "real", "per_style"))]

# generate_speed goals in ms (lower is better)
GENERATE_GOALS = {"decode_1_melody-16bar_ms": 50.0, "interpolate_16bar_8steps_melody-2bar_ms": 1000.0,
                  "interpolate_16bar_8steps_melody-16bar_ms": 1000.0, "render_16bar_ms": 500.0}

WRAPPER = """
import json, sys
sys.path.insert(0, {here!r}); sys.argv = [{name!r}] + {argv!r}
import {name} as m
r = m.main({argv!r})
if isinstance(r, dict):
    json.dump(r, open({out!r}, "w"), default=float)
"""


def run_script(name: str, argv: list[str], timeout: float, json_flag: bool = False) -> dict:
    """Run benchmarks/<name>.py's main(argv) in a fresh process: {ok, seconds, output, result}.

    The result is main()'s return value when it is a dict, else (with ``json_flag``) what the
    script wrote to ``--json``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        if json_flag:
            argv = argv + ["--json", str(Path(tmp) / "script.json")]
        code = WRAPPER.format(here=str(HERE), name=name.split()[0], argv=argv, out=str(out))
        t0 = time.time()
        try:
            proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                  timeout=timeout)
            ok, text = proc.returncode == 0, proc.stdout + (proc.stderr[-3000:] if proc.returncode else "")
        except subprocess.TimeoutExpired:
            ok, text = False, f"(timed out after {timeout:.0f} s)"
        result = {}
        for path in (out, Path(tmp) / "script.json"):
            if path.exists():
                result = json.loads(path.read_text())
    return {"ok": ok, "seconds": round(time.time() - t0, 1), "output": text.strip(), "result": result}


def run_evaluate(model: str, data: str, out: Path, extra: list[str], timeout: float) -> dict:
    cmd = [sys.executable, "-m", "musiclatent.cli.main", "evaluate", "--model", model, "--data", data, "--json", str(out),
           "--quiet", *extra]
    t0 = time.time()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        ok, text = proc.returncode == 0, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        ok, text = False, f"(timed out after {timeout:.0f} s)"
    result = json.loads(out.read_text()) if ok and out.exists() else {}
    command = "musiclatent evaluate " + " ".join(cmd[4:])
    return {"ok": ok, "seconds": round(time.time() - t0, 1), "output": text.strip(), "result": result,
            "command": command}


# --------------------------------------------------------------------------- figures

def figures(name: str, result: dict, output: str) -> list[tuple]:
    """(benchmark, figure, value, unit, reference, ratio, better) rows from one script's result."""
    rows = []
    if name == "train_speed":
        for key, v in result.items():
            if isinstance(v, dict) and "bf16" in v:
                ref = v.get("magenta")
                for prec in ("fp32", "bf16"):
                    rows.append((name, f"train {key} {prec}", v[prec], "seq/s", ref, "higher"))
    elif name == "prepare_speed":
        for key, v in result.items():
            rows.append((name, key, v, "files/s", 50.0 if key.endswith("_2w") else None, "higher"))
    elif name == "generate_speed":
        for key, v in result.items():
            rows.append((name, key, v, "ms", GENERATE_GOALS.get(key), "lower"))
    elif name == "demo_speed":
        m = re.search(r"round trip with downloads: ([0-9.]+) s median", output)
        if m:
            rows.append((name, "Generate 4 x 2-bar with audio, round trip", float(m.group(1)), "s", 1.5, "lower"))
    elif name.split()[0] == "anomaly_auroc":
        for r in result.get("anomaly", []):
            what = r["corruption"] + ("" if r.get("in_mix", True) else " (not in the mix)")
            rows.append((name, f"AUROC {what}, typicality (matched ELBO + local)", r["auroc_typicality"], "", 0.95,
                         "higher"))
            rows.append((name, f"AUROC {what}, note-count-matched ELBO alone", r["auroc_matched"], "", 0.95, "higher"))
            rows.append((name, f"AUROC {what}, raw ELBO", r["auroc"], "", 0.95, "higher"))
        for r in result.get("anomaly_outside", []):
            what = r["corruption"] + ("" if r.get("in_mix", True) else " (not in the mix)")
            for key, label in (("auroc_typicality", "typicality"), ("auroc_matched", "matched ELBO alone")):
                rows.append((name, f"AUROC {what}, real phrases from outside the corpus, {label}", r[key], "", 0.95,
                             "higher"))
        for r in result.get("anomaly_generator", []):
            rows.append((name, f"AUROC {r['corruption']}, generator's own ELBO, typicality", r["auroc_typicality"], "",
                         0.95, "higher"))
        for r in result.get("tunes", []):
            rows.append((name, f"file-level AUROC {r['corruption']}", r["auroc"], "", 0.95, "higher"))
        for r in result.get("calibration", []):
            what = f"{r['phrases']}, {r.get('statistic', 'typicality')}, ranked among {r['ranked_among']}"
            rows.append((name, f"median percentile of {what}", r["median_percentile"], "%", 50.0, ""))
            rows.append((name, f"share at or above the 95th percentile of {what}", r["share_at_95"], "", 0.05, ""))
    else:
        for key, v in result.items():
            if isinstance(v, (int, float)):
                rows.append((name, key, v, "", None, ""))
    return rows


def _get(d: dict, path: tuple):
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def _ratio(value, ref, better) -> str:
    if value is None or not ref:
        return "-"
    r = value / ref
    return f"{r:.2f}x" + (" (lower is better)" if better == "lower" else "")


def quality_table(evals: dict) -> list[str]:
    names = list(evals)
    lines = ["| metric | " + " | ".join(f"`{n}`" for n in names) + " | target |",
             "|---|" + "---|" * len(names) + "---|"]
    for label, path, targets in QUALITY:
        cells = []
        for n in names:
            v = _get(evals[n].get("result", {}), path)
            t = targets.get(n)
            mark = "" if v is None or t is None else (" ✓" if v >= t else " ✗")
            cells.append(_fmt(v) + mark)
        target = " / ".join(f"≥ {targets[n]:g}" for n in names if n in targets) or "-"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    # per style: sampled reconstruction and style accuracy of conditioned samples
    for label, path in PER_STYLE:
        styles = []
        for n in names:
            styles += [s for s in (_get(evals[n].get("result", {}), path) or {}) if s not in styles]
        for style in styles:
            cells = [_fmt((_get(evals[n].get("result", {}), path) or {}).get(style)) for n in names]
            lines.append(f"| {label}, {style} | " + " | ".join(cells) + " | - |")
    return lines


def previous_results(path: Path, ran: set[str]) -> tuple[list[str], list[str], str]:
    """(figure rows, raw output sections, date) of an earlier RESULTS.md for the benchmarks not in
    ``ran`` (figure lines keep their text; an evaluation counts as ran when any model was)."""
    if not path.exists():
        return [], [], ""
    text = path.read_text()
    date = re.search(r"^- date: (.+)$", text, re.M)
    keep = lambda bench: bench not in ran and bench.split()[0] not in ran  # noqa: E731
    figures_part = text.split("## Figures", 1)[-1].split("\n## ", 1)[0]
    rows = [ln for ln in figures_part.splitlines()
            if ln.startswith("| ") and not ln.startswith("| benchmark ") and keep(ln.split("|")[1].strip())]
    raw = text.split("## Raw output", 1)[-1] if "## Raw output" in text else ""
    sections = [sec for sec in re.split(r"\n(?=### )", raw) if sec.startswith("### ")
                and keep(re.sub(r" \(.*$", "", sec.splitlines()[0][4:]).strip())]
    return rows, sections, date.group(1) if date else "an unknown date"


def write_results(path: Path, runs: dict, evals: dict, notes: list[str], args) -> None:
    import torch

    kept_rows, kept_raw, kept_date = [], [], ""
    if args.only:
        ran = set(runs) | ({"evaluate"} | {f"evaluate {m}" for m in evals} if evals else set())
        kept_rows, kept_raw, kept_date = previous_results(path, ran)
        if kept_rows or kept_raw:
            notes = notes + [f"figures of benchmarks not run this time are kept from the previous RESULTS.md "
                             f"({kept_date})"]
    rows = []
    for name, run in runs.items():
        rows += figures(name, run["result"], run["output"])
    for model, ev in evals.items():
        targets = {label: t[model] for label, _, t in QUALITY if model in t}
        for label, p, _ in QUALITY:
            if label in targets:
                value = _get(ev.get("result", {}), p)
                rows.append(("evaluate", f"{model}: {label}", value, "", targets[label], "higher"))
    lines = ["# Benchmark results", "",
             f"- machine: {machine()}, torch {torch.__version__} ({platform.platform()})",
             f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
             f"- command: `python benchmarks/run_all.py {' '.join(sys.argv[1:])}`".rstrip(),
             "- ratio = measured / reference; references: Magenta MusicVAE (TensorFlow) training speed on this "
             "machine, the project's speed goals, and the quality targets of the evaluation issue", ""]
    lines += [f"- note: {n}" for n in notes]
    lines += ["", "## Figures", "", "| benchmark | figure | value | unit | reference | ratio |",
              "|---|---|---|---|---|---|"]
    for bench, fig, value, unit, ref, better in rows:
        lines.append(f"| {bench} | {fig} | {_fmt(value)} | {unit} | {_fmt(ref)} | {_ratio(value, ref, better)} |")
    lines += kept_rows
    if evals:
        lines += ["", "## Quality (`musiclatent evaluate`, validation split of the bundled data)", ""]
        lines += quality_table(evals)
        for model, ev in evals.items():
            lines += ["", f"`{ev['command']}` ({ev['seconds']} s)"]
    lines += ["", "## Raw output"]
    for name, run in {**runs, **{f"evaluate {m}": e for m, e in evals.items()}}.items():
        status = "" if run["ok"] else " (FAILED)"
        lines += ["", f"### {name}{status} ({run['seconds']} s)", "", "```text", run["output"] or "(no output)", "```"]
    lines += ["\n" + sec.strip("\n") for sec in kept_raw]
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and smaller evaluations")
    ap.add_argument("--only", action="append", default=[], help="run only these (script names or 'evaluate')")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"), help="where to write (default benchmarks/RESULTS.md)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds allowed per script (default 3600)")
    args = ap.parse_args(argv)
    wanted = lambda n: not args.only or n in args.only or n.split()[0] in args.only  # noqa: E731
    runs, evals, notes = {}, {}, []
    from musiclatent.constants import PRETRAINED_DIR

    shipped = lambda m: (PRETRAINED_DIR / m / "model.safetensors").exists()  # noqa: E731
    for name, (full, quick, json_flag, needs_model) in SCRIPTS.items():
        if not wanted(name):
            continue
        if not (HERE / f"{name.split()[0]}.py").exists():
            notes.append(f"benchmarks/{name}.py does not exist yet: skipped")
            continue
        if needs_model and not shipped("melody-2bar"):
            notes.append(f"benchmarks/{name}.py needs the shipped melody-2bar model: skipped")
            continue
        print(f"running {name} ...", flush=True)
        runs[name] = run_script(name, quick if args.quick else full, args.timeout, json_flag)
        print(f"  {'ok' if runs[name]['ok'] else 'FAILED'} in {runs[name]['seconds']} s", flush=True)
    for extra in sorted(HERE.glob("*.py")):
        if extra.stem not in {k.split()[0] for k in SCRIPTS} and not extra.stem.startswith("_") and extra.stem != "run_all":
            notes.append(f"benchmarks/{extra.name} is not in run_all.SCRIPTS: not run")
    if wanted("evaluate"):
        (HERE / "results").mkdir(exist_ok=True)
        for model, data in MODELS.items():
            if not shipped(model):
                notes.append(f"model {model} is not shipped yet: its evaluation was skipped")
                continue
            print(f"evaluating {model} ...", flush=True)
            evals[model] = run_evaluate(model, data, HERE / "results" / f"eval-{model}.json",
                                        EVAL_QUICK if args.quick else [], args.timeout)
            print(f"  {'ok' if evals[model]['ok'] else 'FAILED'} in {evals[model]['seconds']} s", flush=True)
    else:  # reuse the last evaluation JSONs (musiclatent evaluate --json benchmarks/results/eval-<model>.json)
        for model in MODELS:
            path = HERE / "results" / f"eval-{model}.json"
            if path.exists():
                evals[model] = {"ok": True, "seconds": 0.0, "output": f"(read from {path.relative_to(ROOT)})",
                                "result": json.loads(path.read_text()),
                                "command": f"musiclatent evaluate --model {model} --data {MODELS[model]} "
                                           f"--json {path.relative_to(ROOT)}"}
    out = Path(args.out)
    write_results(out, runs, evals, notes, args)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
