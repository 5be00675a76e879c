"""Shipping a run: the exported folder and its model card."""

import json

from musiclatent.checkpoint import find_checkpoint
from musiclatent.ship import export_model, model_card
from musiclatent.train import train


def test_card_of_a_fine_tune_counts_both_runs(tiny_dataset, debug_run, tmp_path):
    train(tiny_dataset, "debug", tmp_path / "ft", max_steps=3, progress=False, init_from=debug_run,
          overrides={"schedule_offset": 40})
    folder = export_model(tmp_path / "ft", tiny_dataset, tmp_path / "model")
    trained = json.loads((folder / "config.json").read_text())["trained"]
    first = json.loads((find_checkpoint(debug_run) / "state.json").read_text())["step"]
    assert trained["step"] == 3 and trained["init"]["step"] == first
    card = model_card(folder, {"recon_accuracy_sampled": {"overall": 0.5, "per_style": {}}}, tmp_path / "ft",
                      tiny_dataset, {"train": "musiclatent train ..."},
                      outside={"data": {"source": "data/outside", "phrases": 9}, "recon_accuracy_sampled": {"overall": 0.25}})
    assert f"started from {first:,} steps" in card and f"{first + 3:,} steps" in card
    assert "continued from step 40" in card and "| 0.500 |" in card
    assert "`data/outside`, outside the training corpus, 9 phrases" in card and "sampled 0.250" in card


def test_card_of_a_run_from_scratch_has_no_fine_tune_line(tiny_dataset, debug_model_dir, debug_run):
    card = model_card(debug_model_dir, {}, debug_run, tiny_dataset, {"train": "musiclatent train ..."})
    assert "fine-tune" not in card and "musiclatent train ..." in card
