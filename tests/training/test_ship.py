"""Shipping a run: the exported folder and its model card."""

import json

from musiclatent.training.checkpoint import find_checkpoint
from musiclatent.data.dataset import load_dataset
from musiclatent.training.card import model_card
from musiclatent.training.ship import export_model
from musiclatent.training.loop import train


def test_card_of_a_fine_tune_counts_both_runs(tiny_dataset, debug_run, tmp_path):
    train(tiny_dataset, "debug", tmp_path / "ft", max_steps=3, progress=False, init_from=debug_run,
          overrides={"schedule_offset": 40}, dropout=0.25)
    folder = export_model(tmp_path / "ft", tiny_dataset, tmp_path / "model")
    trained = json.loads((folder / "config.json").read_text())["trained"]
    first = json.loads((find_checkpoint(debug_run) / "state.json").read_text())["step"]
    assert trained["step"] == 3 and [c["step"] for c in trained["init_chain"]] == [first]
    card = model_card(folder, {"recon_accuracy_sampled": {"overall": 0.5, "per_style": {}}}, tmp_path / "ft",
                      tiny_dataset, {"train": "musiclatent train ..."},
                      outside={"data": {"source": "data/outside", "phrases": 9}, "recon_accuracy_sampled": {"overall": 0.25}})
    assert f"started from `{debug_run}` ({first:,} steps" in card and f"{first + 3:,} steps" in card
    assert "continued from step 40" in card and "| 0.500 |" in card and "decoder dropout 0.25." in card
    assert "`data/outside`, outside the training corpus, 9 phrases" in card and "sampled 0.250" in card


def test_card_of_a_run_from_scratch_has_no_fine_tune_line(tiny_dataset, debug_model_dir, debug_run):
    card = model_card(debug_model_dir, {}, debug_run, tiny_dataset, {"train": "musiclatent train ..."})
    assert "fine-tune" not in card and "musiclatent train ..." in card and "dropout" not in card


def test_card_names_refined_reconstruction_and_the_encoder_alone(tiny_dataset, debug_model_dir, debug_run):
    result = {"recon_accuracy_sampled": {"overall": 0.75, "per_style": {}}, "refine": {"refine_steps": 20},
              "recon_accuracy_sampled_encoder_only": {"overall": 0.625, "per_style": {}}}
    card = model_card(debug_model_dir, result, debug_run, tiny_dataset, {})
    assert "refined 20 steps on the decoder) | 0.750 |" in card
    assert "from the encoder's mu alone | 0.625 |" in card
    assert "mu alone" not in model_card(debug_model_dir, {}, debug_run, tiny_dataset, {})


def test_init_chain_follows_fine_tunes_of_fine_tunes(tiny_dataset, debug_run, tmp_path):
    train(tiny_dataset, "debug", tmp_path / "ft1", max_steps=2, progress=False, init_from=debug_run)
    train(tiny_dataset, "debug", tmp_path / "ft2", max_steps=3, progress=False, init_from=tmp_path / "ft1")
    folder = export_model(tmp_path / "ft2", tiny_dataset, tmp_path / "model")
    chain = json.loads((folder / "config.json").read_text())["trained"]["init_chain"]
    assert [c["from"] for c in chain] == [str(debug_run), str(tmp_path / "ft1")]
    assert [c["step"] for c in chain][1] == 2
    card = model_card(folder, {}, tmp_path / "ft2", tiny_dataset, {})
    first = chain[0]["step"]
    assert f"{first + 2 + 3:,} steps" in card and " -> " in card


def test_export_scorer_writes_weights_and_a_card_without_extras(tiny_dataset, debug_run, tmp_path):
    from musiclatent.cli.main import main as cli_main
    from musiclatent.generation.facade import MusicLatent

    out = tmp_path / "model" / "scorer"
    assert cli_main(["export-model", str(debug_run), "--data", str(tiny_dataset), "--out", str(out), "--scorer",
                     "--train-command", "musiclatent train --set free_bits=0"]) == 0
    assert (out / "model.safetensors").exists() and not (out / "extras.safetensors").exists()
    card = (out / "README.md").read_text()
    ml = MusicLatent.from_checkpoint(out)
    val = load_dataset(tiny_dataset).validation()
    expected = ml.score(val.tokens.astype("int64"), [ml.styles[i] for i in val.style]).mean()
    assert "# model scorer" in card and "musiclatent train --set free_bits=0" in card
    assert f"Negative ELBO {expected:.3f} nats/step" in card


def test_scorer_card_says_twin_or_own_shape(tiny_dataset, debug_run, tmp_path):
    from musiclatent.training.card import scorer_card

    model = export_model(debug_run, tiny_dataset, tmp_path / "model")
    scorer = export_model(debug_run, tiny_dataset, model / "scorer", extras=False)
    heldout = {"phrases": 3, "elbo_per_step": 1.0, "per_style": {}}
    assert "the same VAE" in scorer_card(scorer, heldout, tiny_dataset, {})
    config = json.loads((model / "config.json").read_text())
    config["model"]["decoder"] = "hier"      # the generator is now of another shape than its scorer
    (model / "config.json").write_text(json.dumps(config))
    card = scorer_card(scorer, heldout, tiny_dataset, {})
    assert "the same VAE" not in card and "a VAE of its own shape" in card and "flat decoder" in card
    assert "interval head" not in card
    sc_config = json.loads((scorer / "config.json").read_text())
    sc_config["model"]["interval_range"] = 12
    (scorer / "config.json").write_text(json.dumps(sc_config))
    assert "with an interval head (+-12 semitones)" in scorer_card(scorer, heldout, tiny_dataset, {})


def test_init_chain_reads_an_exported_model_folder(tiny_dataset, debug_run, tmp_path):
    from musiclatent.training.ship import init_chain

    first = export_model(debug_run, tiny_dataset, tmp_path / "first")
    train(tiny_dataset, "debug", tmp_path / "ft", max_steps=2, progress=False, init_from=first)
    second = export_model(tmp_path / "ft", tiny_dataset, tmp_path / "second")
    step = json.loads((find_checkpoint(debug_run) / "state.json").read_text())["step"]
    assert [(c["from"], c["step"]) for c in init_chain(str(first))] == [(str(first), step)]
    assert [c["step"] for c in init_chain(str(second))] == [step, 2]
