"""The chord-conditioned decoder: chords reach every step, cached decoding matches the teacher-forced
pass, a grown model starts as the model it grew from, and batches transpose chords with the notes."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from musiclatent.data.dataset import random_chord_batch
from musiclatent.models.vae import MusicVAE
from musiclatent.presets import get_preset
from musiclatent.representations.chords import (chord_id, chord_pitch_classes, chord_root, chord_tone_table,
                                                parse_chord, parse_progression, transpose_chords)
from musiclatent.training.checkpoint import warm_start_weights


def _model(chord_dim=4, seed=0, chord_tones=False):
    torch.manual_seed(seed)
    cfg = dataclasses.replace(get_preset("debug-chords").model, styles=("any", "a"), chord_dim=chord_dim,
                              chord_tones=chord_tones)
    return MusicVAE(cfg).eval()


def test_chords_change_the_decoder_and_sampling_matches_teacher_forcing():
    m = _model()
    z = torch.randn(3, m.cfg.z_dim)
    style = torch.zeros(3, dtype=torch.long)
    chords = torch.tensor([parse_progression("C G Am F")] * 3)
    out = m.sample(z, style, 0.0, chords=chords)
    assert out.shape == (3, m.cfg.steps)
    with torch.no_grad():
        logits = m.logits(z, style, out, chords)
        plain = m.logits(z, style, out)
    assert torch.equal(logits.argmax(-1), out)           # the cached stepper decodes what the fused pass scores
    assert not torch.allclose(logits, plain)              # chords reach the decoder
    with torch.no_grad():
        none = m.logits(z, style, out, torch.zeros_like(chords))
    assert torch.allclose(none, plain)                    # no chords given = "no chord" everywhere


def test_a_model_grown_with_chords_starts_as_the_model_it_grew_from():
    old = _model(chord_dim=0, seed=1)
    new = _model(chord_dim=4, seed=2)
    fresh = warm_start_weights(new, old.state_dict())
    assert fresh == ["chord_embed.weight"]
    z, style = torch.randn(2, old.cfg.z_dim), torch.zeros(2, dtype=torch.long)
    chords = torch.tensor([parse_progression("Dm7 G7 Cmaj7 A7")] * 2)
    assert torch.equal(new.sample(z, style, 0.0, chords=chords), old.sample(z, style, 0.0))


def test_chord_batches_move_chords_with_the_notes_and_drop_some():
    n, steps = 64, 32
    tokens = torch.full((n, steps), 0, dtype=torch.long)
    tokens[:, ::8] = 2 + 60                                 # middle C on every half bar
    chords = torch.tensor([parse_progression("C F G C")] * n)
    style = torch.ones(n, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    x, s, c, enc = random_chord_batch(tokens, style, chords, 256, gen, augment=5, chord_dropout=0.25, free_key=6)
    shift = x[:, 0] - tokens[0, 0]
    kept = (c != 0).all(1)
    assert 0.1 < 1 - kept.float().mean() < 0.4              # about a quarter of the rows without chords
    assert (c[~kept] == 0).all()
    roots = torch.tensor([[chord_root(int(v)) for v in row] for row in c[kept]])
    assert torch.equal(roots[:, 0], (shift[kept]) % 12)     # C moved by the notes' shift
    assert shift.abs().max() > 0
    assert transpose_chords(np.array([[0, chord_id(11, "min")], [chord_id(0, "maj"), 0]]), np.array([[2], [-1]])
                            ).tolist() == [[0, chord_id(1, "min")], [chord_id(11, "maj"), 0]]
    # the encoder reads rows with chords moved by a further shift (the key must come from the chords)
    moved = (enc - x)[:, 0]
    assert torch.equal(enc[~kept], x[~kept])
    assert (moved[kept] != 0).float().mean() > 0.5 and moved.abs().max() <= 6
    assert torch.equal(enc - x, moved[:, None].expand_as(x) * (x >= 2))


def test_chord_share_draws_that_share_of_rows_from_phrases_with_chords():
    tokens = torch.zeros((200, 32), dtype=torch.long)
    chords = torch.zeros((200, 4), dtype=torch.long)
    chords[:10] = chord_id(0, "maj")                       # 5% of the phrases have chords
    style = torch.zeros(200, dtype=torch.long)
    gen = torch.Generator().manual_seed(1)
    _, _, plain, _ = random_chord_batch(tokens, style, chords, 2000, gen)
    _, _, drawn, _ = random_chord_batch(tokens, style, chords, 2000, gen, chord_share=0.5)
    assert (plain > 0).any(1).float().mean() < 0.1
    assert abs((drawn > 0).any(1).float().mean() - 0.5) < 0.05


def test_free_key_cells_move_each_half_bar_by_its_own_shift():
    tokens = torch.zeros((64, 32), dtype=torch.long)
    tokens[:, ::4] = 2 + 60                                  # a note every beat
    chords = torch.full((64, 4), chord_id(0, "maj"), dtype=torch.long)
    style = torch.zeros(64, dtype=torch.long)
    gen = torch.Generator().manual_seed(2)
    x, _, _, enc = random_chord_batch(tokens, style, chords, 64, gen, free_key=6, free_key_cells=8)
    shift = (enc - x)[:, ::4]                                # (64, 8): two notes per half bar
    assert torch.equal(shift[:, ::2], shift[:, 1::2])        # one shift within a half bar
    assert (shift[:, ::2].unique(dim=1).shape[1] > 1) or (shift[:, 0] != shift[:, 2]).any()


def test_the_chord_tone_head_starts_silent_then_raises_the_chord_tones_in_every_octave():
    plain, toned = _model(seed=3), _model(seed=3, chord_tones=True)
    assert warm_start_weights(toned, plain.state_dict()) == ["decoder.core.tones.bias", "decoder.core.tones.weight"]
    z, style = torch.randn(2, plain.cfg.z_dim), torch.zeros(2, dtype=torch.long)
    chords = torch.tensor([parse_progression("C G Am F")] * 2)
    assert torch.equal(toned.sample(z, style, 0.0, chords=chords), plain.sample(z, style, 0.0, chords=chords))
    with torch.no_grad():
        toned.decoder.core.tones.bias.copy_(torch.tensor([0.0, 5.0]))     # raise every chord tone by 5
        out = toned.sample(z, style, 0.0, chords=chords)
        logits, base = toned.logits(z, style, out, chords), plain.logits(z, style, out, chords)
    assert torch.equal(logits.argmax(-1), out)                          # cached stepper = fused pass
    lift = (logits - base)[0, 0, 2:130]                                 # first half bar: C major
    assert torch.allclose(lift[[60, 64, 67, 72, 36]], torch.tensor(5.0))
    assert torch.allclose(lift[[61, 62, 65, 69]], torch.tensor(0.0))
    assert torch.allclose((logits - base)[..., :2], torch.tensor(0.0))  # rests and holds untouched
    with torch.no_grad():                                               # "no chord" raises nothing
        assert torch.allclose(toned.logits(z, style, out, torch.zeros_like(chords)), plain.logits(z, style, out))
    tones = toned.chord_tones(chords, 2.0)                              # a stronger head: twice the bias
    assert tones.shape == (2, toned.cfg.steps, 2, 12) and torch.equal(tones, 2 * toned.chord_tones(chords))
    assert toned.chord_tones(None) is None and plain.chord_tones(chords) is None


def test_chord_tone_table_marks_root_and_tones():
    table = chord_tone_table()
    assert not table[0].any()
    g7 = parse_chord("G7")
    assert np.flatnonzero(table[g7, 0]).tolist() == [7]
    assert set(np.flatnonzero(table[g7, 1]).tolist()) == chord_pitch_classes(g7) == {7, 11, 2, 5}
