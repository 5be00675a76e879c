"""The latent-sequence VAE (``decoder="latent-seq"``) over a tiny frozen base model.

The base is the session's exported ``debug`` model (2 bars); the sequence model reads
8-bar phrases as four 2-bar chunk latents.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from musiclatent.config import ModelConfig
from musiclatent.data import latent_cache
from musiclatent.data.dataset import transpose_tokens
from musiclatent.models.builders import build_vae
from musiclatent.presets import get_preset, register


@pytest.fixture(scope="module")
def seq_cfg(debug_model_dir, debug_model):
    return dataclasses.replace(get_preset("debug-seq").model, base_model=str(debug_model_dir),
                               styles=tuple(debug_model.styles))


@pytest.fixture(scope="module")
def seq_model(seq_cfg):
    torch.manual_seed(0)
    model = build_vae(seq_cfg)
    model.init_fresh()
    return model.eval()


def random_tokens(n, steps, seed=0):
    rng = np.random.default_rng(seed)
    return torch.as_tensor(rng.choice([0, 0, 1, 62, 64, 67, 69], (n, steps)), dtype=torch.long)


def test_config_needs_a_base_model_only_for_latent_seq():
    with pytest.raises(ValueError, match="base_model"):
        ModelConfig(bars=16, decoder="latent-seq")
    with pytest.raises(ValueError, match="base_model"):
        ModelConfig(bars=2, decoder="flat", base_model="melody-2bar")


def test_interface_shapes_match_the_token_vae(seq_model, seq_cfg):
    tok = random_tokens(3, seq_cfg.steps)
    sty = torch.tensor([0, 1, 2])
    mu, logvar = seq_model.encode(tok, sty)
    assert mu.shape == logvar.shape == (3, seq_cfg.z_dim)
    assert seq_model.logits(mu, sty, tok).shape == (3, seq_cfg.steps, seq_cfg.n_classes)
    out = seq_model.sample(mu, sty, temperature=0.0)
    assert out.shape == (3, seq_cfg.steps) and out.dtype == torch.long
    parts = seq_model(tok, sty, sample_latent=False)
    assert {"loss", "recon", "nll_per_step", "kl_bits", "accuracy"} <= set(parts)


def test_chunk_posteriors_are_the_base_encoding_of_each_chunk(seq_model, seq_cfg):
    tok = random_tokens(2, seq_cfg.steps, seed=1)
    packed = seq_model.chunk_posteriors(tok)                        # (2, K, 2 Zb)
    k, s = seq_model.chunks, seq_model.chunk_steps
    mu, lv = seq_model.base.encode(tok[1, 2 * s:3 * s][None], torch.zeros(1, dtype=torch.long))
    assert packed.shape == (2, k, 2 * seq_model.base_z)
    torch.testing.assert_close(packed[1, 2, :seq_model.base_z], mu[0])
    torch.testing.assert_close(packed[1, 2, seq_model.base_z:], lv[0])


def test_training_step_leaves_the_base_model_frozen(seq_cfg):
    torch.manual_seed(1)
    model = build_vae(seq_cfg)
    model.init_fresh()
    model.train()
    before = {k: v.clone() for k, v in model.base.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    parts = model(model.chunk_posteriors(random_tokens(4, seq_cfg.steps)), torch.tensor([0, 1, 2, 3]), beta=0.5)
    parts["loss"].backward()
    opt.step()
    assert all(torch.equal(before[k], v) for k, v in model.base.state_dict().items())
    assert model.to_stats.weight.grad is not None and model.base.decoder.core.out.weight.grad is None


def test_fitted_prior_whitens_the_training_latents(seq_cfg):
    torch.manual_seed(2)
    model = build_vae(seq_cfg).eval()
    rng = np.random.default_rng(0)
    lat = torch.as_tensor(rng.normal(size=(400, model.chunks, model.base_z)) * 2.0 + 1.0, dtype=torch.float32)
    style = torch.as_tensor(rng.integers(1, seq_cfg.n_styles, 400))
    counts = model.fit_prior(lat, style)
    assert counts["any"] == 400 and sum(v for k, v in counts.items() if k != "any") == 400
    with torch.no_grad():
        mu, lv = model.encode_internal(lat, torch.zeros_like(style))
        w, _ = model.whiten(mu, lv, torch.zeros_like(style))
    # whitened by the pooled fit: mean ~0 and covariance ~I (up to the shrinkage toward the diagonal)
    assert np.abs(w.mean(0).numpy()).max() < 1e-3
    assert np.abs(np.cov(w.numpy().T) - np.eye(seq_cfg.z_dim)).max() < 0.1
    torch.testing.assert_close(model.unwhiten(w, torch.zeros_like(style)), mu, atol=1e-4, rtol=1e-4)


def test_cached_batches_equal_encoding_transposed_tokens(seq_model, seq_cfg):
    tok = random_tokens(6, seq_cfg.steps, seed=3).numpy().astype(np.uint8)
    cache = latent_cache.build_cache(seq_model.base, tok, max_shift=2)
    rows, shifts = np.array([0, 4, 5]), np.array([-2, 0, 1])
    got = latent_cache.latent_batch(cache, rows, shifts)
    moved = torch.as_tensor(tok[rows], dtype=torch.long)
    moved = torch.where(moved >= 2, moved + torch.as_tensor(shifts)[:, None], moved)
    want = seq_model.chunk_posteriors(moved)
    torch.testing.assert_close(got, want, atol=2e-2, rtol=1e-2)     # the cache is float16


def test_shift_draws_follow_the_token_augmentation_rule():
    lo, hi = np.array([22, 60, 100, -1], np.int16), np.array([40, 70, 107, -1], np.int16)
    for u in np.linspace(0, 0.999, 7):
        s = latent_cache.draw_shifts(lo, hi, 5, np.full(4, u))
        assert (lo[:3] + s[:3] >= 21).all() and (hi[:3] + s[:3] <= 108).all() and s[3] == 0
    tok = torch.tensor([[2 + 22, 0, 2 + 40]])
    seen = {int(transpose_tokens(tok, 5, torch.Generator().manual_seed(k))[0, 0]) - 24 for k in range(200)}
    assert seen == {int(latent_cache.draw_shifts(lo[:1], hi[:1], 5, np.array([u]))[0])
                    for u in np.linspace(0, 0.999, 200)}


@pytest.fixture(scope="module")
def seq_dataset(song_folder, tmp_path_factory):
    from musiclatent.data.prepare import prepare

    out = tmp_path_factory.mktemp("dataset8")
    prepare([str(song_folder)], out, bars=8, workers=1, progress=False)
    return out


def test_train_command_trains_caches_and_fits_the_prior(seq_dataset, debug_model_dir, tmp_path):
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.training.loop import train

    p = get_preset("debug-seq")
    register(dataclasses.replace(p, name="debug-seq-test",
                                 model=dataclasses.replace(p.model, base_model=str(debug_model_dir))))
    last = train(seq_dataset, "debug-seq-test", tmp_path / "run", progress=False)
    assert last["step"] == 20 and np.isfinite(last["val_acc_sampled"])
    cached = list((seq_dataset / latent_cache.CACHE_DIRNAME).glob("*.npz"))
    assert cached and not [c for c in cached if ".partial" in c.name]   # written under its own name, then renamed
    ml = MusicLatent.from_checkpoint(tmp_path / "run")
    assert not torch.equal(ml.model.prior_chol[0], torch.eye(ml.z_dim))   # fitted at the end of training
    out = ml.sample(3, style=ml.styles[1], temperature=0.5, seed=0)
    assert out.shape == (3, ml.steps)
    z = ml.encode(out)
    assert z.shape == (3, ml.z_dim) and ml.decode(z).shape == (3, ml.steps)


def test_repeat_sources_point_near_chunks_at_earlier_ones():
    from musiclatent.models.latent_seq import repeat_sources

    far = torch.eye(5)[None] * 10.0                     # five chunks 14.1 apart
    near = far.clone()
    near[0, 3] = near[0, 1] + 0.5                       # chunk 3 comes back close to chunk 1
    near[0, 4] = near[0, 3] + 0.1                       # and chunk 4 close to chunk 3: it repeats chunk 1
    assert repeat_sources(near, 0.5).tolist() == [[0, 1, 2, 1, 1]]
    assert repeat_sources(far, 0.5).tolist() == [[0, 1, 2, 3, 4]]   # nothing near: each itself
    assert repeat_sources(near, 0.0).tolist() == [[0, 1, 2, 3, 4]]  # 0 is off


def test_sampling_with_repeat_repeats_chunks(seq_model, seq_cfg):
    torch.manual_seed(0)
    z = torch.randn(6, seq_cfg.z_dim)
    style = torch.zeros(6, dtype=torch.long)
    w = seq_model.chunk_steps
    for temperature in (0.0, 1.0):                       # sampled notes are repeated too, not drawn again
        snapped = seq_model.sample(z, style, temperature, torch.Generator().manual_seed(1), repeat=10.0)
        for k in range(1, seq_model.chunks):             # every chunk within reach of the first
            torch.testing.assert_close(snapped[:, k * w:(k + 1) * w], snapped[:, :w])
    plain = seq_model.sample(z, style, 1.0, torch.Generator().manual_seed(1))      # drawn chunk by chunk
    assert not all(torch.equal(plain[:, k * w:(k + 1) * w], plain[:, :w]) for k in range(1, seq_model.chunks))
    torch.testing.assert_close(plain[:, :w], snapped[:, :w])                       # the first is the same draw


def test_export_leaves_the_base_to_its_folder_and_refuses_a_changed_one(seq_dataset, debug_model_dir, tmp_path):
    import json
    import shutil

    from musiclatent.generation.facade import MusicLatent
    from musiclatent.training.checkpoint import CheckpointError, tensor_shapes
    from musiclatent.training.loop import train
    from musiclatent.training.ship import export_model

    base = tmp_path / "base"
    shutil.copytree(debug_model_dir, base)
    p = get_preset("debug-seq")
    register(dataclasses.replace(p, name="debug-seq-lend", model=dataclasses.replace(p.model, base_model=str(base))))
    train(seq_dataset, "debug-seq-lend", tmp_path / "run", max_steps=4, progress=False)
    run = MusicLatent.from_checkpoint(tmp_path / "run")
    tokens = run.sample(4, temperature=0.0, seed=1)
    folders = {}
    for int8 in (False, True):
        folder = export_model(tmp_path / "run", seq_dataset, tmp_path / f"model-{int8}", extras=False, int8=int8)
        shapes = tensor_shapes(folder / "model.safetensors")
        assert not [k for k in shapes if k.startswith("base.")]
        assert json.loads((folder / "config.json").read_text())["lent"]["base."]["sha256"]
        folders[int8] = MusicLatent.from_checkpoint(folder)
    z_run, z16 = run.encode(tokens), folders[False].encode(tokens)
    assert np.abs(z16 - z_run).max() < 0.05 * np.abs(z_run).max()
    assert np.abs(folders[True].encode(tokens) - z_run).max() < 0.1 * np.abs(z_run).max()
    from safetensors.torch import load_file, save_file

    w = load_file(str(base / "model.safetensors"))
    name = next(iter(w))
    w[name] = w[name] + 1
    save_file(w, str(base / "model.safetensors"))
    with pytest.raises(CheckpointError, match="has changed since this model was trained"):
        MusicLatent.from_checkpoint(tmp_path / "model-False")
