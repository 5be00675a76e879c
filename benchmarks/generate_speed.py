"""Generation latency (medians): decoding 1 and 64 phrases with each shipped model,
and interpolating 8 steps between two real 16-bar songs end to end (read, encode,
decode, write MIDI). Goals: one 16-bar phrase < 50 ms; the 8-step song
interpolation < 1 s; a 16-bar WAV render well under 0.5 s.

    .venv/bin/python benchmarks/generate_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, median_time, print_table, write_song  # noqa: E402

from musiclatent.generation import studio  # noqa: E402
from musiclatent.generation.audio import render_pretty_midi  # noqa: E402
from musiclatent.generation.export import phrases_to_pretty_midi  # noqa: E402
from musiclatent.generation.facade import MusicLatent  # noqa: E402
from musiclatent.midi.io import read_melody  # noqa: E402


@torch.no_grad()
def module_step_decode(ml, z: np.ndarray) -> np.ndarray:
    """The plain way, for comparison: one ``nn.LSTM`` call per step on the cached state
    (argmax). The shipped decoder's fused stepper must give the same tokens, faster."""
    model, dec = ml.model, ml.model.decoder
    zt = torch.from_numpy(z)
    sv = model.style_embed(torch.zeros(len(zt), dtype=torch.long))
    core = dec.core
    hier = hasattr(dec, "bar_embeddings")
    conds = dec.bar_embeddings(zt, sv) if hier else torch.cat([zt, sv], -1)[:, None]
    tok = torch.full((len(zt),), core.start_id, dtype=torch.long)
    out = []
    for u in range(conds.shape[1]):
        cond = conds[:, u]
        state = core.initial_state(cond)
        for t in range(ml.steps // conds.shape[1]):
            parts = [core.embed(tok), cond]
            if core.pos is not None:
                parts.append(core.pos(torch.full_like(tok, t % 16)))
            y, state = core.lstm(torch.cat(parts, -1)[:, None], state)
            tok = core.out(y[:, 0]).argmax(-1)
            out.append(tok)
    return torch.stack(out, 1).numpy()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows, out = [], {}
    models = {}
    for name in ("melody-2bar", "melody-16bar"):
        try:
            models[name] = MusicLatent.from_pretrained(name)
        except FileNotFoundError:
            print(f"({name} not shipped yet: skipped)")
    for name, ml in models.items():
        for n in (1, 64):
            z = np.random.default_rng(0).standard_normal((n, ml.z_dim)).astype(np.float32)
            t = median_time(lambda: ml.decode(z, temperature=0.5, seed=0), repeats=args.repeats)
            rows.append([f"decode {n} x {ml.bars}-bar ({name})", round(t * 1000, 1), ""])
            out[f"decode_{n}_{name}_ms"] = t * 1000
        if not hasattr(ml.model, "decoder"):   # a latent-sequence model: its notes come from its base's decoder
            continue
        z1 = np.random.default_rng(1).standard_normal((1, ml.z_dim)).astype(np.float32)
        same = np.array_equal(module_step_decode(ml, z1), ml.decode(z1))
        t_plain = median_time(lambda: module_step_decode(ml, z1), repeats=args.repeats)
        t_fused = median_time(lambda: ml.decode(z1), repeats=args.repeats)
        rows.append([f"  argmax 1 x {ml.bars}-bar: nn.LSTM per step {t_plain * 1000:.1f} ms vs fused stepper "
                     f"(same tokens: {same})", round(t_fused * 1000, 1), f"{t_plain / t_fused:.2f}x faster"])
        out[f"decode_1_{name}_plain_ms"] = t_plain * 1000
    tmp = Path(tempfile.mkdtemp())
    write_song(tmp / "a.mid", bars=16, qpm=110, seed=1)
    write_song(tmp / "b.mid", bars=16, qpm=90, seed=2)
    for name, ml in models.items():
        def morph():
            a, b = read_melody(tmp / "a.mid"), read_melody(tmp / "b.mid")
            res = studio.interpolate_songs(ml, a, b, steps=8)
            studio.write_result(res, tmp / "out", wav=False, png=False)
        t = median_time(morph, repeats=args.repeats)
        rows.append([f"interpolate 2 songs x 16 bars, 8 steps, end to end ({name})", round(t * 1000, 1), "< 1000"])
        out[f"interpolate_16bar_8steps_{name}_ms"] = t * 1000
        if ml.refine.steps:   # the same with the encoder's means alone: what refining the two songs costs
            own, ml.refine = ml.refine, dataclasses.replace(ml.refine, steps=0)
            t0 = median_time(morph, repeats=args.repeats)
            ml.refine = own
            rows.append([f"  the same, encoder's means not refined ({name})", round(t0 * 1000, 1),
                         f"refining: {t / t0:.1f}x"])
            out[f"interpolate_16bar_8steps_{name}_unrefined_ms"] = t0 * 1000
    some = next(iter(models.values()), None)
    toks = (some.sample(8 if some.bars == 2 else 1, seed=0) if some else np.zeros((8, 32), np.int64)).reshape(1, -1)
    pm = phrases_to_pretty_midi(toks)
    t = median_time(lambda: render_pretty_midi(pm), repeats=args.repeats)
    rows.append(["render 16 bars to WAV (tinysoundfont)", round(t * 1000, 1), "< 500"])
    out["render_16bar_ms"] = t * 1000
    for row in rows:
        if row[0].startswith("decode 1 x 16-bar"):
            row[2] = "< 50"
    print(f"machine: {machine()}, torch threads {torch.get_num_threads()}")
    print_table(["operation", "median ms", "goal ms"], rows)
    return out


if __name__ == "__main__":
    main()
