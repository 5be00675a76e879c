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
