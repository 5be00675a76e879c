"""Evaluation: reconstruction on stub decoders with known answers, the style classifier,
and ``musiclatent evaluate`` end to end on the debug model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from musiclatent.evaluation.classifier import (ClassifierTraining, load_classifier, predict, save_classifier,
                                               train_classifier)
from musiclatent.cli.main import main
from musiclatent.constants import HOLD, NOTE_ON_OFFSET, NUM_CLASSES, REST
from musiclatent.evaluation.evaluate import (EvalSettings, evaluate, load_eval_data, model_style_ids, reconstruction_section,
                                             split_mask)

TOKENS = np.array([
    [NOTE_ON_OFFSET + 60, HOLD, HOLD, HOLD, NOTE_ON_OFFSET + 64, HOLD, REST, HOLD],
    [NOTE_ON_OFFSET + 67, HOLD, HOLD, HOLD, HOLD, HOLD, HOLD, HOLD],
    [NOTE_ON_OFFSET + 50, NOTE_ON_OFFSET + 52, NOTE_ON_OFFSET + 53, REST, HOLD, HOLD, HOLD, HOLD],
])
STYLES = np.array([1, 1, 2])
STYLE_NAMES = ["any", "reels", "airs"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The two cores are shared with other work; one thread avoids OpenMP spin-waiting."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


class PerfectModel:
    """Encodes a phrase as itself and decodes it back exactly."""

    def encode(self, x, style):
        return x.float(), torch.zeros(x.shape)

    def logits(self, z, style, inputs):
        return 30.0 * torch.nn.functional.one_hot(inputs, NUM_CLASSES).float()

    def sample(self, z, style, temperature=0.0):
        return z.round().long()


class ConstantModel(PerfectModel):
    """Always predicts HOLD."""

    def logits(self, z, style, inputs):
        out = torch.zeros(inputs.shape + (NUM_CLASSES,))
        out[..., HOLD] = 5.0
        return out

    def sample(self, z, style, temperature=0.0):
        return torch.full(z.shape, HOLD, dtype=torch.long)


def test_perfect_decoder_reconstructs_everything():
    res = reconstruction_section(PerfectModel(), TOKENS, STYLES, STYLE_NAMES, batch=2)
    for key in ("recon_accuracy_teacher_forced", "recon_accuracy_sampled", "recon_accuracy_sampled_notes"):
        assert res[key]["overall"] == 1.0
        assert res[key]["per_style"] == {"reels": 1.0, "airs": 1.0}
    assert res["nll_per_step"] < 1e-6
    assert res["active_dims"] == 6     # steps 5 and 7 hold in all three phrases; the other six vary


def test_constant_decoder_gets_the_share_of_holds():
    res = reconstruction_section(ConstantModel(), TOKENS, STYLES, STYLE_NAMES, batch=2)
    # holds: 5 + 7 of the 16 reels steps, 4 of the 8 airs steps
    assert res["recon_accuracy_sampled"]["overall"] == pytest.approx(16 / 24)
    assert res["recon_accuracy_sampled"]["per_style"] == {"reels": pytest.approx(12 / 16), "airs": pytest.approx(4 / 8)}
    assert res["recon_accuracy_teacher_forced"]["overall"] == pytest.approx(16 / 24)
    assert res["recon_accuracy_sampled_notes"]["overall"] == 0.0
    # every step's cross-entropy is log(1 + 129 e^-5) or 5 + that
    lse = np.log(np.exp(5.0) + 129.0)
    assert res["nll_per_step"] == pytest.approx((16 * (lse - 5) + 8 * lse) / 24, rel=1e-5)
    # KL of N(mu, 1) against N(0, 1) is |mu|^2 / 2 nats
    kl_bits = (TOKENS.astype(float) ** 2).sum(1).mean() / 2 / np.log(2)
    assert res["kl_bits"] == pytest.approx(kl_bits, rel=1e-5)


def test_settings_refuse_unknown_sections():
    with pytest.raises(ValueError, match="sections"):
        EvalSettings(sections=("recon",))
    with pytest.raises(ValueError, match="split"):
        EvalSettings(split="heldout")


# --------------------------------------------------------------------------- classifier

def _two_registers(n=200, steps=32, seed=0):
    """Style 0: low quarter notes; style 1: high eighth notes."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, steps), np.int64)
    y = np.arange(n) % 2
    for row, label in zip(x, y):
        step = 4 if label == 0 else 2
        lo = 45 if label == 0 else 72
        row[::step] = NOTE_ON_OFFSET + rng.integers(lo, lo + 8, steps // step)
    return x, y


def test_classifier_learns_separable_styles_and_round_trips(tmp_path):
    x, y = _two_registers()
    clf, info = train_classifier(x[:150], y[:150], ("low", "high"), ClassifierTraining(steps=60, batch_size=32))
    assert info["steps"] == 60 and info["phrases"] == 150
    pred = predict(clf, x[150:])
    assert (pred == y[150:]).mean() >= 0.9
    save_classifier(clf, tmp_path, {"note": "test"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classifier.json", "classifier.safetensors"]
    again, meta = load_classifier(tmp_path / "classifier.json")
    assert again.cfg == clf.cfg and meta == {"note": "test"}
    np.testing.assert_array_equal(predict(again, x), predict(clf, x))


def test_classifier_refuses_a_pickle(tmp_path):
    x, y = _two_registers(20)
    clf, _ = train_classifier(x, y, ("low", "high"), ClassifierTraining(steps=2, batch_size=8))
    save_classifier(clf, tmp_path)
    torch.save(clf.state_dict(), tmp_path / "classifier.safetensors")   # a pickle under the right name
    with pytest.raises(ValueError, match="pickle"):
        load_classifier(tmp_path)


def test_classifier_needs_two_styles():
    x, _ = _two_registers(10)
    with pytest.raises(ValueError, match="two styles"):
        train_classifier(x, np.zeros(10, np.int64), ("only",))


# --------------------------------------------------------------------------- data plumbing

def test_styles_are_matched_by_name(debug_model, tiny_dataset):
    data = load_eval_data(tiny_dataset, debug_model.bars)
    ids = model_style_ids(debug_model, data)
    for sid, name_id in zip(ids, data.style):
        assert debug_model.styles[sid] == data.style_names[name_id]
    data.style_names = ("any", "polkas") + tuple(data.style_names[2:])    # a style the model does not know
    assert (model_style_ids(debug_model, data)[data.style == 1] == 0).all()


def test_auto_split_falls_back_to_all(debug_model, tiny_dataset):
    data = load_eval_data(tiny_dataset, debug_model.bars)
    data.split = np.zeros_like(data.split)
    mask, split = split_mask(data, "auto")
    assert split == "all" and mask.all()


def test_evaluate_refuses_other_phrase_lengths(debug_model, tiny_dataset):
    data = load_eval_data(tiny_dataset, debug_model.bars)
    data.tokens = data.tokens[:, :16]
    with pytest.raises(ValueError, match="--bars 2"):
        evaluate(debug_model, data)


def test_sections_without_samples_are_left_out(debug_model, tiny_dataset):
    data = load_eval_data(tiny_dataset, debug_model.bars)
    res = evaluate(debug_model, data, EvalSettings(samples=0, pairs=0, sections=("reconstruction", "realism",
                                                                                  "interpolation")))
    assert "recon_accuracy_sampled" in res and "realism" not in res and "interpolation" not in res
    assert list(res["seconds"]) == ["reconstruction"]


# --------------------------------------------------------------------------- end to end

SMALL = ["--samples", "24", "--pairs", "4", "--interp-steps", "4", "--style-samples", "4",
         "--restyle-phrases", "6", "--classifier-steps", "20", "--quiet"]


def _check_result(res: dict, model) -> None:
    for key in ("recon_accuracy_teacher_forced", "recon_accuracy_sampled", "recon_accuracy_sampled_notes"):
        assert 0.0 <= res[key]["overall"] <= 1.0
        assert set(res[key]["per_style"]) <= set(model.styles)
    assert res["nll_per_step"] > 0 and res["kl_bits"] >= 0
    assert 0 <= res["active_dims"] <= model.z_dim
    real = res["realism"]
    assert real["temperature"] == 0.5 and 0.0 <= real["overlap_area"] <= 1.0
    assert len(real["features"]) == 7
    interp = res["interpolation"]
    for part in (interp, interp["data_space"]):
        assert 0.0 <= part["monotonicity"] <= 1.0 and 0.0 <= part["max_jump"] <= 1.0
        assert part["linearity_error"] is None or part["linearity_error"] >= 0
        assert part["realism"] > 0
    assert interp["data_space"]["monotonicity"] == 1.0


def test_evaluate_command_end_to_end(debug_model, debug_model_dir, tiny_dataset, tmp_path, capsys):
    out, clf_dir = tmp_path / "eval.json", tmp_path / "clf"
    code = main(["evaluate", "--model", str(debug_model_dir), "--data", str(tiny_dataset), "--json", str(out),
                 "--save-classifier", str(clf_dir), *SMALL])
    assert code == 0
    table = capsys.readouterr().out
    assert "sampled accuracy" in table and "mean overlap area" in table and "monotonicity" in table
    res = json.loads(out.read_text())
    _check_result(res, debug_model)
    style = res["style"]
    assert style["classifier"]["trained_now"] is True
    for part in ("real", "conditioned", "restyled"):
        assert 0.0 <= style[part]["accuracy"] <= 1.0
    assert style["conditioned"]["samples"] == 4 * (len(debug_model.styles) - 1)
    assert style["restyled"]["style_means"] is True
    saved = json.loads((clf_dir / "classifier.json").read_text())
    assert saved["config"]["styles"] == list(debug_model.styles[1:]) and "heldout" in saved["info"]

    # a saved classifier is loaded, not retrained, and judges every phrase of the split
    out2 = tmp_path / "again.json"
    code = main(["evaluate", "--model", str(debug_model_dir), "--data", str(tiny_dataset), "--json", str(out2),
                 "--classifier", str(clf_dir), "--split", "all", "--skip", "interpolation", *SMALL])
    assert code == 0
    res2 = json.loads(out2.read_text())
    assert "interpolation" not in res2 and "trained_now" not in res2["style"]["classifier"]
    assert res2["style"]["classifier"]["source"] == str(clf_dir)
    assert res2["style"]["real"]["phrases"] == res2["data"]["phrases"]


def test_evaluate_command_on_a_raw_folder(debug_model, debug_model_dir, song_folder, tmp_path, capsys):
    out = tmp_path / "raw.json"
    code = main(["evaluate", "--model", str(debug_model_dir), "--data", str(song_folder), "--json", str(out),
                 "--split", "all", "--max-phrases", "20", *SMALL])
    assert code == 0
    res = json.loads(out.read_text())
    assert res["data"]["split"] == "all" and res["data"]["reconstruction_phrases"] == 20
    _check_result(res, debug_model)
    assert set(res["recon_accuracy_sampled"]["per_style"]) == {"reels", "airs", "marches"}


def test_evaluate_command_user_errors(debug_model_dir, tiny_dataset, tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "nothing"), "--data", str(tiny_dataset)]) == 2
    assert main(["evaluate", "--model", str(debug_model_dir), "--data", str(tmp_path / "missing")]) == 2
    assert main(["evaluate", "--model", str(debug_model_dir), "--data", str(tiny_dataset), "--samples", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("musiclatent evaluate: error:") == 3 and "Traceback" not in err


def test_evaluate_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = capsys.readouterr().out
    for opt in ("--model", "--data", "--json", "--max-phrases", "--samples", "--temperature", "--train-classifier",
                "--classifier", "--save-classifier"):
        assert opt in text
