"""Packed weight files: int8 matrices with a scale per row, packed triangles."""

import pytest
import torch
from safetensors.torch import save_file

from musiclatent.training.checkpoint import CheckpointError, load_tensors, tensor_shapes
from musiclatent.training.packing import SCALE, TRIL, from_packed, packed_shapes, to_packed


def weights():
    g = torch.Generator().manual_seed(0)
    return {"big": torch.randn(64, 40, generator=g) * torch.linspace(0.01, 3, 64)[:, None],
            "small": torch.randn(3, 4, generator=g), "bias": torch.randn(64, generator=g),
            "chol": torch.tril(torch.randn(2, 5, 5, generator=g)).half()}


def test_int8_matrices_are_within_half_a_step_of_each_row_scale():
    w = weights()
    packed = to_packed(w, int8_min=1000, triangular=("chol",))
    assert packed["big"].dtype == torch.int8 and packed["big" + SCALE].shape == (64,)
    assert torch.equal(packed["small"], w["small"]) and torch.equal(packed["bias"], w["bias"])
    back = from_packed(packed)
    assert set(back) == set(w)
    step = w["big"].abs().amax(1) / 127
    err = (back["big"] - w["big"]).abs().amax(1)
    assert (err <= step / 2 + 1e-6).all() and err.max() > 0      # rows of small weights keep their precision
    assert torch.equal(back["chol"], w["chol"])                   # triangles are exact


def test_packed_triangles_halve_the_stack_and_refuse_a_full_matrix():
    w = weights()
    packed = to_packed(w, triangular=("chol",))
    assert packed["chol" + TRIL].shape == (2, 15) and "big" in packed and packed["big"].dtype == torch.float32
    with pytest.raises(ValueError, match="not lower-triangular"):
        to_packed({"chol": torch.ones(2, 3, 3)}, triangular=("chol",))


def test_shapes_from_a_header_match_the_unpacked_tensors(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file(to_packed(weights(), int8_min=1000, triangular=("chol",)), str(path))
    loaded = load_tensors(path)
    assert tensor_shapes(path) == {k: tuple(v.shape) for k, v in loaded.items()}
    assert packed_shapes({"a" + TRIL: (4, 10)}) == {"a": (4, 4, 4)}


def test_a_tampered_packed_file_is_a_clear_error(tmp_path):
    packed = to_packed(weights(), int8_min=1000)
    packed["big" + SCALE] = packed["big" + SCALE][:10].clone()
    save_file(packed, str(tmp_path / "bad.safetensors"))
    with pytest.raises(CheckpointError, match="does not match its scale"):
        load_tensors(tmp_path / "bad.safetensors")
    save_file({"t" + TRIL: torch.zeros(7)}, str(tmp_path / "tri.safetensors"))
    with pytest.raises(CheckpointError, match="not a packed triangle"):
        load_tensors(tmp_path / "tri.safetensors")
