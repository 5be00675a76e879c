"""Model cards: the README.md written beside a shipped model's weights.

:func:`model_card` (a VAE, from its evaluation JSON) and :func:`scorer_card` (a typicality
scorer, from its held-out ELBO) say what data and commands made the model, its steps, wall time
and held-out metrics; :func:`weights_line` says how its weights are stored.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import safe_open

from musiclatent.training.packing import SCALE


def _init_line(trained: dict, tc: dict) -> list[str]:
    """The card's sentence on a fine-tune's starting runs (empty for a run trained from scratch)."""
    chain = trained.get("init_chain") or ([trained["init"]] if trained.get("init") else [])
    if not chain:
        return []
    steps = sum(c["step"] for c in chain) + trained.get("step", 0)
    wall = sum(c.get("wall_s") or 0.0 for c in chain) + (trained.get("wall_s") or 0.0)
    runs = " -> ".join(f"`{c['from']}` ({c['step']:,} steps, {(c.get('wall_s') or 0.0) / 60:.0f} min)" for c in chain)
    return [f"That run was a fine-tune (`--init-from {chain[-1]['from']}`) with a fresh optimizer and the beta and "
            f"sampling schedules continued from step {tc.get('schedule_offset', 0):,}. It started from {runs}; "
            f"{steps:,} steps and {wall / 60:.0f} min of training in all."]


def _fmt(x) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def weights_line(folder: str | Path) -> str:
    """One sentence of a model card: how ``model.safetensors`` stores the weights, its size, and
    what the model reads from another folder."""
    folder = Path(folder)
    path = folder / "model.safetensors"
    with safe_open(str(path), framework="pt") as fh:
        int8 = any(k.endswith(SCALE) for k in fh.keys())
    kind = "int8 matrices with a scale per row, the rest fp16" if int8 else "fp16"
    line = f"Weights: {kind} safetensors, {path.stat().st_size / 1e6:.1f} MB."
    config = json.loads((folder / "config.json").read_text())
    for prefix, rec in config.get("lent", {}).items():
        line += (f" The frozen base (`{prefix}*`) is not copied: it is read from `{rec.get('from', '?')}` "
                 f"and checked against the sha256 it was trained over ({str(rec.get('sha256', ''))[:12]}...).")
    if config.get("model", {}).get("decoder") == "latent-seq" and not config.get("lent"):
        line += " The frozen base model's weights are inside this file."
    return line


def model_card(folder: str | Path, eval_result: dict, run_dir: str | Path, data_dir: str | Path,
               commands: dict[str, str], outside: dict | None = None) -> str:
    """Markdown model card: data, commands, steps, wall time and held-out metrics per style."""
    folder, run_dir = Path(folder), Path(run_dir)
    config = json.loads((folder / "config.json").read_text())
    trained = config.get("trained", {})
    manifest = json.loads((Path(data_dir) / "manifest.json").read_text())
    mc, tc = config["model"], config["train"]
    name = folder.name
    rows = []
    refined = eval_result.get("refine", {}).get("refine_steps", 0)
    source = f"from mu refined {refined} steps on the decoder" if refined else "from mu"
    for key, label in (("recon_accuracy_teacher_forced", "reconstruction accuracy, teacher-forced"),
                       ("recon_accuracy_sampled", f"reconstruction accuracy, sampled (argmax, own outputs, {source})"),
                       ("recon_accuracy_sampled_notes", "sampled accuracy on note-on steps"),
                       ("recon_accuracy_sampled_encoder_only", "sampled accuracy from the encoder's mu alone")):
        if key not in eval_result and key.endswith("encoder_only"):
            continue
        r = eval_result.get(key, {})
        rows.append(f"| {label} | {_fmt(r.get('overall'))} | " +
                    " | ".join(_fmt(r.get("per_style", {}).get(s, "-")) for s in mc["styles"][1:]) + " |")
    styles_hdr = " | ".join(mc["styles"][1:])
    real = eval_result.get("realism", {})
    interp = eval_result.get("interpolation", {})
    style = eval_result.get("style", {})
    lat, dat = interp.get("latent", interp), interp.get("data_space", {})
    seqs = trained.get("step", 0) * tc["batch_size"]
    wall = trained.get("wall_s") or 0.0
    meter = tuple(mc.get("meter", (4, 4)))
    spb = meter[0] * 16 // meter[1]   # steps of a bar at 4 per quarter
    bar_text = f"{mc['bars']} bars of {meter[0]}/{meter[1]}, {spb} steps each"
    judge = ("the classifier shipped beside the model" if (Path(folder) / "classifier.json").exists()
             else "a classifier trained on the training split at evaluation time")
    seq = mc["decoder"] == "latent-seq"
    lines = [
        f"# {name}",
        "",
        (f"A style-conditioned VAE over the sequence of 2-bar latents of the frozen `{mc['base_model']}` "
         f"(decoder `latent-seq`): a BiLSTM ({mc['enc_hidden']} per direction) reads the {mc['bars'] // 2} chunk "
         f"latents to one z = {mc['z_dim']}, an LSTM ({mc['dec_layers']}x{mc['dec_hidden']}) reads z back out to "
         f"{mc['bars'] // 2} latents, and `{mc['base_model']}`'s decoder writes each 2-bar chunk's notes; "
         f"{bar_text}, 130 token classes. {weights_line(folder)} Its latent is whitened by a Gaussian per "
         f"style fitted to the training phrases' posterior means, so N(0, I) samples where they live."
         if mc["decoder"] == "latent-seq" else
         f"A style-conditioned recurrent VAE over melody phrases: BiLSTM encoder "
         f"({mc['enc_hidden']} per direction), {mc['decoder']} LSTM decoder "
         f"({mc['dec_layers']}x{mc['dec_hidden']}" + (f", conductor {mc['conductor_layers']}x{mc['conductor_hidden']}"
                                                      if mc["decoder"] == "hier" else "") +
         f"), z = {mc['z_dim']}, {bar_text} ({mc['bars'] * spb} steps), 130 token classes. "
         f"{weights_line(folder)}"),
        "",
        "## Data",
        f"`{data_dir}`: music21's bundled corpus prepared by `musiclatent prepare` "
        f"({manifest['phrases']:,} phrases from {manifest['files_ok']:,} pieces; validation split by piece, "
        f"{manifest['phrases_validation']:,} phrases). Styles: " +
        ", ".join(f"{k} {v:,}" for k, v in manifest["styles"].items()) + ". See `data/README.md`.",
        "",
        "## How it was made",
        "```",
        *[f"{cmd}" for cmd in commands.values()],
        "```",
        f"Training: {trained.get('step', '?'):,} steps of batch {tc['batch_size']} ({seqs:,} sequences), "
        f"{wall / 60:.0f} min of training wall time on 2 CPU cores (bf16 autocast: {tc['bf16']}); Adam lr {tc['lr']} "
        f"decaying x{tc['lr_decay']} per step to {tc['min_lr']}, beta up to {tc['beta_max']} with "
        f"{tc['free_bits']} free bits, " +
        ("no scheduled sampling (the latent decoder is not autoregressive), " if seq
         else f"inverse-sigmoid scheduled sampling (k = {tc['sampling_rate']}), ") +
        f"+-{tc['augment_semitones']} semitone transposition, {tc['style_dropout']:.0%} of rows trained as style 'any'" +
        (f", decoder dropout {mc['dropout']}" if mc.get("dropout") else "") +
        (f", rows drawn with weight count(style)^-{tc['style_balance']} (`style_balance`)" if tc.get("style_balance") else "")
        + "." + (f" The loss is the Gaussian NLL of the {mc['bars'] // 2} `{mc['base_model']}` posterior means under that "
                 "encoder's own posterior widths, plus the KL; the model trains on cached chunk latents, and its "
                 "latent's per-style whitening is fitted at the end of `train`." if seq else ""),
        *_init_line(trained, tc),
        "",
        "## Held-out metrics (validation split, `musiclatent evaluate`)",
        f"| metric | overall | {styles_hdr} |",
        "|---|---|" + "---|" * (len(mc["styles"]) - 1),
        *rows,
        "",
        f"- NLL {_fmt(eval_result.get('nll_per_step'))} nats/step, KL {_fmt(eval_result.get('kl_bits'))} bits, "
        f"active dims {eval_result.get('active_dims')}/{mc['z_dim']}.",
        f"- Realism (MGEval-style, {real.get('samples')} prior samples at temperature {real.get('temperature')}): "
        f"mean overlap area {_fmt(real.get('overlap_area'))}, KL {_fmt(real.get('kl'))}.",
        f"- Interpolation ({interp.get('pairs', '?')} pairs): monotonicity {_fmt(lat.get('monotonicity'))} "
        f"(data-space baseline {_fmt(dat.get('monotonicity'))}), max jump {_fmt(lat.get('max_jump'))}, "
        f"linearity error {_fmt(lat.get('linearity_error'))}.",
        *_samples_lines(eval_result.get("samples")),
        f"- Style classifier ({judge}): held-out accuracy on real phrases "
        f"{_fmt(style.get('real', {}).get('accuracy'))} (balanced {_fmt(style.get('real', {}).get('balanced_accuracy'))}); "
        f"on style-conditioned prior samples {_fmt(style.get('conditioned', {}).get('accuracy'))}; "
        f"on restyled phrases at strength 1 {_fmt(style.get('restyled', {}).get('accuracy'))}.",
        *_style_control_lines(style.get("control")),
        *_outside_lines(outside),
        *_scorer_lines(folder),
        "",
        "The full JSON is `benchmarks/results/eval-" + name + ".json`.",
        "",
    ]
    return "\n".join(lines)


def _samples_lines(x: dict | None) -> list[str]:
    """The card's line on prior samples (``evaluate``'s samples section), if measured."""
    if not x:
        return []
    per = ", ".join(f"{k} {v['notes_per_bar_ratio']:.2f}" for k, v in x["per_style"].items())
    return [f"- Prior samples ({x['per_style_samples']} per style at temperature {x['temperature']:g}): "
            f"{x['held_over_2_bars']:.1%} hold one note for more than 2 bars (real phrases "
            f"{x['real_held_over_2_bars']:.1%}); notes per bar, samples / real: {per}."]


def _style_control_lines(c: dict | None) -> list[str]:
    """The card's style-control table (``evaluate``'s ``style.control``): both judges, per style."""
    if not c:
        return []
    styles = list(c["judges"]["classifier"]["conditioned"]["per_style"])
    cell = lambda per, s: _fmt(per.get(s, "-"))  # noqa: E731
    rows = []
    for j, label in (("classifier", "shipped classifier"), ("features", "feature classifier")):
        if j in c["judges"]:
            x = c["judges"][j]
            rows += [f"| {label}: held-out real phrases | {_fmt(x['real_balanced_accuracy'])} | " +
                     " | ".join(cell(x["real"], s) for s in styles) + " |",
                     f"| {label}: conditioned samples / real (ratio) | {_fmt(x['ratio'])} | " +
                     " | ".join(cell(x["ratio_per_style"], s) for s in styles) + " |",
                     f"| {label}: restyled, judged the target | {_fmt(x['restyled']['accuracy'])} | " +
                     " | ".join(cell(x["restyled"]["per_style"], s) for s in styles) + " |"]
    for key, label in (("diversity", "diversity (samples / real, mean pairwise feature distance)"),
                       ("overlap", "MGEval overlap of samples with real phrases")):
        if key in c:
            rows.append(f"| {label} | {_fmt(c[key]['mean'])} | " +
                        " | ".join(cell(c[key]["per_style"], s) for s in styles) + " |")
    kept = c["restyle_kept"]
    for key, label in (("onset_agreement", "restyle keeps: onset agreement (F1)"),
                       ("contour_correlation", "restyle keeps: contour correlation")):
        rows.append(f"| {label} | {_fmt(kept[key]['mean'])} | " +
                    " | ".join(cell(kept[key]["per_style"], s) for s in styles) + " |")
    return ["", f"## Style control ({c['samples_per_style']} samples per style at temperature {c['temperature']:g}; "
                f"z from {c['prior']})",
            "Accuracy is judged by the style classifier named above and by softmax regression on hand-made "
            "features fitted on the training split (`musiclatent.evaluation.feature_classifier`); a ratio is the "
            "samples' accuracy over the judge's on held-out real phrases. Restyle: held-out phrases moved to another "
            f"style at strength 1 ({kept['phrases']}), per target style.", "",
            "| measure | overall | " + " | ".join(styles) + " |", "|---|---|" + "---|" * len(styles), *rows]


def _scorer_lines(folder: Path) -> list[str]:
    """The card's pointer to the density-trained scorer that typicality is scored with, if shipped."""
    if not (folder / "scorer" / "model.safetensors").is_file():
        return []
    return ["", "## Typicality scores",
            "Typicality (`musiclatent score`, the Explore tab) is scored by `scorer/`, a density-trained "
            "model for this model's phrases and styles; its card is `scorer/README.md`."]


def _outside_lines(outside: dict | None) -> list[str]:
    """The card's generalization paragraph: music from outside the training corpus."""
    if not outside:
        return []
    acc = lambda key: _fmt(outside.get(key, {}).get("overall"))  # noqa: E731
    data = outside.get("data", {})
    source = data.get("source", "?") if isinstance(data, dict) else data
    return ["", f"## Music it never saw (`{source}`, outside the training corpus, {data.get('phrases', '?')} phrases)"
            if isinstance(data, dict) else f"## Music it never saw (`{source}`, outside the training corpus)",
            f"Reconstruction accuracy sampled {acc('recon_accuracy_sampled')}, teacher-forced "
            f"{acc('recon_accuracy_teacher_forced')}, sampled on note-on steps {acc('recon_accuracy_sampled_notes')}; "
            f"NLL {_fmt(outside.get('nll_per_step'))} nats/step."]


def scorer_card(folder: str | Path, heldout: dict, data_dir: str | Path, commands: dict[str, str]) -> str:
    """Markdown card of a model's density-trained scorer (``MODEL/scorer``): a twin or a model of its own shape."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    trained, tc, mc = config.get("trained", {}), config["train"], config["model"]
    metrics = trained.get("metrics", {})
    wall = trained.get("wall_s") or 0.0
    parent_cfg = folder.parent / "config.json"
    parent = json.loads(parent_cfg.read_text()).get("model", {}) if parent_cfg.is_file() else {}
    same = all(parent.get(k) == v for k, v in mc.items() if k != "styles")
    what = (f"The density-trained twin of `{folder.parent.name}`: the same VAE ({mc['bars']} bars, z = {mc['z_dim']}), "
            "fine-tuned as a likelihood model" if same else
            f"The density model of `{folder.parent.name}`: a VAE of its own shape ({mc['bars']} bars, {mc['decoder']} "
            f"decoder {mc['dec_layers']}x{mc['dec_hidden']}"
            f"{' with an interval head (+-%d semitones)' % mc['interval_range'] if mc.get('interval_range') else ''}, "
            f"encoder {mc['enc_hidden']}, z = {mc['z_dim']}; preset `{config.get('preset', '?')}`), trained as a "
            "likelihood model")
    return "\n".join([
        f"# {folder.parent.name} scorer",
        "",
        what + ": beta 1 with no free bits, always teacher-forced. Typicality scores "
        "(`musiclatent score`, the Explore tab, the index's `score_any`/`score_style`) are its negative ELBO per "
        "step, and its local scores (`local_any`/`local_style`) that minus the mean of 16 near variants'. It is "
        "never used to generate. Why: the generator's free bits give every phrase about the same KL, "
        "and scheduled sampling teaches its decoder to lean on z rather than on the true previous notes, so the "
        "generator's own ELBO hardly tells a shuffled melody from a real one "
        "(`python benchmarks/anomaly_auroc.py` prints both).",
        "",
        f"Weights: fp16 safetensors, {(folder / 'model.safetensors').stat().st_size / 1e6:.1f} MB.",
        "",
        "## How it was made",
        "```",
        *commands.values(),
        "```",
        f"Data: `{data_dir}` (the generator's own training split). {trained.get('step', 0):,} steps of batch "
        f"{tc['batch_size']}{' after the start below' if trained.get('init_chain') else ''}, {wall / 60:.0f} min "
        f"on 2 CPU cores; Adam lr {tc['lr']}, "
        f"beta {tc['beta_max']}, {tc['free_bits']} free bits, " +
        ("always teacher-forced." if tc["sampling_rate"] <= 0 or tc["sampling_rate"] >= 1e6
         else f"scheduled sampling k = {tc['sampling_rate']}."),
        *_init_line(trained, tc),
        "",
        f"## Held-out ({heldout['phrases']:,} validation phrases)",
        f"- Negative ELBO {heldout['elbo_per_step']:.3f} nats/step; per style: " +
        ", ".join(f"{k} {v:.3f}" for k, v in heldout["per_style"].items()) + ".",
        f"- Last training evaluation: KL {_fmt(metrics.get('val_kl_bits'))} bits, teacher-forced accuracy "
        f"{_fmt(metrics.get('val_acc_teacher_forced'))}, NLL {_fmt(metrics.get('val_nll_per_step'))} nats/step.",
        "",
    ])
