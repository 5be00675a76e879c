"""Named presets: one name selects model shape, data and training settings.

Like magenta's ``music_vae/configs.py`` CONFIG_MAP, with a tiny ``debug``
preset for tests.
"""

from __future__ import annotations

import dataclasses

from musiclatent.config import ModelConfig, Preset, TrainConfig

PRESETS: dict[str, Preset] = {}


def register(preset: Preset) -> Preset:
    PRESETS[preset.name] = preset
    return preset


register(Preset(
    name="melody-2bar",
    description="2-bar melodies, BiLSTM encoder, flat 2-layer LSTM decoder",
    model=ModelConfig(bars=2, decoder="flat", embed_dim=64, enc_hidden=256, z_dim=128,
                      dec_hidden=256, dec_layers=2),
    train=TrainConfig(batch_size=128, lr=1e-3, lr_decay=0.9998, min_lr=1e-5, max_steps=24000,
                      beta_max=0.2, beta_rate=0.9995, free_bits=48.0, sampling_rate=2000.0),
    data={"bars": 2, "dataset": "data/melody-2bar"},
))

# melody-2bar plus the chord of every half bar fed to the decoder (MusicVAE's mel_chords), for lead
# sheets: fine-tuned from melody-2bar (the new input columns start at zero, see warm_start_weights)
# with "no chord" on a fifth of the chord rows (chordless folk tunes train it too, and sampling without
# chords works). free_key: the encoder reads chord rows moved by up to 6 semitones, so the latent cannot
# carry the key and the decoder learns to take it from the chords (without that it ignores them: the
# latent already says every note).
register(Preset(
    name="melody-2bar-chords",
    description="2-bar melodies over a chord per half bar: melody-2bar's shape, decoder fed a 16-dim chord embedding",
    model=ModelConfig(bars=2, decoder="flat", embed_dim=64, enc_hidden=256, z_dim=128,
                      dec_hidden=256, dec_layers=2, chord_dim=16, chord_tones=True),
    train=TrainConfig(batch_size=128, lr=3e-4, lr_decay=0.9998, min_lr=1e-5, max_steps=6000,
                      beta_max=0.2, beta_rate=0.9995, free_bits=128.0, sampling_rate=2000.0,
                      schedule_offset=46500, chord_dropout=0.2, free_key=6, chord_share=0.5),
    data={"bars": 2, "dataset": "data/melody-2bar-chords"},
))

register(Preset(
    name="melody-16bar",
    description="16-bar melodies, BiLSTM encoder, hierarchical (conductor + bar) LSTM decoder",
    model=ModelConfig(bars=16, decoder="hier", embed_dim=64, enc_hidden=256, z_dim=256,
                      dec_hidden=256, dec_layers=2, conductor_hidden=256, conductor_layers=2,
                      conductor_dim=128, pos_dim=16),
    train=TrainConfig(batch_size=64, lr=1e-3, lr_decay=0.9998, min_lr=1e-5, max_steps=7000,
                      beta_max=0.2, beta_rate=0.9995, free_bits=256.0, sampling_rate=800.0,
                      eval_every=250, checkpoint_every=100, val_batches=4),
    data={"bars": 16, "dataset": "data/melody-16bar"},
))

# 16-bar melodies as a VAE over the eight 2-bar latents of the frozen melody-2bar (issue 18, route b):
# a BiLSTM over the chunk means to one z, a non-autoregressive LSTM back to eight latents, the 2-bar
# decoder writes the notes. Trains on cached latents (data/melody-16bar/latents/), styles drawn
# with weight count ** -0.5; its latent is whitened by a Gaussian fitted per style after training.
_SEQ = register(Preset(
    name="melody-16bar-seq",
    description="16-bar melodies: VAE over the 2-bar latents of the frozen melody-2bar (BiLSTM to z, LSTM back)",
    model=ModelConfig(bars=16, decoder="latent-seq", base_model="melody-2bar", enc_hidden=256, z_dim=256,
                      dec_hidden=256, dec_layers=2, style_dim=16, pos_dim=16, dropout=0.1),
    train=TrainConfig(batch_size=128, lr=1e-3, lr_decay=0.9996, min_lr=1e-5, max_steps=6000,
                      beta_max=0.2, beta_rate=0.999, free_bits=1024.0, sampling_rate=0.0,
                      style_balance=0.5, eval_every=500, checkpoint_every=250, val_batches=4),
    data={"bars": 16, "dataset": "data/melody-16bar"},
))

# The same route, wider: z 512 (MusicVAE's 16-bar size), 2x512 LSTMs and twice the free bits, for
# dense tunes whose eight 2-bar latents carry more than z 256 holds (issue 18's outside-corpus target).
register(dataclasses.replace(
    _SEQ, name="melody-16bar-seq-wide",
    description="16-bar melodies: the latent-sequence VAE with z 512 and 512-wide LSTMs",
    model=dataclasses.replace(_SEQ.model, enc_hidden=512, z_dim=512, dec_hidden=512),
    train=dataclasses.replace(_SEQ.train, lr_decay=0.9997, free_bits=2048.0), data=dict(_SEQ.data),
))

register(Preset(
    name="debug-seq",
    description="tiny latent-sequence model for tests (its base_model is replaced by a tiny run)",
    model=ModelConfig(bars=8, decoder="latent-seq", base_model="melody-2bar", enc_hidden=16, z_dim=8,
                      dec_hidden=16, dec_layers=1, style_dim=4, pos_dim=4),
    train=TrainConfig(batch_size=8, lr=3e-3, max_steps=20, beta_rate=0.9, free_bits=0.0, sampling_rate=0.0,
                      augment_semitones=2, style_balance=0.5, eval_every=10, checkpoint_every=5, val_batches=1,
                      log_every=5, bf16=False),
    data={"bars": 8},
))

# A density model for typicality scores of 16-bar phrases (exported as melody-16bar/scorer). The
# hierarchical decoder restarts its bottom LSTM every bar, so once the latent carries little (as a
# density-trained latent does) it can only judge a note by its own bar. This flat decoder reads the
# whole 16 bars, always teacher-forced, with beta 1 and no free bits: its ELBO is a likelihood bound.
# Its held-out NLL is flat from about step 2,000 (the 10k training phrases are learnt by then: train
# NLL 0.37, held-out 0.52); the shipped one stopped at 3,250. With dropout 0.3 it reached the same
# held-out ELBO (0.512 nats/step) only at step 5,500. With the interval head (interval_range=12) it
# overfit sooner (held-out NLL 0.540 at step 2,000, 0.559 at 4,000) and separated corrupted phrases
# no better (mix AUROC 0.972 against 0.974), so the shipped scorer has none.
register(Preset(
    name="melody-16bar-scorer",
    description="16-bar density model for typicality scores: BiLSTM encoder, flat full-context LSTM decoder",
    model=ModelConfig(bars=16, decoder="flat", embed_dim=64, enc_hidden=128, z_dim=32,
                      dec_hidden=256, dec_layers=2, pos_dim=16),
    train=TrainConfig(batch_size=64, lr=2e-3, lr_decay=0.9997, min_lr=1e-5, max_steps=4000,
                      beta_max=1.0, beta_rate=0.999, free_bits=0.0, sampling_rate=0.0,
                      eval_every=500, checkpoint_every=250, val_batches=4),
    data={"bars": 16, "dataset": "data/melody-16bar"},
))

# The same for 2-bar phrases (exported as melody-2bar/scorer): trained from scratch as a likelihood
# model rather than fine-tuned from the generator, with a wider decoder and the interval head. The
# fine-tuned twin it replaced had training and held-out NLL level (0.94 and 0.89 nats/step); this one
# reaches a held-out NLL of 0.79-0.81 from step 2,500 on (ELBO 0.919 against 0.985), and its mix
# AUROC is 0.938 against 0.919. Three decoder layers (stopped at step 4,500) or dropout 0.25
# (stopped at 3,500) were worse: held-out NLL 0.83-0.84, and mix AUROC 0.911 at step 2,500-3,500.
# A 2x768 decoder (10,000 steps, 70 min with 2 threads) fit held-out phrases better (0.954 against
# 0.960 nats/step) but learnt its training phrases by heart more (0.891 against 0.921) and separated
# no better (mix AUROC 0.937 against 0.938), so this shape stays.
register(Preset(
    name="melody-2bar-scorer",
    description="2-bar density model for typicality scores: BiLSTM encoder, flat 2x512 LSTM decoder",
    model=ModelConfig(bars=2, decoder="flat", embed_dim=64, enc_hidden=128, z_dim=32,
                      dec_hidden=512, dec_layers=2, pos_dim=16, interval_range=12),
    train=TrainConfig(batch_size=128, lr=2e-3, lr_decay=0.9997, min_lr=1e-5, max_steps=10000,
                      beta_max=1.0, beta_rate=0.999, free_bits=0.0, sampling_rate=0.0,
                      eval_every=500, checkpoint_every=250, val_batches=8),
    data={"bars": 2, "dataset": "data/melody-2bar"},
))

# The same shape hearing the chord of every half bar (exported as melody-2bar-chords/scorer): a
# density model of melodies over chords, so a note off the chord costs what it costs a musician.
# Grown from the chordless scorer fine-tuned on data/melody-2bar-chords; chord rows drawn for half
# of each batch, a fifth of them as "no chord" so chordless phrases are still scored.
register(Preset(
    name="melody-2bar-chords-scorer",
    description="2-bar density model of melodies over chords: melody-2bar-scorer's shape with chord inputs",
    model=ModelConfig(bars=2, decoder="flat", embed_dim=64, enc_hidden=128, z_dim=32, dec_hidden=512,
                      dec_layers=2, pos_dim=16, interval_range=12, chord_dim=16, chord_tones=True),
    train=TrainConfig(batch_size=128, lr=1e-3, lr_decay=0.9997, min_lr=1e-5, max_steps=3000,
                      beta_max=1.0, beta_rate=0.999, free_bits=0.0, sampling_rate=0.0, chord_dropout=0.2,
                      chord_share=0.5, eval_every=500, checkpoint_every=250, val_batches=8),
    data={"bars": 2, "dataset": "data/melody-2bar-chords"},
))

# The shape of Magenta's cat-mel_2bar_small, for the speed benchmark.
register(Preset(
    name="cat-mel-2bar-small",
    description="Magenta cat-mel_2bar_small shape: BiLSTM 512, decoder 2x256, z 256",
    model=ModelConfig(bars=2, decoder="flat", embed_dim=64, enc_hidden=512, z_dim=256,
                      dec_hidden=256, dec_layers=2),
    train=TrainConfig(batch_size=128),
    data={"bars": 2},
))

register(Preset(
    name="hierdec-mel-16bar",
    description="16-bar hierarchical shape for the speed benchmark: BiLSTM 512, conductor and decoder 2x256, z 256",
    model=ModelConfig(bars=16, decoder="hier", embed_dim=64, enc_hidden=512, z_dim=256,
                      dec_hidden=256, dec_layers=2, conductor_hidden=256, conductor_layers=2),
    train=TrainConfig(batch_size=64),
    data={"bars": 16},
))

register(Preset(
    name="debug",
    description="tiny model for tests (seconds to train)",
    model=ModelConfig(bars=2, decoder="flat", embed_dim=8, enc_hidden=16, z_dim=8,
                      dec_hidden=16, dec_layers=1, style_dim=4),
    train=TrainConfig(batch_size=16, lr=3e-3, max_steps=40, beta_rate=0.9, free_bits=0.0,
                      sampling_rate=20.0, eval_every=20, checkpoint_every=10, val_batches=2,
                      log_every=5, bf16=False),
    data={"bars": 2},
))

register(Preset(
    name="debug-chords",
    description="tiny chord-conditioned model for tests",
    model=ModelConfig(bars=2, decoder="flat", embed_dim=8, enc_hidden=16, z_dim=8,
                      dec_hidden=16, dec_layers=1, style_dim=4, chord_dim=4, chord_tones=True),
    train=TrainConfig(batch_size=16, lr=3e-3, max_steps=40, beta_rate=0.9, free_bits=0.0,
                      sampling_rate=20.0, eval_every=20, checkpoint_every=10, val_batches=2,
                      log_every=5, bf16=False, chord_dropout=0.5),
    data={"bars": 2},
))

register(Preset(
    name="debug-hier",
    description="tiny hierarchical model for tests",
    model=ModelConfig(bars=4, decoder="hier", embed_dim=8, enc_hidden=16, z_dim=8,
                      dec_hidden=16, dec_layers=1, conductor_hidden=16, conductor_layers=1,
                      conductor_dim=8, style_dim=4, pos_dim=4),
    train=TrainConfig(batch_size=8, lr=3e-3, max_steps=20, beta_rate=0.9, free_bits=0.0,
                      sampling_rate=20.0, eval_every=10, checkpoint_every=5, val_batches=1,
                      log_every=5, bf16=False),
    data={"bars": 4},
))


# 2-bar grooves of the Groove MIDI Dataset (issue 22): 512 drum tokens per 16th step, 11 styles.
# Smaller than MusicVAE's GPU-trained drum models, and without scheduled sampling (which doubles
# the cost of a step), so that it trains in under two hours on two CPU cores shared with other
# jobs: batch 64 with one thread took 0.9-3 s a step there. No transposition (drums have no key).
_DRUMS = register(Preset(
    name="drums-2bar",
    description="2-bar drum grooves (9-class kit, 512 tokens), BiLSTM encoder, flat 2-layer LSTM decoder",
    model=ModelConfig(representation="drums", bars=2, decoder="flat", embed_dim=64, enc_hidden=192, z_dim=128,
                      dec_hidden=192, dec_layers=2, n_classes=512, pos_dim=16),
    train=TrainConfig(batch_size=64, lr=2e-3, lr_decay=0.9995, min_lr=1e-4, max_steps=6000,
                      beta_max=0.2, beta_rate=0.999, free_bits=128.0, sampling_rate=0.0,
                      augment_semitones=0, eval_every=500, checkpoint_every=250, val_batches=8),
    data={"bars": 2, "dataset": "data/drums-2bar"},
))

# A wider drum recipe, not yet shipped: twice as wide, a 256-dimensional latent with room for 1,024
# bits, and half of each batch's grooves made of two real ones (one's kick, snare and toms under the
# other's cymbals), because the narrow model trained to 0.92 but held out 0.85. Measured side by side
# at 1,500 steps, layer mixing gave validation teacher-forced accuracy 0.782 against 0.749 and NLL
# 0.72 against 0.82; at 3,000 steps (stopped there) 0.873 and 0.408 nats/step, past the shipped
# model's 0.858 and 0.507 after 19,750 steps. Teacher-forced throughout.
register(dataclasses.replace(
    _DRUMS, name="drums-2bar-wide",
    description="2-bar drum grooves, 384-wide BiLSTM encoder and 2x384 decoder, z 256, layer-mixed grooves",
    model=dataclasses.replace(_DRUMS.model, embed_dim=128, enc_hidden=384, z_dim=256, dec_hidden=384, dropout=0.1),
    train=dataclasses.replace(_DRUMS.train, lr=1e-3, lr_decay=0.9997, max_steps=12000, free_bits=1024.0,
                              layer_mix=0.5),
    data=dict(_DRUMS.data),
))

register(Preset(
    name="debug-drums",
    description="tiny drum model for tests (seconds to train)",
    model=ModelConfig(representation="drums", bars=2, decoder="flat", embed_dim=8, enc_hidden=16, z_dim=8,
                      dec_hidden=16, dec_layers=1, style_dim=4, n_classes=512),
    train=TrainConfig(batch_size=16, lr=3e-3, max_steps=40, beta_rate=0.9, free_bits=0.0,
                      sampling_rate=20.0, augment_semitones=0, eval_every=20, checkpoint_every=10,
                      val_batches=2, log_every=5, bf16=False),
    data={"bars": 2},
))


def get_preset(name: str) -> Preset:
    """Look up a preset by name; the error lists the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}") from None
