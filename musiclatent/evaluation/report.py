"""The printed table of ``musiclatent evaluate`` (a pure function of the result dict)."""

from __future__ import annotations

import math


def _f(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _recon_lines(r: dict) -> list[str]:
    rows = [("teacher-forced accuracy", "recon_accuracy_teacher_forced"),
            ("sampled accuracy", "recon_accuracy_sampled"),
            ("sampled accuracy, note-ons", "recon_accuracy_sampled_notes")]
    styles = list(r["recon_accuracy_sampled"]["per_style"])
    width = max([8] + [len(s) for s in styles])
    steps = r.get("refine", {}).get("refine_steps", 0)
    if steps:
        rows = rows + [("sampled, encoder mu alone", "recon_accuracy_sampled_encoder_only")]
    how = f"mu refined up to {steps} steps on the decoder" if steps else "mu"
    lines = [f"reconstruction ({r['data'].get('reconstruction_phrases', '?')} phrases, encoded with {how})",
             f"  {'':28s}{'overall':>{width}s} " + " ".join(f"{s:>{width}s}" for s in styles)]
    for label, key in rows:
        per = r[key]["per_style"]
        lines.append(f"  {label:28s}{_f(r[key]['overall']):>{width}s} "
                     + " ".join(f"{_f(per.get(s)):>{width}s}" for s in styles))
    lines.append(f"  NLL {_f(r['nll_per_step'])} nats/step   KL {_f(r['kl_bits'], 1)} bits   "
                 f"active dims {r['active_dims']}/{r['model']['z_dim']} (Cov_x[mu] > 0.01)")
    return lines


def _realism_lines(x: dict) -> list[str]:
    lines = [f"realism, MGEval-style ({x['samples']} prior samples at temperature {x['temperature']:g} "
             f"vs {x['samples']} real phrases)",
             f"  mean overlap area {_f(x['overlap_area'])} (KL {_f(x['kl'])}); "
             f"generated intra-set vs inter-set {_f(x['overlap_area_generated'])}",
             f"  {'feature':24s}{'overlap':>9s}{'KL':>8s}{'overlap(gen)':>14s}{'KL(gen)':>9s}"]
    for name, v in x["features"].items():
        lines.append(f"  {name:24s}{_f(v['overlap_area']):>9s}{_f(v['kl']):>8s}"
                     f"{_f(v['overlap_area_generated']):>14s}{_f(v['kl_generated']):>9s}")
    return lines


def _interp_lines(x: dict) -> list[str]:
    d = x["data_space"]
    lines = [f"interpolation ({x['pairs']} pairs, {x['steps']} steps; Hamming distance to A)",
             f"  {'':26s}{'latent':>10s}{'data space':>12s}"]
    for key in ("monotonicity", "max_jump", "linearity_error", "realism", "nll_interpolants"):
        lines.append(f"  {key:26s}{_f(x.get(key)):>10s}{_f(d.get(key)):>12s}")
    lines.append(f"  (negative ELBO of the real endpoints {_f(x['nll_endpoints'])} nats/step; "
                 "realism = exp(NLL ends - NLL path))")
    return lines


def _style_lines(x: dict) -> list[str]:
    info = x.get("classifier", {})
    if "skipped" in x:
        return [f"style: skipped ({x['skipped']})"]
    real, cond, rest = x["real"], x["conditioned"], x["restyled"]
    lines = [f"style (classifier: {info.get('source', '?')})",
             f"  held-out real phrases      {_f(real['accuracy'])} (balanced {_f(real['balanced_accuracy'])}, "
             f"{real['phrases']} phrases)",
             f"  conditioned prior samples  {_f(cond['accuracy'])} ({cond['samples']} at temperature "
             f"{cond['temperature']:g}; {_f(x['conditioned_to_real'], 2)} x balanced real)",
             f"  restyled at strength 1     {_f(rest['accuracy'])} ({rest['phrases']} phrases"
             + ("" if rest["style_means"] else "; no style means in this model") + ")"]
    styles = list(real["per_style"])
    pairs = [f"{s} {_f(real['per_style'].get(s), 2)}/{_f(cond['per_style'].get(s), 2)}" for s in styles]
    lines.append("  per style (real / conditioned): " + ", ".join(pairs))
    return lines + _control_lines(x.get("control"))


def _control_lines(c: dict | None) -> list[str]:
    """The per-style table of style control (``style.control``): both judges, diversity, overlap, restyle."""
    if not c:
        return []
    judges = c["judges"]
    styles = list(next(iter(judges.values()))["conditioned"]["per_style"])
    w = max([7] + [len(s) for s in styles])
    lines = ["", f"style control ({c['samples_per_style']} samples per style at temperature {c['temperature']:g}; "
                 f"z from {c['prior']})",
             f"  {'':34s}" + " ".join(f"{s:>{w}s}" for s in styles) + f" {'mean':>{w}s} {'min':>{w}s}"]

    def row(label, per, mean=None, lo=None):
        vals = [_f(per.get(s), 2) for s in styles]
        lines.append(f"  {label:34s}" + " ".join(f"{v:>{w}s}" for v in vals) + f" {_f(mean, 2):>{w}s} {_f(lo, 2):>{w}s}")

    for name, j in judges.items():
        row(f"{name}: real held-out recall", j["real"], j["real_balanced_accuracy"])
        row(f"{name}: conditioned samples", j["conditioned"]["per_style"], j["conditioned"]["mean"],
            j["conditioned"]["min"])
        ratios = j["ratio_per_style"]
        row(f"{name}: ratio (conditioned/real)", ratios, j["ratio"], min((v for v in ratios.values()
                                                                            if v == v), default=None))
        row(f"{name}: restyled, judged target", j["restyled"]["per_style"], j["restyled"]["accuracy"])
    for key, label in (("diversity", "diversity (samples/real)"), ("overlap", "MGEval overlap with real")):
        if key in c:
            row(label, c[key]["per_style"], c[key]["mean"], c[key]["min"])
    kept = c["restyle_kept"]
    row("restyle: onset agreement (F1)", kept["onset_agreement"]["per_style"], kept["onset_agreement"]["mean"])
    row("restyle: contour correlation", kept["contour_correlation"]["per_style"], kept["contour_correlation"]["mean"])
    lines.append(f"  (restyle: {kept['phrases']} held-out phrases to another style at strength 1, per target style; "
                 "ratio: conditioned accuracy over the judge's balanced accuracy on real phrases)")
    return lines


def format_table(result: dict) -> str:
    """Human-readable summary of an :func:`musiclatent.evaluate.evaluate` result."""
    m, d = result["model"], result["data"]
    lines = [f"model {m['name']} ({m['bars']} bars, {m['decoder']} decoder, z {m['z_dim']}) on the {d['split']} "
             f"split: {d['phrases']} phrases"]
    if "recon_accuracy_sampled" in result:
        lines += [""] + _recon_lines(result)
    if "realism" in result:
        lines += [""] + _realism_lines(result["realism"])
    if "interpolation" in result:
        lines += [""] + _interp_lines(result["interpolation"])
    if "style" in result:
        lines += [""] + _style_lines(result["style"])
    if "samples" in result:
        from musiclatent.evaluation.long_form import samples_lines

        lines += [""] + samples_lines(result["samples"])
    if "chords" in result:
        from musiclatent.evaluation.chords import chord_lines

        lines += [""] + chord_lines(result["chords"])
    secs = result.get("seconds", {})
    if secs:
        lines += ["", "seconds: " + ", ".join(f"{k} {v:g}" for k, v in secs.items())]
    return "\n".join(lines)
