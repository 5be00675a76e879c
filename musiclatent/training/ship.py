"""Turn a training run into a shippable model folder.

The folder holds ``model.safetensors`` (fp16), ``config.json``,
``extras.safetensors`` (attribute vectors and per-style mean latents computed
from the training split) and ``README.md`` (the model card). It may also hold
``scorer/``: a density-trained model that typicality is scored with
(``export-model --scorer``; see :func:`scorer_card`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from musiclatent.generation.attributes import attribute_vectors, compute_attributes
from musiclatent.training.checkpoint import find_checkpoint, read_config
from musiclatent.data.dataset import load_dataset
from musiclatent.constants import PRETRAINED_DIR
from musiclatent.generation.facade import MusicLatent
from musiclatent.models.vae import check_chord_strength
from musiclatent.training.prior_fit import write_model_prior


def encode_all(ml: MusicLatent, tokens: np.ndarray, styles: np.ndarray, batch: int = 512) -> np.ndarray:
    """Latent means of many phrases, in batches: (n, T), (n,) -> (n, Z)."""
    out = [ml.encode(tokens[i:i + batch].astype(np.int64), styles[i:i + batch].tolist())
           for i in range(0, len(tokens), batch)]
    return np.concatenate(out) if out else np.zeros((0, ml.z_dim), np.float32)


def compute_extras(ml: MusicLatent, data_dir: str | Path, max_phrases: int = 20000, seed: int = 0) -> dict[str, np.ndarray]:
    """Attribute vectors and style means from (a sample of) the training split."""
    train = load_dataset(data_dir).train()
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.permutation(len(train))[:max_phrases])
    toks, styles = train.tokens[idx], train.style[idx]
    # unconditioned encodings keep each phrase's style in z: attribute vectors and the
    # per-style means that restyle moves between live in that space
    z = encode_all(ml, toks, np.zeros_like(styles))
    drums = ml.representation.name == "drums"
    if drums:    # drum attributes under the same names, and the velocity profile drum files are written with
        from musiclatent.data.drums import velocity_profile
        from musiclatent.generation.drums import drum_attributes

    attrs = drum_attributes(toks) if drums else compute_attributes(toks)
    extras = {f"attr.{k}": v for k, v in attribute_vectors(z, attrs).items()}
    if drums:
        extras.update(velocity_profile(data_dir))
    for sid, name in enumerate(ml.styles):
        if sid == 0:
            continue
        mask = styles == sid
        if mask.any():
            extras[f"style_mean.{name}"] = z[mask].mean(0).astype(np.float32)
    return extras


def write_extras(ml: MusicLatent, data_dir: str | Path, out_dir: str | Path) -> Path:
    """(Re)compute attribute vectors and style means of a model folder from its data."""
    extras = compute_extras(ml, data_dir)
    path = Path(out_dir) / "extras.safetensors"
    save_file({k: torch.from_numpy(v).half() for k, v in extras.items()}, str(path))
    return path


def export_model(run_dir: str | Path, data_dir: str | Path, out_dir: str | Path, card: str = "",
                 extras: bool = True, prior: bool = True, chord_strength: float | None = None) -> Path:
    """Write a shippable model folder from a run's latest checkpoint (``extras``: attribute vectors
    and style means, which a scorer does not need; ``prior``: with them, the style prior that
    sampling and restyle draw z from, :mod:`musiclatent.training.prior_fit`; ``chord_strength``:
    the chord-tone head's default strength, stored as ``config.json``'s ``sampling``)."""
    ckpt = find_checkpoint(run_dir)
    if ckpt is None:
        raise FileNotFoundError(f"no checkpoint in {run_dir}")
    ml = MusicLatent.from_checkpoint(ckpt)
    extra_arrays = compute_extras(ml, data_dir) if extras else {}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = read_config(ckpt)
    state = json.loads((ckpt / "state.json").read_text())
    config["trained"] = {"step": state["step"], "wall_s": state.get("wall_s"), "metrics": state.get("metrics", {})}
    if chord_strength is not None:
        if not ml.takes_chords or not ml.cfg.chord_tones:
            raise ValueError("chord_strength is for chord models with a chord-tone head (chord_tones)")
        config["sampling"] = {"chord_strength": check_chord_strength(chord_strength)}
    chain = init_chain(config.get("init_from"))
    if chain:   # a fine-tune: keep the record of the runs it started from
        config["trained"]["init_chain"] = chain
    weights = {k: v.half().contiguous() for k, v in ml.model.state_dict().items()}
    tmp = out_dir / "model.safetensors.tmp"
    save_file(weights, str(tmp))
    os.replace(tmp, out_dir / "model.safetensors")
    if extra_arrays:
        save_file({k: torch.from_numpy(v).half() for k, v in extra_arrays.items()}, str(out_dir / "extras.safetensors"))
        if prior:
            write_model_prior(ml, data_dir, out_dir, strict=False)   # where each style's latents live
    (out_dir / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    if card:
        (out_dir / "README.md").write_text(card)
    return out_dir


def init_chain(init_from: str | None, limit: int = 16) -> list[dict]:
    """The runs a fine-tune started from, first run first: [{"from", "step", "wall_s"}, ...].

    Follows each run's ``init_from``; an exported model folder (or a pretrained name) brings the
    chain recorded in its config. Stops at a run trained from scratch or one no longer on disk.
    """
    chain: list[dict] = []
    while init_from and len(chain) < limit:
        ckpt = find_checkpoint(init_from)
        if ckpt is None or not (ckpt / "state.json").is_file():
            folder = Path(init_from) if Path(init_from).is_dir() else PRETRAINED_DIR / str(init_from)
            trained = read_config(folder).get("trained") if (folder / "config.json").is_file() else None
            if trained:
                chain[:0] = list(trained.get("init_chain", [])) + [
                    {"from": str(init_from), "step": trained.get("step", 0), "wall_s": trained.get("wall_s")}]
            break
        state = json.loads((ckpt / "state.json").read_text())
        chain.insert(0, {"from": str(init_from), "step": state["step"], "wall_s": state.get("wall_s")})
        init_from = read_config(ckpt).get("init_from")
    return chain


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


def model_card(folder: str | Path, eval_result: dict, run_dir: str | Path, data_dir: str | Path,
               commands: dict[str, str], outside: dict | None = None) -> str:
    """Markdown model card: data, commands, steps, wall time and held-out metrics per style."""
    folder, run_dir = Path(folder), Path(run_dir)
    config = json.loads((folder / "config.json").read_text())
    trained = config.get("trained", {})
    manifest = json.loads((Path(data_dir) / "manifest.json").read_text())
    mc, tc = config["model"], config["train"]
    size_mb = (folder / "model.safetensors").stat().st_size / 1e6
    name = folder.name
    rows = []
    for key, label in (("recon_accuracy_teacher_forced", "reconstruction accuracy, teacher-forced"),
                       ("recon_accuracy_sampled", "reconstruction accuracy, sampled (argmax, own outputs, from mu)"),
                       ("recon_accuracy_sampled_notes", "sampled accuracy on note-on steps")):
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
    lines = [
        f"# {name}",
        "",
        (f"A style-conditioned VAE over the sequence of 2-bar latents of the frozen `{mc['base_model']}` "
         f"(decoder `latent-seq`): a BiLSTM ({mc['enc_hidden']} per direction) reads the {mc['bars'] // 2} chunk "
         f"latents to one z = {mc['z_dim']}, an LSTM ({mc['dec_layers']}x{mc['dec_hidden']}) reads z back out to "
         f"{mc['bars'] // 2} latents, and `{mc['base_model']}`'s decoder writes each 2-bar chunk's notes; "
         f"{bar_text}, 130 token classes. The frozen base model's weights are inside "
         f"this file (fp16 safetensors, {size_mb:.1f} MB in all). Its latent is whitened by a Gaussian per "
         f"style fitted to the training phrases' posterior means, so N(0, I) samples where they live."
         if mc["decoder"] == "latent-seq" else
         f"A style-conditioned recurrent VAE over melody phrases: BiLSTM encoder "
         f"({mc['enc_hidden']} per direction), {mc['decoder']} LSTM decoder "
         f"({mc['dec_layers']}x{mc['dec_hidden']}" + (f", conductor {mc['conductor_layers']}x{mc['conductor_hidden']}"
                                                      if mc["decoder"] == "hier" else "") +
         f"), z = {mc['z_dim']}, {bar_text} ({mc['bars'] * spb} steps), 130 token classes. "
         f"Weights: fp16 safetensors, {size_mb:.1f} MB."),
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
        f"{tc['free_bits']} free bits, inverse-sigmoid scheduled sampling (k = {tc['sampling_rate']}), "
        f"+-{tc['augment_semitones']} semitone transposition, {tc['style_dropout']:.0%} of rows trained as style 'any'" +
        (f", decoder dropout {mc['dropout']}." if mc.get("dropout") else "."),
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


def scorer_heldout(ml: MusicLatent, data_dir: str | Path, max_phrases: int = 2000, seed: int = 0) -> dict:
    """Mean negative ELBO per step (nats) of validation phrases, overall and per style; a scorer
    that hears chords scores them over their chords."""
    from musiclatent.evaluation.evaluate import model_style_ids
    from musiclatent.latent.scoring import batched_scores

    val = load_dataset(data_dir).validation()
    pick = np.sort(np.random.default_rng(seed).permutation(len(val))[:max_phrases])
    val = val.subset(pick)
    styles = model_style_ids(ml, val)
    elbo = batched_scores(ml, val.tokens.astype(np.int64), styles, 256,
                          chords=val.chords.astype(np.int64) if ml.takes_chords else None)
    per_style = {ml.styles[i]: float(elbo[styles == i].mean()) for i in np.unique(styles)}
    return {"phrases": int(len(val)), "elbo_per_step": float(elbo.mean()), "per_style": per_style}


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
