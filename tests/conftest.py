"""Shared fixtures: tiny in-memory music, a tiny dataset and a tiny trained model.

Nothing here needs the shipped weights or the network. The session-scoped
``debug_model`` trains the ``debug`` preset for a few dozen steps (seconds).
"""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest
import torch

# tiny models run fastest on one thread, and the suite stays fast on a busy 2-core machine
torch.set_num_threads(1)

STYLES = ("reels", "airs", "marches")


def make_song(path, bars=8, qpm=120.0, ts=(4, 4), program=40, seed=0, name="Lead", extra_tracks=True,
              low=60, high=79, durations=(2, 4, 4, 8)):
    """Write a multi-track MIDI song (melody + chords + drums) and return its melody notes in steps."""
    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(ts[0], ts[1], 0))
    sec = 60.0 / qpm / 4
    bar_steps = 16 * ts[0] // ts[1]
    mel = pretty_midi.Instrument(program, name=name)
    t, p, notes = 0, (low + high) // 2, []
    while t < bars * bar_steps:
        d = int(rng.choice(durations))
        d = min(d, bars * bar_steps - t)
        p = int(np.clip(p + rng.integers(-4, 5), low, high))
        mel.notes.append(pretty_midi.Note(int(rng.integers(70, 110)), p, t * sec, (t + d) * sec))
        notes.append((p, t, t + d))
        t += d
    pm.instruments.append(mel)
    if extra_tracks:
        ch = pretty_midi.Instrument(0, name="Chords")
        dr = pretty_midi.Instrument(0, is_drum=True, name="Drums")
        for b in range(bars):
            for q in (48, 52, 55):
                ch.notes.append(pretty_midi.Note(60, q, b * bar_steps * sec, (b + 1) * bar_steps * sec))
            dr.notes.append(pretty_midi.Note(90, 36, b * bar_steps * sec, (b * bar_steps + 1) * sec))
        pm.instruments.insert(0, ch)
        pm.instruments.append(dr)
    pm.write(str(path))
    return np.asarray(notes, dtype=np.int32)


@pytest.fixture(scope="session")
def song_folder(tmp_path_factory):
    """A folder of real multi-track MIDI files in three style sub-folders."""
    root = tmp_path_factory.mktemp("songs")
    for k, style in enumerate(STYLES):
        (root / style).mkdir()
        for i in range(4):
            # each style has its own register and rhythm, so styles are learnable
            make_song(root / style / f"{style}_{i}.mid", bars=8, seed=100 * k + i, low=55 + 8 * k,
                      high=67 + 8 * k, durations=((2, 2, 4), (4, 8, 8), (2, 4, 4))[k])
    return root


@pytest.fixture(scope="session")
def tiny_dataset(song_folder, tmp_path_factory):
    from musiclatent.data.prepare import prepare

    out = tmp_path_factory.mktemp("dataset")
    prepare([str(song_folder)], out, bars=2, workers=1, progress=False)
    return out


@pytest.fixture(scope="session")
def debug_run(tiny_dataset, tmp_path_factory):
    from musiclatent.training.loop import train

    out = tmp_path_factory.mktemp("run")
    train(tiny_dataset, "debug", out, max_steps=40, progress=False)
    return out


@pytest.fixture(scope="session")
def debug_model_dir(debug_run, tiny_dataset, tmp_path_factory):
    from musiclatent.training.ship import export_model

    out = tmp_path_factory.mktemp("model")
    # no style prior: 40 steps teach the tiny model to reconstruct silence, so draws from its training
    # latents are silent; tests/generation/test_style_prior.py trains its own debug model for the prior
    export_model(debug_run, tiny_dataset, out, card="# debug model\n", prior=False)
    return out


@pytest.fixture(scope="session")
def debug_model(debug_model_dir):
    from musiclatent.generation.facade import MusicLatent

    return MusicLatent.from_checkpoint(debug_model_dir)
