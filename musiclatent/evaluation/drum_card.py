"""The model card of a drum model, written from its evaluation JSON (``musiclatent model-card``)."""

from __future__ import annotations

import json
from pathlib import Path

from musiclatent.data.drums import GROOVE_CREDIT


def _f(x) -> str:
    return f"{x:.3f}" if isinstance(x, float) else ("-" if x is None else str(x))


def drum_model_card(folder: str | Path, result: dict, data_dir: str | Path, commands: dict[str, str]) -> str:
    """Markdown: what the model is, its data and credit, how it was made, and the issue-22 targets."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    mc, tc, trained = config["model"], config["train"], config.get("trained", {})
    manifest = json.loads((Path(data_dir) / "manifest.json").read_text())
    size_mb = (folder / "model.safetensors").stat().st_size / 1e6
    wall = (trained.get("wall_s") or 0.0) / 60
    rs, rt = result.get("recon_accuracy_sampled", {}), result.get("recon_accuracy_teacher_forced", {})
    real, interp, style = result.get("realism") or {}, result.get("interpolation") or {}, result.get("style") or {}
    styles = [s for s in mc["styles"][1:] if s in rs.get("per_style", {})]
    ratio = style.get("conditioned_to_real")
    refined = result.get("refine", {}).get("refine_steps", 0)
    source = f"from mu refined {refined} steps on the decoder" if refined else "from mu"
    lines = [
        f"# {folder.name}",
        "",
        f"A style-conditioned recurrent VAE over 2-bar drum grooves: BiLSTM encoder ({mc['enc_hidden']} per "
        f"direction), flat LSTM decoder ({mc['dec_layers']}x{mc['dec_hidden']}), z = {mc['z_dim']}, 32 steps of "
        f"16th notes, 512 token classes (the set of the 9 kit classes hit on a step: kick, snare, closed and open "
        f"hi-hat, low, mid and high tom, crash, ride; `musiclatent/representations/drums.py`). Velocities are not "
        f"modelled: decoded hits take the input groove's level, else the mean level of their class on their step "
        f"in the training grooves (`drum.velocity` in `extras.safetensors`). Weights: fp16 safetensors, "
        f"{size_mb:.1f} MB. Styles: {', '.join(mc['styles'][1:])} (and `any`).",
        "",
        "## Data",
        f"`{data_dir}`: the Groove MIDI Dataset's 4/4 drum performances, 2-bar windows on every bar "
        f"({manifest['phrases']:,} windows from {manifest['files_ok']:,} files; its official split: "
        f"{manifest['phrases'] - manifest['phrases_validation'] - manifest['phrases_test']:,} train, "
        f"{manifest['phrases_validation']:,} validation, {manifest['phrases_test']:,} test, never trained on). "
        "See `data/README.md`.",
        "",
        f"Credit: {GROOVE_CREDIT}.",
        "",
        "## How it was made",
        "```",
        *commands.values(),
        "```",
        f"Training: {trained.get('step', 0):,} steps of batch {tc['batch_size']}, {wall:.0f} min of training wall "
        f"time with one torch thread on 2 CPU cores shared with other jobs (bf16 autocast: {tc['bf16']}); Adam lr "
        f"{tc['lr']} decaying x{tc['lr_decay']} per step to {tc['min_lr']}, beta up to {tc['beta_max']} with "
        f"{tc['free_bits']} free bits, " + (f"inverse-sigmoid scheduled sampling (k = {tc['sampling_rate']}), "
                                            if tc["sampling_rate"] else "always teacher-forced, ") +
        f"{tc['style_dropout']:.0%} of rows trained as style `any`.",
        "",
        f"## Test-split metrics (`musiclatent evaluate`, {result['data']['phrases']:,} windows of the "
        f"{result['data']['split']} split)",
        "| metric | value | target |",
        "|---|---|---|",
        f"| reconstruction, sampled (argmax, own outputs, {source}), all 512 classes per step | "
        f"{_f(rs.get('overall'))} | >= 0.95 |",
        f"| reconstruction, teacher-forced | {_f(rt.get('overall'))} | |",
        *([f"| the same from the encoder's mu alone, sampled (teacher-forced) | "
           f"{_f(result['recon_accuracy_sampled_encoder_only']['overall'])} "
           f"({_f(result['recon_accuracy_teacher_forced_encoder_only']['overall'])}) | |"] if refined else []),
        f"| sampled, on steps with a hit | {_f(result.get('recon_accuracy_sampled_hit_steps'))} | |",
        f"| whole 2-bar groove exact, sampled | {_f(result.get('recon_phrase_exact_sampled'))} | |",
        f"| style classifier on conditioned samples / on real test grooves (balanced) | {_f(ratio)} | >= 0.9 |",
        f"| realism: mean overlap area of drum features, samples vs test grooves | {_f(real.get('overlap_area'))} "
        "| >= 0.9 |",
        f"| interpolation monotonicity | {_f(interp.get('monotonicity'))} | >= 0.95 |",
        "",
        "Sampled reconstruction per style: " + ", ".join(f"{s} {_f(rs['per_style'][s])}" for s in styles) + ".",
        f"NLL {_f(result.get('nll_per_step'))} nats/step, KL {_f(result.get('kl_bits'))} bits, active dims "
        f"{result.get('active_dims')}/{mc['z_dim']}.",
    ]
    if "real" in style:
        lines.append(
            f"Style classifier (a small CNN over the hit grid, trained on the training split): real test grooves "
            f"{_f(style['real']['accuracy'])} (balanced {_f(style['real']['balanced_accuracy'])}) over "
            f"{', '.join(style['classifier']['judged'])}; conditioned prior samples "
            f"{_f(style['conditioned']['accuracy'])} at temperature {style['conditioned']['temperature']:g}.")
    if real:
        lines.append(f"Realism from {real.get('samples')} prior samples at temperature {real.get('temperature')}; "
                     "per feature: " + ", ".join(f"{k} {_f(v['overlap_area'])}" for k, v in real["features"].items())
                     + ".")
    if interp:
        lines.append(f"Interpolation over {interp.get('pairs')} pairs of test grooves in {interp.get('steps')} steps: "
                     f"max jump {_f(interp.get('max_jump'))}, linearity error {_f(interp.get('linearity_error'))}; "
                     f"data-space baseline monotonicity {_f(interp.get('data_space', {}).get('monotonicity'))}.")
    lines += ["", f"The full JSON is `benchmarks/results/eval-{folder.name}.json`.", ""]
    return "\n".join(lines)
