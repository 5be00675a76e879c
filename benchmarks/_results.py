"""What run_all.py knows about each benchmark: how to run it, how to read its figures, the headline.

A benchmark's figures come from its result (what ``main()`` returned, or its
``--json`` file) or, for scripts that only print, from its printed output. Each
parser is a pure function ``(result, output) -> [Figure]`` so it can be checked
on saved output without running anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Figure:
    """One measured figure and what it is compared with.

    ``ref_label`` names the reference: ``"goal"`` (a speed goal), ``"target"`` (a
    quality target), ``"nominal"`` (what a calibrated statistic should be) or a
    peer that ran in the same invocation (``"Magenta (same run)"``). ``better`` is
    ``"higher"``, ``"lower"`` or ``""`` (no direction: no verdict).
    """

    key: str
    label: str
    value: float | str | None
    unit: str = ""
    ref: float | None = None
    ref_label: str = ""
    better: str = "higher"
    paired: float | None = None   # a ratio measured pairwise (window by window), used instead of value / ref

    @property
    def is_peer(self) -> bool:
        return self.ref_label not in ("", "goal", "target", "nominal")

    def _unit(self) -> str:
        return "" if self.unit in ("", "count") else ("%" if self.unit == "%" else f" {self.unit}")

    def value_text(self, unit: bool = True) -> str:
        return fmt_value(self.value, self.unit) + (self._unit() if unit and self.value is not None else "")

    def reference_text(self) -> str:
        if self.ref is None:
            return "-"
        return f"{self.ref_label} {fmt_value(self.ref, self.unit)}{self._unit()}"

    def ratio(self) -> float | None:
        if self.paired is not None:
            return self.paired
        if not isinstance(self.value, (int, float)) or not self.ref:
            return None
        return self.value / self.ref

    def ratio_text(self) -> str:
        r = self.ratio()
        if r is None:
            return self.verdict() or "-"
        text = f"{r:.2f}x"
        if self.is_peer or not self.better:
            return text
        return f"{text}, {self.verdict()}" + (" (lower is better)" if self.better == "lower" else "")

    def verdict(self) -> str:
        if self.ref is None or not self.better or not isinstance(self.value, (int, float)):
            return ""
        ok = self.value >= self.ref if self.better == "higher" else self.value <= self.ref
        return "met" if ok else "missed"


def fmt_value(v, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, int) or (unit in ("", "count") and float(v).is_integer() and abs(v) >= 10):
        return f"{int(v):,}"
    if unit == "%":
        return f"{v:.1f}"
    if unit in ("seq/s", "files/s"):
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}"
    if unit == "ms":
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}"
    if unit == "s":
        return f"{v:.3f}" if abs(v) < 1 else (f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}")
    return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"


# --------------------------------------------------------------------------- parsers

def train_speed(result: dict, output: str) -> list[Figure]:
    rows = []
    for key, v in result.items():
        if not (isinstance(v, dict) and "bf16" in v):
            continue
        peer = v.get("peer")
        label = f"{v['peer_name'].capitalize()} (same run)" if peer else ""
        for prec in ("fp32", "bf16"):
            rows.append(Figure(f"{key} {prec}", f"training {key}, {prec}", v[prec], "seq/s", peer, label,
                               paired=(v.get("ratio") or {}).get(prec)))
        if peer:
            rows.append(Figure(f"{key} peer", f"training {key}, {v['peer_name'].capitalize()}", peer, "seq/s"))
    if isinstance(result.get("load"), dict):
        rows.append(Figure("threads", "threads per process", result["load"].get("threads"), "count"))
        rows.append(Figure("load", "load average before / after", f"{result['load'].get('before')} / "
                                                                   f"{result['load'].get('after')}", ""))
    return rows


def prepare_speed(result: dict, output: str) -> list[Figure]:
    return [Figure(k, f"prepare, {k.rsplit('_', 1)[-1].replace('w', ' worker(s)')}", v, "files/s",
                   50.0 if k.endswith("_2w") else None, "goal" if k.endswith("_2w") else "") for k, v in result.items()]


GENERATE_GOALS = {"decode_1_melody-16bar_ms": 50.0, "interpolate_16bar_8steps_melody-2bar_ms": 1000.0,
                  "interpolate_16bar_8steps_melody-16bar_ms": 1000.0, "render_16bar_ms": 500.0}


def generate_speed(result: dict, output: str) -> list[Figure]:
    return [Figure(k, k.removesuffix("_ms").replace("_", " "), v, "ms", GENERATE_GOALS.get(k),
                   "goal" if k in GENERATE_GOALS else "", "lower") for k, v in result.items()]


DEMO_GOAL = ("4 x 2-bar with audio, round trip, file URLs", 1.5)


def demo_speed(result: dict, output: str) -> list[Figure]:
    """Rows of its table: ``| request | measured | median s | min s | max s |``."""
    rows = []
    for m in re.finditer(r"^\|\s*(\d+ x [^|]+?)\s*\|\s*([^|]+?)\s*\|\s*([0-9.]+)\s*\|", output, re.M):
        key = f"{m.group(1)}, {m.group(2)}"
        goal = DEMO_GOAL[1] if key == DEMO_GOAL[0] else None
        rows.append(Figure(key, f"Generate {key}, median", float(m.group(3)), "s", goal, "goal" if goal else "",
                           "lower"))
    return rows


def load_web(result: dict, output: str) -> list[Figure]:
    rows = []
    m = re.search(r"(\d+) clients x (\d+) requests = (\d+) calls in ([0-9.]+) s \(([0-9.]+) calls/s\)", output)
    if m:
        rows.append(Figure("load", "load", f"{m.group(1)} clients x {m.group(2)} requests", ""))
        rows.append(Figure("calls/s", "throughput", float(m.group(5)), "calls/s"))
    for m in re.finditer(r"^\|\s*(/\w+|all)\s*\|\s*(\d+)\s*\|\s*([0-9.na]+)\s*\|\s*([0-9.na]+)\s*\|", output, re.M):
        for q, v in (("p50", m.group(3)), ("p95", m.group(4))):
            rows.append(Figure(f"{m.group(1)} {q}", f"{m.group(1)} latency {q} ({m.group(2)} calls)", float(v), "s",
                               better="lower"))
    m = re.search(r"errors: (\d+); server still up afterwards: (\w+)", output)
    if m:
        rows.append(Figure("errors", "errors", int(m.group(1)), "count", 0, "goal", "lower"))
        rows.append(Figure("server up", "server still answers afterwards", m.group(2), ""))
    return rows


def fuzz_long(result: dict, output: str) -> list[Figure]:
    rows = []
    m = re.search(r"^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", output, re.M)
    if m:
        cases, ok, clean, crashes = map(int, m.groups())
        rows += [Figure("cases", "cases", cases, "count"),
                 Figure("ok", "read fine", ok, "count"),
                 Figure("clean errors", "refused with MusicReadError", clean, "count"),
                 Figure("crashes", "crashes (any other exception, or a hang)", crashes, "count", 0, "goal", "lower")]
    m = re.search(r"slowest case ([0-9.]+) s CPU", output)
    if m:
        rows.append(Figure("slowest", "slowest case, CPU", float(m.group(1)), "s", better="lower"))
    return rows


def compare_models(result: dict, output: str) -> list[Figure]:
    """Per dataset block (``N split phrases of PATH; ...``), rows of
    ``| metric | old | new | new - old | 95% interval | verdict |``."""
    rows = []
    blocks = re.split(r"^(\d+ \w+ phrases of [^;]+);.*$", output, flags=re.M)
    for head, body in zip(blocks[1::2], blocks[2::2]):
        data = head.split(" phrases of ", 1)[1]
        for m in re.finditer(r"^\|\s*([^|]+?)\s*\|\s*([-+0-9.]+)\s*\|\s*([-+0-9.]+)\s*\|\s*([-+0-9.]+)\s*\|"
                             r"\s*(\[[^\]]+\])\s*\|\s*([^|]+?)\s*\|", body, re.M):
            metric, old, new, diff, interval, verdict = m.groups()
            rows.append(Figure(f"{data}: {metric}", f"{head}: {metric}, new - old {diff} (95% interval {interval}; "
                               f"old {old}, new {new}): {verdict}", float(diff), "", better=""))
    return rows


def refine_gain(result: dict, output: str) -> list[Figure]:
    """Sampled reconstruction per model and phrase set, refined, with the encoder alone as the reference."""
    rows = []
    for r in result.get("rows", []):
        what = f"{r['model']}, {r['phrases']} phrases of {r['data']}"
        rows.append(Figure(f"{r['model']} {r['data']} refined", f"sampled reconstruction, {what}, latents refined "
                           f"{r['refine_steps']} steps", r["refined"], "", r["encoder"], "encoder alone"))
        rows.append(Figure(f"{r['model']} {r['data']} ms", f"refinement time per phrase, {what}",
                           r["ms_per_phrase"], "ms", better="lower"))
    return rows


def _among(text: str) -> str:
    return "held-out" if "held-out" in text else "training"


def anomaly_auroc(result: dict, output: str) -> list[Figure]:
    rows = []
    stats = (("auroc_typicality", "typicality (matched ELBO + local)"), ("auroc_matched", "note-count-matched ELBO"),
             ("auroc", "raw ELBO"))
    for r in result.get("anomaly", []):
        what = r["corruption"] + ("" if r.get("in_mix", True) else " (not in the mix)")
        for k, label in stats:
            goal = 0.95 if r["corruption"] == "all mixed" and k == "auroc_typicality" else None
            rows.append(Figure(f"{r['corruption']} {k}", f"AUROC {what}, {label}", r.get(k), "", goal,
                               "target" if goal else ""))
    for r in result.get("anomaly_outside", []):
        what = r["corruption"] + ("" if r.get("in_mix", True) else " (not in the mix)")
        for k, label in stats[:2]:
            rows.append(Figure(f"outside {r['corruption']} {k}",
                               f"AUROC {what}, real phrases from outside the corpus, {label}", r.get(k)))
    for r in result.get("anomaly_generator", []):
        rows.append(Figure(f"generator {r['corruption']}", f"AUROC {r['corruption']}, generator's own ELBO, typicality",
                           r.get("auroc_typicality")))
    for r in result.get("tunes", []):
        rows.append(Figure(f"file {r['corruption']}", f"file-level AUROC {r['corruption']}", r.get("auroc")))
    for r in result.get("calibration", []):
        stat = r.get("statistic", "typicality")
        key = f"calibration {stat} {'outside' if 'outside' in r['phrases'] else 'held-out'} {_among(r['ranked_among'])}"
        what = f"{r['phrases']}, {stat}, ranked among {r['ranked_among']}"
        rows.append(Figure(f"{key} median", f"median percentile of {what}", r["median_percentile"], "%", 50.0,
                           "nominal", ""))
        rows.append(Figure(f"{key} share", f"share at or above the 95th percentile of {what}",
                           100 * r["share_at_95"], "%", 5.0, "nominal", ""))
    return rows


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
    ("conditioned / real, feature judge", ("style", "control", "judges", "features", "ratio"),
     {"melody-2bar": 0.9, "melody-16bar": 0.9}),
    ("diversity, min over styles", ("style", "control", "diversity", "min"), {"melody-2bar": 0.8, "melody-16bar": 0.8}),
    ("MGEval overlap per style, min", ("style", "control", "overlap", "min"),
     {"melody-2bar": 0.85, "melody-16bar": 0.85}),
    ("restyled judged target, feature judge", ("style", "control", "judges", "features", "restyled", "accuracy"), {}),
    ("restyle onset agreement", ("style", "control", "restyle_kept", "onset_agreement", "mean"), {}),
    ("restyle contour correlation", ("style", "control", "restyle_kept", "contour_correlation", "mean"), {}),
    ("prior samples holding a note > 2 bars", ("samples", "held_over_2_bars"), {}),
]

PER_STYLE = [("sampled reconstruction accuracy", ("recon_accuracy_sampled", "per_style")),
             ("style accuracy, conditioned samples", ("style", "conditioned", "per_style")),
             ("classifier accuracy, held-out real", ("style", "real", "per_style"))]


def _get(d: dict, path: tuple):
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def evaluation_figures(name: str, result: dict) -> list[Figure]:
    """Figures of one ``musiclatent evaluate`` JSON; targets apply to the validation split only."""
    model, outside = name.split()[1], name.endswith(" outside")
    rows = []
    for label, path, targets in QUALITY:
        target = None if outside else targets.get(model)
        rows.append(Figure(label, label, _get(result, path), "", target, "target" if target else ""))
    n = _get(result, ("settings", "phrases")) or _get(result, ("recon_accuracy_sampled", "n"))
    if n is not None:
        rows.append(Figure("phrases", "phrases", n, "count"))
    return rows


def quality_table(results: dict[str, dict], targets: bool = True) -> list[str]:
    """Markdown table: one column per model, with the targets when ``targets``."""
    names = list(results)
    lines = ["| metric | " + " | ".join(f"`{n}`" for n in names) + (" | target |" if targets else " |"),
             "|---|" + "---|" * len(names) + ("---|" if targets else "")]
    for label, path, goal in QUALITY:
        cells = []
        for n in names:
            v, t = _get(results[n], path), goal.get(n) if targets else None
            cells.append(fmt_value(v) + ("" if v is None or t is None else (" ✓" if v >= t else " ✗")))
        target = " / ".join(f"≥ {goal[n]:g}" for n in names if n in goal) or "-"
        lines.append(f"| {label} | " + " | ".join(cells) + (f" | {target} |" if targets else " |"))
    for label, path in PER_STYLE:
        styles = []
        for n in names:
            styles += [s for s in (_get(results[n], path) or {}) if s not in styles]
        for style in styles:
            cells = [fmt_value((_get(results[n], path) or {}).get(style)) for n in names]
            lines.append(f"| {label}, {style} | " + " | ".join(cells) + (" | - |" if targets else " |"))
    return lines


# --------------------------------------------------------------------------- the benchmarks, in report order

@dataclass
class Bench:
    name: str                        # the script's file name (or "evaluate")
    title: str
    about: str
    runs: list[tuple[str, list[str], list[str]]]  # (record name, arguments, arguments with --quick)
    parse: Callable[[dict, str], list[Figure]] | None = None
    json_flag: bool = False          # the script writes its figures with --json
    needs_model: bool = False        # needs the shipped models
    extra: dict = field(default_factory=dict)


ANOMALY_16 = ["--model", "melody-16bar", "--data", "data/melody-16bar", "--n", "500", "--reference", "2000",
              "--per-style", "50", "--tunes", "100", "--outside", "data/outside"]
ANOMALY_16_QUICK = ["--model", "melody-16bar", "--data", "data/melody-16bar", "--n", "200", "--reference", "1000",
                    "--per-style", "20", "--tunes", "50"]

BENCHES = [
    Bench("evaluate", "Quality (`musiclatent evaluate`)",
          "Each shipped model on the validation split of its bundled dataset (split by piece, never trained on) "
          "and on `data/outside`, tunes from outside the training corpus.", []),
    Bench("anomaly_auroc", "Typicality (`benchmarks/anomaly_auroc.py`)",
          "How well the typicality score separates corrupted phrases from real held-out ones (AUROC), and how "
          "its percentiles are calibrated on music the models never saw.",
          [("anomaly_auroc", ["--outside", "data/outside"], ["--n", "300", "--per-style", "50"]),
           ("anomaly_auroc melody-16bar", ANOMALY_16, ANOMALY_16_QUICK)], anomaly_auroc, True, True),
    Bench("compare_models", "Paired model comparison (`benchmarks/compare_models.py`)",
          "The shipped melody-16bar against the melody-16bar it replaced (commit 334b5c7), phrase by phrase on "
          "the validation split and on `data/outside`, with 95% bootstrap intervals.",
          [("compare_models", ["--new", "melody-16bar", "--data", "data/melody-16bar", "--data", "data/outside"],
            ["--new", "melody-16bar", "--data", "data/melody-16bar"])], compare_models, needs_model=True),
    Bench("refine_gain", "Refined encodings (`benchmarks/refine_gain.py`)",
          "Sampled reconstruction of every shipped model with the encoder's mean alone and with the latent "
          "refined by gradient steps on the decoder (what `encode` does), on validation phrases and "
          "`data/outside`.",
          [("refine_gain", [], ["--n", "40", "--models", "melody-2bar,drums-2bar"])], refine_gain, True, True),
    Bench("train_speed", "Training speed (`benchmarks/train_speed.py`)",
          "Sequences per second of teacher-forced training steps, fp32 and bf16 autocast; Magenta's TensorFlow "
          "MusicVAE on the same shapes when it is set up (`benchmarks/peers/`), its windows alternating with ours. "
          "One thread per process: on a shared 2-core machine, two threads per process measure contention (under "
          "a load average of 17, about 11 seq/s at 2 threads against about 80 at 1, 2-bar shape, batch 128, bf16).",
          [("train_speed", ["--threads", "1"], ["--threads", "1", "--windows", "3", "--steps", "2"])], train_speed),
    Bench("prepare_speed", "Preparation speed (`benchmarks/prepare_speed.py`)",
          "3-track, 3-minute MIDI songs prepared per second on 1 and 2 workers.",
          [("prepare_speed", [], ["--files", "20", "--repeats", "1"])], prepare_speed),
    Bench("generate_speed", "Generation speed (`benchmarks/generate_speed.py`)",
          "Decoding, song interpolation end to end, and WAV rendering (medians, milliseconds).",
          [("generate_speed", [], ["--repeats", "3"])], generate_speed),
    Bench("demo_speed", "Web app latency (`benchmarks/demo_speed.py`)",
          "The Generate button through gradio_client against the app on 127.0.0.1.",
          [("demo_speed", [], ["--repeats", "3"])], demo_speed),
    Bench("load_web", "Web app under load (`benchmarks/load_web.py`)",
          "Concurrent clients alternating Generate and Interpolate; the goal is 0 errors.",
          [("load_web", [], ["--clients", "4", "--requests", "2"])], load_web),
    Bench("fuzz_long", "Fuzzed reader inputs (`benchmarks/fuzz_long.py`)",
          "Random, truncated and mutated MIDI/ABC/MusicXML bytes; a crash is any exception other than "
          "MusicReadError, or a hang. The goal is 0 crashes.",
          [("fuzz_long", [], ["--cases", "1000"])], fuzz_long),
]
PARSERS = {b.name: b.parse for b in BENCHES}


def figures_of(name: str, record: dict) -> list[Figure]:
    """The figures of one recorded run (``name`` as in runs.json)."""
    if name.startswith("evaluate "):
        return evaluation_figures(name, record.get("result", {}))
    parse = PARSERS.get(name.split()[0])
    return parse(record.get("result") or {}, record.get("output", "")) if parse else []
