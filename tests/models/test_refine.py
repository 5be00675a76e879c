"""Semi-amortized encoding: refined latents read back better, alone in any batch, and the settings
travel in config.json."""

import json
import shutil

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from musiclatent.data.dataset import load_dataset
from musiclatent.generation.facade import MusicLatent
from musiclatent.models.refine import RefineSettings, elbo_per_step, refine_latents
from musiclatent.training.checkpoint import CheckpointError
from musiclatent.training.ship import export_model


def _phrases(tiny_dataset, n=12):
    return torch.from_numpy(load_dataset(tiny_dataset).tokens[:n].astype(np.int64))


def _nll(model, z, s, x):
    return F.cross_entropy(model.logits(z, s, x).float().transpose(1, 2), x, reduction="none").sum(1)


def test_refined_latents_read_back_likelier_and_leave_the_weights_alone(debug_model, tiny_dataset):
    model, x = debug_model.model, _phrases(tiny_dataset)
    s = torch.zeros(len(x), dtype=torch.long)
    with torch.no_grad():
        mu, _ = model.encode(x, s)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    z = refine_latents(model, x, s, mu, RefineSettings(steps=30, lr=0.1))
    assert not torch.equal(z, mu) and not z.requires_grad
    with torch.no_grad():
        assert (_nll(model, z, s, x) <= _nll(model, mu, s, x) + 1e-4).all()
        assert _nll(model, z, s, x).sum() < _nll(model, mu, s, x).sum() - 1.0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert refine_latents(model, x, s, mu, RefineSettings(steps=0)) is mu


def test_a_phrase_refines_to_the_same_latent_in_any_batch(debug_model, tiny_dataset):
    x = _phrases(tiny_dataset).numpy()
    together = debug_model.encode(x, refine=10)
    alone = np.concatenate([debug_model.encode(x[i:i + 1], refine=10) for i in range(3)])
    np.testing.assert_allclose(alone, together[:3], atol=1e-4)
    assert np.abs(together - debug_model.encode(x)).max() > 1e-3      # the folder's default: no refinement


@pytest.mark.parametrize("bad", [{"steps": -1}, {"steps": 10_000}, {"steps": 2.5}, {"lr": -0.1}, {"lr": float("nan")},
                                 {"prior_weight": True}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError, match="refine"):
        RefineSettings(**bad)


def test_export_stores_the_settings_and_a_bad_file_is_refused(debug_run, tiny_dataset, tmp_path):
    out = export_model(debug_run, tiny_dataset, tmp_path / "m", extras=False, refine=RefineSettings(12, 0.05))
    config = json.loads((out / "config.json").read_text())
    assert RefineSettings.from_dict(config["encoding"]) == RefineSettings(12, 0.05)
    ml = MusicLatent.from_checkpoint(out)
    assert ml.refine.steps == 12 and ml.refine.lr == 0.05
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    config["encoding"]["refine_steps"] = "many"
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="encoding"):
        MusicLatent.from_checkpoint(bad)


def test_elbo_per_step_is_the_facade_score(debug_model, tiny_dataset):
    x = _phrases(tiny_dataset)
    with torch.no_grad():
        direct = elbo_per_step(debug_model.model, x, torch.zeros(len(x), dtype=torch.long))
    np.testing.assert_allclose(debug_model.score(x.numpy()), direct.numpy(), rtol=1e-5)
    assert (direct > 0).all()


def test_reconstruction_reports_the_refined_and_the_encoder_alone(debug_model, tiny_dataset):
    from musiclatent.evaluation.reconstruction import reconstruction_section

    x = _phrases(tiny_dataset).numpy()
    styles = np.zeros(len(x), np.int64)
    plain = reconstruction_section(debug_model.model, x, styles, debug_model.styles, batch=5)
    refined = reconstruction_section(debug_model.model, x, styles, debug_model.styles, batch=5,
                                     refine=RefineSettings(30, 0.1))
    assert "refine" not in plain and refined["refine"]["refine_steps"] == 30
    assert refined["recon_accuracy_sampled_encoder_only"] == plain["recon_accuracy_sampled"]
    assert refined["recon_accuracy_teacher_forced_encoder_only"] == plain["recon_accuracy_teacher_forced"]
    assert refined["recon_accuracy_teacher_forced"]["overall"] >= plain["recon_accuracy_teacher_forced"]["overall"]


def test_a_phrase_the_decoder_already_gives_back_is_not_moved(debug_model, tiny_dataset):
    model, x = debug_model.model, _phrases(tiny_dataset)
    s = torch.zeros(len(x), dtype=torch.long)
    with torch.no_grad():
        mu, _ = model.encode(x, s)
        own = model.sample(mu, s)                      # argmax, fed its own outputs: exact under teacher forcing
    mixed = torch.cat([own[:3], x[3:]])
    z = refine_latents(model, mixed, s, mu, RefineSettings(steps=15))
    assert torch.equal(z[:3], mu[:3])
    with torch.no_grad():
        stuck = (model.logits(mu[3:], s[3:], x[3:]).argmax(-1) != x[3:]).any(1)
    assert stuck.any() and not torch.equal(z[3:][stuck], mu[3:][stuck])



def test_a_chord_model_refines_over_the_chords_and_strength_it_decodes_with():
    import dataclasses

    from musiclatent.models.vae import MusicVAE
    from musiclatent.presets import get_preset
    from musiclatent.representations.chords import parse_progression

    torch.manual_seed(0)
    cfg = dataclasses.replace(get_preset("debug-chords").model, styles=("any",), chord_tones=True)
    m = MusicVAE(cfg).eval()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "tones" in name:
                p.normal_(0.0, 2.0)                        # wake the chord-tone head
    z, s = torch.randn(6, cfg.z_dim), torch.zeros(6, dtype=torch.long)
    chords = torch.tensor([parse_progression("C G Am F")] * 6)
    with torch.no_grad():
        heard = m.sample(z, s, chords=chords, chord_strength=2.5)
    settings = RefineSettings(steps=10)
    assert torch.equal(refine_latents(m, heard, s, z, settings, chords, 2.5), z)   # already exact as decoded
    assert not torch.equal(refine_latents(m, heard, s, z, settings), z)            # not without the chords
