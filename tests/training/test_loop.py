"""Training: logs, schedules, exact resume, and 2-process DDP on CPU (gloo)."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from musiclatent.training.checkpoint import find_checkpoint, load_tensors
from musiclatent.presets import get_preset
from musiclatent.training.loop import get_beta, get_lr, get_teacher_prob, train


def test_schedules():
    tc = get_preset("melody-2bar").train
    assert get_beta(0, tc) == 0 and get_beta(10**6, tc) == pytest.approx(tc.beta_max)
    assert get_lr(0, tc) == tc.lr and get_lr(10**7, tc) == tc.min_lr
    assert get_teacher_prob(0, tc) > 0.99 and get_teacher_prob(10**6, tc) < 0.01
    assert get_teacher_prob(1000, tc) > get_teacher_prob(20000, tc)


def test_schedule_offset_continues_beta_and_sampling():
    tc = get_preset("melody-2bar").train
    moved = dataclasses.replace(tc, schedule_offset=18500)
    assert get_beta(0, moved) == pytest.approx(get_beta(18500, tc))
    assert get_teacher_prob(10, moved) == pytest.approx(get_teacher_prob(18510, tc))
    assert get_lr(0, moved) == tc.lr                     # the learning rate restarts


def test_init_from_warm_starts_a_new_run(tiny_dataset, debug_run, tmp_path):
    source = load_tensors(find_checkpoint(debug_run) / "model.safetensors")
    train(tiny_dataset, "debug", tmp_path / "ft", max_steps=1, progress=False, init_from=debug_run,
          overrides={"lr": 1e-9, "min_lr": 1e-9})
    ckpt = find_checkpoint(tmp_path / "ft")
    tuned = load_tensors(ckpt / "model.safetensors")
    assert all(torch.allclose(tuned[k], source[k], atol=1e-6) for k in source)   # one step at lr 1e-9
    assert json.loads((ckpt / "state.json").read_text())["step"] == 1
    assert json.loads((ckpt / "config.json").read_text())["init_from"] == str(debug_run)
    train(tiny_dataset, "debug", tmp_path / "ft", resume=True, max_steps=2, progress=False)
    assert json.loads((find_checkpoint(tmp_path / "ft") / "config.json").read_text())["init_from"] == str(debug_run)
    train(tiny_dataset, "debug", tmp_path / "fresh", max_steps=1, progress=False, overrides={"lr": 1e-9, "min_lr": 1e-9})
    fresh = load_tensors(find_checkpoint(tmp_path / "fresh") / "model.safetensors")
    assert not all(torch.allclose(fresh[k], source[k], atol=1e-6) for k in source)
    with pytest.raises(ValueError, match="init-from"):
        train(tiny_dataset, "debug", tmp_path / "bad", max_steps=1, progress=False, init_from=tmp_path / "nothing")



def test_fine_tune_can_switch_dropout_on_but_a_resume_keeps_it(tiny_dataset, debug_run, tmp_path):
    train(tiny_dataset, "debug", tmp_path / "ft", max_steps=1, progress=False, init_from=debug_run, dropout=0.25)
    config = json.loads((find_checkpoint(tmp_path / "ft") / "config.json").read_text())
    assert config["model"]["dropout"] == 0.25 and get_preset("debug").model.dropout == 0.0
    with pytest.raises(ValueError, match="keeps its settings"):
        train(tiny_dataset, "debug", tmp_path / "ft", resume=True, max_steps=2, progress=False, dropout=0.5)
    assert json.loads((find_checkpoint(tmp_path / "ft") / "state.json").read_text())["step"] == 1
    train(tiny_dataset, "debug", tmp_path / "ft", resume=True, max_steps=2, progress=False, dropout=0.25)
    with pytest.raises(ValueError, match="dropout"):
        train(tiny_dataset, "debug", tmp_path / "bad", max_steps=1, progress=False, dropout=1.5)
    assert not (tmp_path / "bad").exists() or find_checkpoint(tmp_path / "bad") is None

def test_set_parses_typed_overrides():
    from musiclatent.cli.model import parse_settings

    assert parse_settings(["free_bits=96", "lr=5e-4", "max-steps=10", "bf16=false"]) == \
        {"free_bits": 96.0, "lr": 5e-4, "max_steps": 10, "bf16": False}
    with pytest.raises(ValueError, match="free_bits"):
        parse_settings(["free_bitz=1"])
    with pytest.raises(ValueError, match="not a int"):
        parse_settings(["max_steps=ten"])


@pytest.mark.parametrize("setting, message", [("lr=-0.1", "lr must be"), ("batch_size=0", "batch_size must be"),
                                              ("beta_rate=1.5", "beta_rate must be"), ("lr=nan", "finite")])
def test_out_of_range_settings_are_refused_before_training(setting, message, tiny_dataset, tmp_path):
    from musiclatent.cli.model import parse_settings

    with pytest.raises(ValueError, match=message):
        train(tiny_dataset, "debug", tmp_path / "r", overrides=parse_settings([setting]), progress=False)
    assert not (tmp_path / "r" / "checkpoint").exists()


def test_layer_mix_is_for_drum_models_only(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match="layer_mix"):
        train(tiny_dataset, "debug", tmp_path / "m", overrides={"layer_mix": 0.5}, progress=False)
    assert not (tmp_path / "m" / "checkpoint").exists()


def test_layer_mixed_batches_pair_grooves_of_one_style():
    from musiclatent.data.dataset import random_batch, same_style_partners
    from musiclatent.representations.drums import CYMBAL_MASK

    # style 1: kick-only rows with closed hats; style 2: snare-only rows with ride; every row distinct
    n = 40
    style = torch.tensor([1] * 20 + [2] * 20)
    kick_hat, snare_ride = 1 | 4, 2 | 256
    tokens = torch.zeros(n, 32, dtype=torch.long)
    for i in range(n):
        tokens[i, i % 32] = kick_hat if i < 20 else snare_ride
    gen = torch.Generator().manual_seed(0)
    partners = same_style_partners(torch.arange(n), style, gen)
    assert (style[partners] == style).all() and (partners != torch.arange(n)).any()
    x, s = random_batch(tokens, style, 256, gen, layer_mix=1.0)
    drums, cymbals = x & ~CYMBAL_MASK, x & CYMBAL_MASK
    assert ((drums == 1).any(1) == (s == 1)).all()          # each row keeps its own style id
    mixed = ((drums > 0).int().argmax(1) != (cymbals > 0).int().argmax(1))
    assert mixed.float().mean() > 0.8                       # the cymbals come from another groove
    assert not ((drums == 1) & ((cymbals & 256) > 0)).any() # never across styles
    x0, _ = random_batch(tokens, style, 256, torch.Generator().manual_seed(0), layer_mix=0.0)
    assert (((x0 & ~CYMBAL_MASK) > 0).int().argmax(1) == ((x0 & CYMBAL_MASK) > 0).int().argmax(1)).all()


def test_resume_refuses_a_tampered_train_config(tiny_dataset, tmp_path):
    from musiclatent.training.checkpoint import CheckpointError

    train(tiny_dataset, "debug", tmp_path / "r", max_steps=5, progress=False)
    cfg_path = find_checkpoint(tmp_path / "r") / "config.json"
    config = json.loads(cfg_path.read_text())
    config["train"]["batch_size"] = -3
    cfg_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="bad train config.*batch_size"):
        train(tiny_dataset, "debug", tmp_path / "r", max_steps=10, resume=True, progress=False)


def test_metrics_logged(debug_run):
    rows = [json.loads(l) for l in (debug_run / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if r["kind"] == "train"]
    evals = [r for r in rows if r["kind"] == "eval"]
    assert {"recon", "kl_bits", "beta", "seq_per_s", "accuracy"} <= set(train_rows[-1])
    assert {"val_acc_teacher_forced", "val_acc_sampled"} <= set(evals[-1])
    assert train_rows[-1]["loss"] < train_rows[0]["loss"]


def test_resume_is_exact(tiny_dataset, tmp_path):
    train(tiny_dataset, "debug", tmp_path / "straight", max_steps=20, progress=False)
    train(tiny_dataset, "debug", tmp_path / "split", max_steps=10, progress=False)
    state = json.loads((find_checkpoint(tmp_path / "split") / "state.json").read_text())
    assert state["step"] == 10
    train(tiny_dataset, "debug", tmp_path / "split", max_steps=20, resume=True, progress=False)
    a = load_tensors(tmp_path / "straight" / "checkpoint" / "model.safetensors")
    b = load_tensors(tmp_path / "split" / "checkpoint" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_falls_back_to_old_checkpoint(tiny_dataset, tmp_path):
    """A kill between the two renames leaves only checkpoint.old: resume uses it."""
    train(tiny_dataset, "debug", tmp_path / "r", max_steps=10, progress=False)
    os.replace(tmp_path / "r" / "checkpoint", tmp_path / "r" / "checkpoint.old")
    assert find_checkpoint(tmp_path / "r").name == "checkpoint.old"
    last = train(tiny_dataset, "debug", tmp_path / "r", max_steps=12, resume=True, progress=False)
    assert last["step"] == 12


def test_ddp_two_processes_on_cpu(tiny_dataset, tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    if torchrun is None:
        pytest.skip("torchrun not installed")
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [torchrun, "--standalone", "--nproc_per_node=2", "-m", "musiclatent.cli", "train",
           "--data", str(tiny_dataset), "--preset", "debug", "--out", str(out), "--steps", "40", "--quiet",
           "--threads", "1"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r0 = json.loads((out / "rank0.json").read_text())
    r1 = json.loads((out / "rank1.json").read_text())
    assert r0["checksum"] == r1["checksum"] and r0["step"] == 40
    rows = [json.loads(l) for l in (out / "metrics.jsonl").read_text().splitlines() if '"train"' in l]
    assert rows[-1]["loss"] < rows[0]["loss"]


def test_warm_start_relearns_a_style_table_of_another_size():
    from musiclatent.training.checkpoint import CheckpointError, warm_start_weights
    from musiclatent.models.builders import build_vae

    cfg = get_preset("debug").model
    source = build_vae(dataclasses.replace(cfg, styles=("any", "a", "b", "c")))
    target = build_vae(dataclasses.replace(cfg, styles=("any", "mine")))
    fresh = warm_start_weights(target, source.state_dict())
    assert fresh == ["style_embed.weight"]
    assert torch.equal(target.encoder.lstm.weight_ih_l0, source.encoder.lstm.weight_ih_l0)
    with pytest.raises(CheckpointError, match="no weight matches"):
        warm_start_weights(target, {"unrelated": torch.zeros(3)})
