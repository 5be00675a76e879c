"""The recurrent VAE: shapes, loss parts, decoders and the config round trip."""

import dataclasses
import json

import pytest
import torch

from musiclatent.config import ModelConfig, TrainConfig
from musiclatent.constants import HOLD, NOTE_ON_OFFSET, REST
from musiclatent.models.modules import add_interval_logits, interval_logits, last_pitches
from musiclatent.models.builders import build_vae
from musiclatent.presets import PRESETS, get_preset


@pytest.mark.parametrize("preset", ["debug", "debug-hier"])
def test_forward_returns_loss_parts(preset):
    cfg = dataclasses.replace(get_preset(preset).model, styles=("any", "a", "b"))
    model = build_vae(cfg)
    x = torch.randint(0, 130, (4, cfg.steps))
    s = torch.tensor([0, 1, 2, 1])
    parts = model(x, s, beta=0.5, free_bits=0.0, p_teacher=0.5)
    assert {"loss", "recon", "nll_per_step", "kl", "kl_bits", "beta", "accuracy"} <= set(parts)
    assert parts["loss"].requires_grad and parts["loss"].ndim == 0
    assert parts["kl_bits"].item() == pytest.approx(parts["kl"].item() / 0.6931471805599453, rel=1e-5)
    assert parts["loss"].item() == pytest.approx(parts["recon"].item() + 0.5 * parts["kl"].item(), rel=1e-4)
    parts["loss"].backward()
    assert all(p.grad is not None for p in model.encoder.parameters())


def test_free_bits_remove_kl_penalty():
    model = build_vae(get_preset("debug").model)
    x = torch.randint(0, 130, (4, 32))
    s = torch.zeros(4, dtype=torch.long)
    torch.manual_seed(0)
    free = model(x, s, beta=1.0, free_bits=1e6)
    assert free["loss"].item() == pytest.approx(free["recon"].item(), rel=1e-5)


@pytest.mark.parametrize("preset", ["debug", "debug-hier"])
def test_sampling_is_fed_its_own_outputs_and_matches_teacher_forcing(preset):
    """Argmax decoding, fed with its outputs, must equal the argmax of a teacher-forced
    pass over those same outputs (the cached step-by-step state is exact)."""
    cfg = get_preset(preset).model
    model = build_vae(cfg).eval()
    z = torch.randn(3, cfg.z_dim)
    s = torch.zeros(3, dtype=torch.long)
    out = model.sample(z, s, temperature=0.0)
    assert out.shape == (3, cfg.steps)
    tf = model.logits(z, s, out).argmax(-1)
    assert torch.equal(tf, out)


@pytest.mark.parametrize("interval_range", [0, 3])
@pytest.mark.parametrize("preset", ["debug", "debug-hier"])
def test_cached_stepper_gives_the_teacher_forced_logits(preset, interval_range):
    """Stepping through the true tokens with cached state reproduces the fused pass, 2 layers, the
    step-in-bar embedding and the interval head included (the stepper tracks the latest pitch)."""
    cfg = dataclasses.replace(get_preset(preset).model, dec_layers=2, pos_dim=4, interval_range=interval_range)
    model = build_vae(cfg).eval()
    x = torch.randint(0, 130, (2, cfg.steps))
    z, style = torch.randn(2, cfg.z_dim), model.style_embed(torch.tensor([0, 0]))
    with torch.no_grad():
        want = model.decoder(z, style, x)                               # (2, T, C)
        dec = model.decoder
        stepper = dec.core.stepper()
        conds = dec.bar_embeddings(z, style) if cfg.decoder == "hier" else None
        prev = torch.full((2,), dec.core.start_id)
        got, state = [], None
        for t in range(cfg.steps):
            if cfg.decoder == "flat" and t == 0:
                state = stepper.start(torch.cat([z, style], dim=-1))
            elif cfg.decoder == "hier" and t % 16 == 0:
                state = stepper.start(conds[:, t // 16])
            logits, state = stepper.step(prev, t % 16 if cfg.decoder == "hier" else t, state)
            got.append(logits)
            prev = x[:, t]
    assert torch.allclose(torch.stack(got, 1), want, atol=1e-5)


def test_last_pitches_follow_note_ons_only():
    """Holds, rests and the start id keep the latest pitch; before any note it is -1."""
    start = 130
    prev = torch.tensor([[start, HOLD, 2 + 60, HOLD, REST, 2 + 64, HOLD]])
    assert last_pitches(prev, start, NOTE_ON_OFFSET).tolist() == [[-1, -1, 60, 60, 60, 64, 64]]


def test_interval_logits_land_on_the_right_pitches():
    """Interval i from pitch p raises pitch p + i, only within the head's range; no previous note
    (-1) raises nothing. Adding them keeps the hold and rest logits."""
    k = 2
    rel = torch.arange(1.0, 2 * k + 2)                                  # intervals -2..2 -> 1..5
    got = interval_logits(rel[None].expand(2, -1), torch.tensor([60, -1]))
    assert got[0, 58:63].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert got[0].sum() == 15.0 and got[1].abs().sum() == 0.0
    base = torch.zeros(1, 130)
    added = add_interval_logits(base, rel[None], torch.tensor([127]), NOTE_ON_OFFSET)
    assert added.shape == (1, 130) and added[0, :2].tolist() == [0.0, 0.0]
    assert added[0, 2 + 125:].tolist() == [1.0, 2.0, 3.0]              # 127 + 1, + 2 are off the keyboard


def test_interval_head_trains_and_loads(tmp_path):
    """A model with the interval head has its weights; a config without one loads as before."""
    cfg = dataclasses.replace(get_preset("debug").model, interval_range=4)
    model = build_vae(cfg)
    assert model.decoder.core.interval.out_features == 9
    x = torch.randint(0, 130, (3, cfg.steps))
    parts = model(x, torch.zeros(3, dtype=torch.long))
    parts["loss"].backward()
    assert model.decoder.core.interval.weight.grad.abs().sum() > 0
    assert build_vae(get_preset("debug").model).decoder.core.interval is None


def test_config_json_round_trip():
    cfg = dataclasses.replace(get_preset("melody-16bar").model, styles=("any", "x"))
    again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.steps == 256
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()
    with pytest.raises(ValueError):
        ModelConfig(styles=("rock",))


def test_presets_registry():
    assert {"melody-2bar", "melody-16bar", "debug"} <= set(PRESETS)
    assert get_preset("melody-2bar").model.decoder == "flat"
    assert get_preset("melody-16bar").model.decoder == "hier"
    assert 128 <= get_preset("melody-2bar").model.z_dim <= 512
    with pytest.raises(KeyError, match="melody-2bar"):
        get_preset("nope")


def test_decoder_dropout_acts_in_training_only():
    cfg = dataclasses.replace(get_preset("debug").model, dropout=0.5)
    torch.manual_seed(0)
    model = build_vae(cfg)
    x = torch.randint(0, 130, (3, cfg.steps))
    s = torch.zeros(3, dtype=torch.long)
    z = torch.randn(3, cfg.z_dim)
    model.train()
    assert not torch.allclose(model.logits(z, s, x), model.logits(z, s, x))    # a fresh mask per pass
    model.eval()
    torch.testing.assert_close(model.logits(z, s, x), model.logits(z, s, x))
    plain = build_vae(dataclasses.replace(cfg, dropout=0.0))
    assert set(plain.state_dict()) == set(model.state_dict())    # no new weights: old checkpoints still load
