"""Run every benchmark and the evaluation of both shipped models; write benchmarks/RESULTS.md.

Each benchmark script runs in its own process (a crash in one does not stop the
others; a missing one is noted and skipped). Its figures come from what its
``main()`` returns when that is a dict, from its ``--json`` file, or else from
the text it prints (``benchmarks/_results.py`` holds one parser per script).
``musiclatent evaluate`` runs on each shipped model against its bundled
validation split and against ``data/outside`` (music the models never saw).

Every run is recorded in ``benchmarks/results/runs.json`` (date, seconds,
command, output, figures' source). RESULTS.md is written from that record alone:
it opens with the headline table (the one the README shows, between its
``headline`` markers, which this script rewrites too), then one section per
benchmark with its figures, reference and ratio, and its raw output.

A ratio is printed only against a reference that means something here: the
project's speed goals, the quality targets of the evaluation issue, or a peer
(Magenta's MusicVAE) that ran in the same invocation. ``train_speed`` runs with
``--peer magenta`` when ``benchmarks/peers/.venv-magenta`` exists (set it up with
``bash benchmarks/peers/magenta_setup.sh``).

    .venv/bin/python benchmarks/run_all.py                 # everything (roughly 1 to 2 h on 2 quiet cores)
    .venv/bin/python benchmarks/run_all.py --quick         # fewer repeats and smaller evaluations
    .venv/bin/python benchmarks/run_all.py --only evaluate --only train_speed
    .venv/bin/python benchmarks/run_all.py --write-only    # rewrite RESULTS.md and the README table from runs.json

With ``--only``, the records of benchmarks not run this time are kept, and
RESULTS.md says from when each one is.

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
from _results import BENCHES, DEMO_GOAL, Figure, fmt_value, figures_of, quality_table  # noqa: E402

MODELS = {"melody-2bar": "data/melody-2bar", "melody-16bar": "data/melody-16bar"}
OUTSIDE = "data/outside"
RECORD = HERE / "results" / "runs.json"
README = ROOT / "README.md"
MAGENTA_VENV = HERE / "peers" / ".venv-magenta" / "bin" / "python"
# compare_models: the melody-16bar that the shipped one replaced (the 256-wide model, as it stood at commit 334b5c7; 0.939 sampled)
PREVIOUS_16BAR = ("334b5c7", "musiclatent/pretrained/melody-16bar", ("config.json", "model.safetensors",
                                                                    "extras.safetensors"))

WRAPPER = """
import json, sys
sys.path.insert(0, {here!r}); sys.argv = [{name!r}] + {argv!r}
import {name} as m
r = m.main({argv!r})
if isinstance(r, dict):
    json.dump(r, open({out!r}, "w"), default=float)
"""


def now() -> str:
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def run_script(name: str, argv: list[str], timeout: float, json_flag: bool = False) -> dict:
    """Run benchmarks/<script>.py's main(argv) in a fresh process: a record {ok, seconds, output, result, ...}.

    The result is main()'s return value when it is a dict, else (with ``json_flag``) what the
    script wrote to ``--json``, else {} (the figures are then parsed from the output).
    """
    script = name.split()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        if json_flag:
            argv = argv + ["--json", str(Path(tmp) / "script.json")]
        code = WRAPPER.format(here=str(HERE), name=script, argv=argv, out=str(out))
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
    shown = [a if not a.startswith(tempfile.gettempdir()) else "TMP" for a in argv]
    return {"ok": ok, "seconds": round(time.time() - t0, 1), "output": text.strip(), "result": result,
            "date": now(), "command": f"python benchmarks/{script}.py {' '.join(shown)}".rstrip()}


def run_evaluate(model: str, data: str, out: Path, extra: list[str], timeout: float) -> dict:
    """``musiclatent evaluate`` into ``out`` (JSON); the record points at that file."""
    cmd = [sys.executable, "-m", "musiclatent.cli.main", "evaluate", "--model", model, "--data", data, "--json",
           str(out.relative_to(ROOT)), "--quiet", *extra]
    t0 = time.time()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        ok, text = proc.returncode == 0, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        ok, text = False, f"(timed out after {timeout:.0f} s)"
    ok = ok and out.exists()
    # a snapshot: the file may be rewritten later (model cards, other runs), the record must not change
    return {"ok": ok, "seconds": round(time.time() - t0, 1), "output": text.strip(),
            "result": json.loads(out.read_text()) if ok else {}, "result_file": str(out.relative_to(ROOT)),
            "date": now(), "command": "musiclatent " + " ".join(cmd[3:])}


def previous_model(folder: Path) -> Path:
    """Write the melody-16bar that the shipped one replaced (from git) into ``folder``."""
    commit, path, files = PREVIOUS_16BAR
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        blob = subprocess.run(["git", "show", f"{commit}:{path}/{f}"], cwd=ROOT, capture_output=True, check=True)
        (folder / f).write_bytes(blob.stdout)
    return folder


# --------------------------------------------------------------------------- the record

def read_record(path: Path = RECORD) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def with_results(record: dict) -> dict:
    """The record with a result for each run (older records only point at a JSON in benchmarks/results/)."""
    out = {}
    for name, rec in record.items():
        rec = dict(rec)
        if not rec.get("result") and "result_file" in rec and (ROOT / rec["result_file"]).exists():
            rec["result"] = json.loads((ROOT / rec["result_file"]).read_text())
        out[name] = rec
    return out


# --------------------------------------------------------------------------- the headline

# (label, [(record, figure key), ...]); one figure per model where a row has two
HEADLINE = [
    ("reconstruction accuracy, sampled (argmax, own outputs), validation",
     [("evaluate melody-2bar", "sampled reconstruction accuracy"),
      ("evaluate melody-16bar", "sampled reconstruction accuracy")]),
    ("the same on note-on steps only",
     [("evaluate melody-2bar", "sampled accuracy on note-ons"), ("evaluate melody-16bar", "sampled accuracy on note-ons")]),
    ("the same on music outside the corpus (`data/outside`, all phrases)",
     [("evaluate melody-2bar outside", "sampled reconstruction accuracy"),
      ("evaluate melody-16bar outside", "sampled reconstruction accuracy")]),
    ("realism, mean MGEval overlap area (T = 0.5)",
     [("evaluate melody-2bar", "mean realism overlap area"), ("evaluate melody-16bar", "mean realism overlap area")]),
    ("interpolation monotonicity",
     [("evaluate melody-2bar", "interpolation monotonicity"), ("evaluate melody-16bar", "interpolation monotonicity")]),
    ("style accuracy of conditioned samples / balanced accuracy on real phrases",
     [("evaluate melody-2bar", "conditioned / balanced real accuracy"),
      ("evaluate melody-16bar", "conditioned / balanced real accuracy")]),
    ("restyled phrases judged the target style (strength 1)",
     [("evaluate melody-2bar", "style accuracy, restyled at strength 1"),
      ("evaluate melody-16bar", "style accuracy, restyled at strength 1")]),
    ("typicality AUROC, corrupted vs real held-out phrases (mix)",
     [("anomaly_auroc", "all mixed auroc_typicality"), ("anomaly_auroc melody-16bar", "all mixed auroc_typicality")]),
    ("the same with real phrases from outside the corpus",
     [("anomaly_auroc", "outside all mixed auroc_typicality"),
      ("anomaly_auroc melody-16bar", "outside all mixed auroc_typicality")]),
    ("held-out phrases at or above the 95th typicality percentile, %",
     [("anomaly_auroc", "calibration typicality held-out held-out share"),
      ("anomaly_auroc melody-16bar", "calibration typicality held-out held-out share")]),
    ("training, cat-mel_2bar_small shape, batch 128, bf16 (fp32)",
     [("train_speed", "cat-mel-2bar-small@128 bf16"), ("train_speed", "cat-mel-2bar-small@128 fp32")]),
    ("training, the same shape, batch 512, bf16 (fp32)",
     [("train_speed", "cat-mel-2bar-small@512 bf16"), ("train_speed", "cat-mel-2bar-small@512 fp32")]),
    ("training, 16-bar hierarchical shape, batch 64, bf16 (fp32)",
     [("train_speed", "hierdec-mel-16bar@64 bf16"), ("train_speed", "hierdec-mel-16bar@64 fp32")]),
    ("prepare, 3-track 3-minute MIDI songs, 2 workers", [("prepare_speed", "prepare_files_per_s_2w")]),
    ("decode one 16-bar phrase", [("generate_speed", "decode_1_melody-16bar_ms")]),
    ("interpolate two 16-bar songs, 8 steps, end to end (2-bar / 16-bar model)",
     [("generate_speed", "interpolate_16bar_8steps_melody-2bar_ms"),
      ("generate_speed", "interpolate_16bar_8steps_melody-16bar_ms")]),
    ("render 16 bars to WAV", [("generate_speed", "render_16bar_ms")]),
    ("web app: Generate 4 x 2-bar with audio, round trip", [("demo_speed", DEMO_GOAL[0])]),
    ("web app under load: errors / p95 latency", [("load_web", "errors"), ("load_web", "all p95")]),
    ("fuzzed reader inputs: crashes", [("fuzz_long", "crashes")]),
]


# figures that say how big a run was (they vary with --quick and the script's arguments)
SIZE_KEYS = {"load_web": "load", "fuzz_long": "cases"}


def headline_table(figs: dict[str, list[Figure]]) -> list[str]:
    """The headline rows that have figures: | figure | measured | reference | ratio or verdict |."""
    index = {(name, f.key): f for name, fs in figs.items() for f in fs}
    lines = ["| figure | measured (two figures: melody-2bar / melody-16bar) | reference | ratio or verdict |",
             "|---|---|---|---|"]
    for label, refs in HEADLINE:
        found = [index.get(r) for r in refs]
        if all(f is None for f in found):
            continue
        size = index.get((refs[0][0], SIZE_KEYS.get(refs[0][0], "")))  # how big the run was, where that varies
        if size is not None:
            label += f" ({size.value_text()}{' cases' if size.key == 'cases' else ''})"
        if label.startswith("training,"):  # bf16 (fp32) against the peer of the same run, if it ran
            bf16, fp32 = found
            measured = f"{bf16.value_text()} ({fp32.value_text(unit=False)})" if bf16 and fp32 else "-"
            peer = bf16.reference_text() if bf16 and bf16.ref else "no peer in this run"
            ratio = (f"{bf16.ratio():.2f}x ({fp32.ratio():.2f}x)" if bf16 and bf16.ref and fp32 and fp32.ref else "-")
            threads = index.get(("train_speed", "threads"))
            if threads and threads.value:
                label += f", {threads.value} thread{'s' if threads.value != 1 else ''}"
            lines.append(f"| {label} | {measured} | {peer} | {ratio} |")
            continue
        units = {f.unit for f in found if f}
        same = len(units) == 1
        measured = " / ".join(f.value_text(unit=not same) if f else "-" for f in found)
        first = next(f for f in found if f)
        measured += first._unit() if same else ""
        with_ref = [f for f in found if f and f.ref is not None]
        values = list(dict.fromkeys(fmt_value(f.ref, f.unit) for f in with_ref))
        reference = f"{with_ref[0].ref_label} {' / '.join(values)}{with_ref[0]._unit()}" if with_ref else "-"
        verdicts = [f.verdict() for f in found if f and f.verdict()]
        lines.append(f"| {label} | {measured} | {reference} | {' / '.join(verdicts) or '-'} |")
    return lines


# --------------------------------------------------------------------------- writing

def _fence(text: str) -> list[str]:
    return ["```text", text.rstrip() or "(no output)", "```"]


def write_results(path: Path, record: dict, meta: dict) -> list[str]:
    """Write RESULTS.md from the record; returns the headline table's lines."""
    record = with_results(record)
    figs = {name: figures_of(name, rec) for name, rec in record.items()}
    headline = headline_table(figs)
    lines = ["# Benchmark results", "",
             f"- machine: {meta['machine']}",
             f"- written: {meta['date']} by `{meta['command']}`",
             f"- {meta['runs']}, recorded in `benchmarks/results/runs.json`",
             "- ratio = measured / reference. References: the project's speed goals, the quality targets of "
             "the evaluation issue, and a peer (Magenta MusicVAE) only where it ran in the same invocation.",
             *[f"- note: {n}" for n in meta.get("notes", [])],
             "", "## Headline", "", *headline, ""]
    evals = {m: record[f"evaluate {m}"] for m in MODELS if f"evaluate {m}" in record}
    outside = {m: record[f"evaluate {m} outside"] for m in MODELS if f"evaluate {m} outside" in record}
    for bench in BENCHES:
        names = [n for n in record if n == bench.name or n.startswith(bench.name + " ")]
        if bench.name == "evaluate":
            names = [n for n in record if n.startswith("evaluate ")]
        if not names:
            continue
        lines += [f"## {bench.title}", "", bench.about, ""]
        if bench.name == "evaluate" and (evals or outside):
            for label, group in (("validation split of the bundled data", evals),
                                 (f"`{OUTSIDE}`, all phrases (music outside the training corpus)", outside)):
                if group:
                    lines += [f"Quality on the {label}:", "",
                              *quality_table({m: r.get("result", {}) for m, r in group.items()},
                                             targets=group is evals), ""]
        for name in names:
            rec = record[name]
            status = "" if rec.get("ok") else " (FAILED)"
            took = f", {rec['seconds']} s" if rec.get("seconds") is not None else ""
            lines += [f"### {name}{status}", "", f"`{rec.get('command', '')}`: {rec.get('date', '?')}{took}"
                      + (f"; {rec['migrated']}" if rec.get("migrated") else ""), ""]
            # the figures checked against a reference; the raw output below has them all
            rows = [f for f in figs[name] if bench.name != "evaluate" and f.ref is not None and f.ref_label != "nominal"]
            if rows:
                lines += ["| figure | value | reference | ratio |", "|---|---|---|---|"]
                lines += [f"| {f.label} | {f.value_text()} | {f.reference_text()} | {f.ratio_text()} |" for f in rows]
                lines.append("")
            if rec.get("output"):
                lines += _fence(rec["output"]) + [""]
    path.write_text("\n".join(lines).rstrip() + "\n")
    return headline


def update_readme(headline: list[str], meta: dict, readme: Path = README) -> bool:
    """Replace the table between README's ``<!-- headline:start -->`` and ``<!-- headline:end -->``."""
    if not readme.exists():
        return False
    text = readme.read_text()
    m = re.search(r"(<!-- headline:start -->\n)(.*?)(<!-- headline:end -->)", text, re.S)
    if not m:
        return False
    body = "\n".join([f"Measured on {meta['machine_short']} ({meta['runs']}); written {meta['date']} by "
                      "`benchmarks/run_all.py` from the runs recorded in `benchmarks/results/runs.json`.", "",
                      *headline, ""])
    readme.write_text(text[:m.start(2)] + body + text[m.end(2):])
    return True


# --------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and smaller evaluations")
    ap.add_argument("--only", action="append", default=[], help="run only these (script names or 'evaluate')")
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"), help="where to write (default benchmarks/RESULTS.md)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds allowed per script (default 3600)")
    ap.add_argument("--write-only", action="store_true", help="run nothing; rewrite from benchmarks/results/runs.json")
    ap.add_argument("--no-readme", action="store_true", help="leave README.md's headline table alone")
    ap.add_argument("--args", nargs=2, action="append", default=[], metavar=("NAME", "ARGS"),
                    help="replace one run's arguments, e.g. --args train_speed '--threads 1 --windows 5'")
    args = ap.parse_args(argv)
    wanted = lambda n: not args.write_only and (not args.only or n in args.only or n.split()[0] in args.only)  # noqa: E731
    record = {} if not (args.only or args.write_only) else read_record()
    notes = []
    from musiclatent.constants import PRETRAINED_DIR

    shipped = lambda m: (PRETRAINED_DIR / m / "model.safetensors").exists()  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        for bench in BENCHES:
            for name, full, quick in bench.runs:
                if bench.name == "evaluate" or not wanted(name):
                    continue
                if not (HERE / f"{bench.name}.py").exists():
                    notes.append(f"benchmarks/{bench.name}.py does not exist: skipped")
                    continue
                if bench.needs_model and not shipped("melody-2bar"):
                    notes.append(f"{name} needs the shipped models: skipped")
                    continue
                argv = list(quick if args.quick else full)
                argv = next((a.split() for n, a in args.args if n == name), argv)
                if bench.name == "train_speed" and MAGENTA_VENV.exists() and "--peer" not in argv:
                    argv += ["--peer", "magenta"]
                if bench.name == "compare_models":
                    argv += ["--old", str(previous_model(Path(tmp) / "previous-melody-16bar"))]
                print(f"running {name} ...", flush=True)
                record[name] = run_script(name, argv, args.timeout, bench.json_flag)
                if bench.name == "compare_models":  # name the old model by its commit, not by a temporary folder
                    old = f"melody-16bar@{PREVIOUS_16BAR[0]}"
                    for key in ("command", "output"):
                        record[name][key] = record[name][key].replace("--old TMP", f"--old {old}").replace(
                            str(Path(tmp) / "previous-melody-16bar"), old)
                print(f"  {'ok' if record[name]['ok'] else 'FAILED'} in {record[name]['seconds']} s", flush=True)
        if not args.write_only and not MAGENTA_VENV.exists() and wanted("train_speed"):
            notes.append("Magenta is not set up (bash benchmarks/peers/magenta_setup.sh): train_speed ran without "
                         "its peer, so it has no ratio")
    if wanted("evaluate"):
        (HERE / "results").mkdir(exist_ok=True)
        quick = ["--max-phrases", "1000", "--samples", "256", "--pairs", "32", "--style-samples", "32",
                 "--restyle-phrases", "128"] if args.quick else []
        for model, data in MODELS.items():
            if not shipped(model):
                notes.append(f"model {model} is not shipped: its evaluation was skipped")
                continue
            for name, d, out, extra in (
                    (f"evaluate {model}", data, f"eval-{model}.json", quick),
                    (f"evaluate {model} outside", OUTSIDE, f"outside-{model}.json", ["--split", "all", *quick])):
                if not (ROOT / d).exists():
                    notes.append(f"{d} does not exist: {name} skipped")
                    continue
                print(f"running {name} ...", flush=True)
                record[name] = run_evaluate(model, d, HERE / "results" / out, extra, args.timeout)
                print(f"  {'ok' if record[name]['ok'] else 'FAILED'} in {record[name]['seconds']} s", flush=True)
    known = {b.name for b in BENCHES}
    for extra in sorted(HERE.glob("*.py")):
        if extra.stem not in known and not extra.stem.startswith("_") and extra.stem != "run_all":
            notes.append(f"benchmarks/{extra.name} is not in _results.BENCHES: not run")
    if not args.write_only:
        RECORD.parent.mkdir(exist_ok=True)
        RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    import torch

    meta = {"machine": f"{machine()}, torch {torch.__version__} ({platform.platform()})",
            "machine_short": machine(), "date": now(), "notes": notes,
            "command": f"python benchmarks/run_all.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip()}
    dates = sorted({rec.get("date", "?") for rec in record.values()}) or ["-"]
    meta["runs"] = f"runs of {dates[0]}" + (f" to {dates[-1]}" if len(dates) > 1 else "")
    out = Path(args.out)
    headline = write_results(out, record, meta)
    print(f"wrote {out}")
    if not args.no_readme and update_readme(headline, meta):
        print(f"updated the headline table in {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
