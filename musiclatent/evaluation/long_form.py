"""Do long prior samples hold a melody? Held notes and note density, per style.

Issue 18's checks of prior samples against real phrases:

* ``held_over_2_bars``: the share of samples in which one note sounds for more
  than two bars (a note-on followed by holds; silence after a rest is not a
  note). Real 16-bar phrases: 0%.
* ``notes_per_bar``: note-ons per bar of samples conditioned on a style against
  the real phrases of that style, and their ratio (target 0.85-1.15).

Pure numpy on token arrays; :func:`samples_section` is the ``samples`` section
of ``musiclatent evaluate``.
"""

from __future__ import annotations

import numpy as np

from musiclatent.constants import STEPS_PER_BAR
from musiclatent.representations import MELODY


def longest_note_steps(tokens: np.ndarray) -> np.ndarray:
    """Longest sounding note of each phrase, in steps: (n, T) int -> (n,) int64 (0 with no note).

    A note lasts from its note-on through the holds that follow it; a rest or another note-on ends it.
    """
    tokens = np.asarray(tokens)
    n, t = tokens.shape
    run = np.zeros(n, np.int64)          # length of the note sounding now (0: silence)
    best = np.zeros(n, np.int64)
    for k in range(t):
        tok = tokens[:, k]
        run = np.where(MELODY.onsets(tok), 1, np.where((tok == MELODY.hold) & (run > 0), run + 1, 0))
        best = np.maximum(best, run)
    return best


def notes_per_bar(tokens: np.ndarray) -> np.ndarray:
    """Note-ons per bar of each phrase: (n, T) -> (n,) float64."""
    tokens = np.asarray(tokens)
    return MELODY.onsets(tokens).sum(1) / (tokens.shape[1] / STEPS_PER_BAR)


def held_shares(tokens: np.ndarray) -> dict[str, float]:
    """Share of phrases (n, T) holding one note for more than 2 and more than 4 bars."""
    longest = longest_note_steps(tokens)
    share = lambda bars: float((longest > bars * STEPS_PER_BAR).mean()) if len(longest) else float("nan")  # noqa: E731
    return {"held_over_2_bars": share(2), "held_over_4_bars": share(4)}


def samples_section(ml, tokens: np.ndarray, styles: np.ndarray, per_style: int, temperature: float,
                    seed: int, batch: int) -> dict:
    """Prior samples of each style present in ``styles`` (model ids of the real phrases ``tokens``
    (n, T)), ``per_style`` of them at ``temperature``, against the real phrases of that style."""
    out: dict = {"temperature": float(temperature), "per_style_samples": int(per_style), "per_style": {}}
    every = []
    for k, sid in enumerate(np.unique(styles)):
        name = ml.styles[int(sid)]
        gen = np.concatenate([ml.sample(min(batch, per_style - i), style=int(sid), temperature=temperature,
                                        seed=seed + 1000 * k + i) for i in range(0, per_style, batch)])
        every.append(gen)
        real = tokens[styles == sid]
        g, r = float(notes_per_bar(gen).mean()), float(notes_per_bar(real).mean())
        out["per_style"][name] = {"samples": int(len(gen)), "real_phrases": int(len(real)),
                                  "notes_per_bar_generated": g, "notes_per_bar_real": r,
                                  "notes_per_bar_ratio": g / r if r > 0 else float("nan"),
                                  **held_shares(gen), "real_held_over_2_bars": held_shares(real)["held_over_2_bars"]}
    gen = np.concatenate(every)
    out.update(samples=int(len(gen)), **held_shares(gen), real_held_over_2_bars=held_shares(tokens)["held_over_2_bars"])
    ratios = [v["notes_per_bar_ratio"] for v in out["per_style"].values()]
    out["notes_per_bar_ratio_range"] = [float(np.nanmin(ratios)), float(np.nanmax(ratios))]
    return out


def samples_lines(x: dict) -> list[str]:
    """The ``samples`` section of the printed evaluate table."""
    lines = [f"prior samples ({x['per_style_samples']} per style at temperature {x['temperature']:g})",
             f"  holding one note > 2 bars {x['held_over_2_bars']:.1%} (> 4 bars {x['held_over_4_bars']:.1%}; "
             f"real phrases {x['real_held_over_2_bars']:.1%})",
             f"  {'style':12s}{'notes/bar gen':>14s}{'real':>7s}{'ratio':>7s}{'held>2 bars':>13s}"]
    for name, v in x["per_style"].items():
        lines.append(f"  {name:12s}{v['notes_per_bar_generated']:>14.2f}{v['notes_per_bar_real']:>7.2f}"
                     f"{v['notes_per_bar_ratio']:>7.2f}{v['held_over_2_bars']:>12.1%}")
    return lines


# --------------------------------------------------------------------------- structure of whole pieces

def bar_repeat_share(tokens: np.ndarray, match: float = 0.9) -> np.ndarray:
    """Share of bar pairs (i < j) of each piece whose steps agree on at least ``match`` of them;
    bars that are all silence or holds are left out. (n, T) -> (n,) float64 (NaN: < 2 bars with notes)."""
    tokens = np.asarray(tokens)
    n, t = tokens.shape
    bars = tokens.reshape(n, t // STEPS_PER_BAR, STEPS_PER_BAR)
    out = np.full(n, np.nan)
    for k in range(n):
        b = bars[k][MELODY.onsets(bars[k]).any(1)]
        if len(b) < 2:
            continue
        same = (b[:, None, :] == b[None, :, :]).mean(-1) >= match
        iu = np.triu_indices(len(b), 1)
        out[k] = same[iu].mean()
    return out


def _frame_gaussians(tokens: np.ndarray, frame_bars: int, hop_bars: int) -> list[tuple[float, float, float, float]]:
    """(pitch mean, pitch std, duration mean, duration std) of the notes starting in each frame of a piece (T,)."""
    notes = MELODY.from_tokens(np.asarray(tokens))             # (m, 3): pitch, start, end (steps)
    frame, hop = frame_bars * STEPS_PER_BAR, hop_bars * STEPS_PER_BAR
    out = []
    for start in range(0, len(tokens) - frame + 1, hop):
        sel = notes[(notes[:, 1] >= start) & (notes[:, 1] < start + frame)]
        if not len(sel):
            out.append((np.nan,) * 4)
            continue
        p, d = sel[:, 0].astype(np.float64), (sel[:, 2] - sel[:, 1]).astype(np.float64)
        out.append((p.mean(), max(p.std(), 0.5), d.mean(), max(d.std(), 0.5)))
    return out


def gaussian_overlap(m1: float, s1: float, m2: float, s2: float, points: int = 512) -> float:
    """Overlapping area of two normal densities (numerical, on a grid spanning both)."""
    lo, hi = min(m1 - 5 * s1, m2 - 5 * s2), max(m1 + 5 * s1, m2 + 5 * s2)
    x = np.linspace(lo, hi, points)
    pdf = lambda m, s: np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))  # noqa: E731
    return float(np.trapezoid(np.minimum(pdf(m1, s1), pdf(m2, s2)), x))


def framewise_overlaps(pieces: np.ndarray, frame_bars: int = 4, hop_bars: int = 2) -> dict[str, np.ndarray]:
    """Mittal et al. (2021)'s framewise self-similarity: a Gaussian of the pitches and one of the durations
    of the notes in each 4-bar frame (hop 2 bars), and the overlapping area of each frame's Gaussians with
    the next frame's. (n, T) -> {"pitch": (m,), "duration": (m,)} over all pieces' adjacent frame pairs."""
    oa: dict[str, list[float]] = {"pitch": [], "duration": []}
    for piece in np.asarray(pieces):
        g = _frame_gaussians(piece, frame_bars, hop_bars)
        for a, b in zip(g[:-1], g[1:]):
            if np.isnan(a[0]) or np.isnan(b[0]):
                continue
            oa["pitch"].append(gaussian_overlap(a[0], a[1], b[0], b[1]))
            oa["duration"].append(gaussian_overlap(a[2], a[3], b[2], b[3]))
    return {k: np.asarray(v) for k, v in oa.items()}


def mittal_scores(generated: dict[str, np.ndarray], real: dict[str, np.ndarray]) -> dict[str, float]:
    """Consistency 1 - |mean OA_gen - mean OA_real| / mean OA_real and variance, the same on the
    variances of the overlaps (each floored at 0; 1 = like the real pieces), for pitch and duration."""
    out = {}
    for key in ("pitch", "duration"):
        g, r = generated[key], real[key]
        if not len(g) or not len(r):
            out[f"{key}_consistency"] = out[f"{key}_variance"] = float("nan")
            continue
        out[f"{key}_consistency"] = max(0.0, 1 - abs(g.mean() - r.mean()) / r.mean())
        out[f"{key}_variance"] = max(0.0, 1 - abs(g.var() - r.var()) / r.var())
        out[f"{key}_overlap_mean"] = float(g.mean())
        out[f"{key}_overlap_var"] = float(g.var())
    return out
