"""Does a melody fit its chords? The chord section of ``musiclatent evaluate``.

The measure is the share of melody notes starting on strong beats (beats 1 and 3 of 4/4) whose
pitch class is a tone of the chord sounding then (:func:`~musiclatent.representations.chords.chord_tone_share`),
pooled over a set of phrases. It is reported for held-out real phrases with their chords, for
prior samples decoded over held-out progressions (a chord model hears them), and for the same
latents decoded without chords: if the model listens to the chords, the second share is near
the first and clearly above the third.
"""

from __future__ import annotations

import numpy as np

from musiclatent.representations.chords import chord_tone_hits
from musiclatent.representations.pianoroll import tokens_to_notes

def chord_tone_counts(tokens: np.ndarray, chords: np.ndarray) -> tuple[int, int]:
    """(strong-beat notes on a chord tone, strong-beat notes under a chord) over phrases:
    tokens (n, T) of 16-step 4/4 bars and their chords (n, K), a chord per T / K steps."""
    tokens, chords = np.atleast_2d(tokens), np.atleast_2d(chords)
    per = tokens.shape[1] // chords.shape[1]
    counts = np.array([chord_tone_hits(tokens_to_notes(row), crow, per) for row, crow in zip(tokens, chords)])
    return (int(counts[:, 0].sum()), int(counts[:, 1].sum())) if len(counts) else (0, 0)


def chord_tone_rate(tokens: np.ndarray, chords: np.ndarray) -> float:
    """Pooled chord-tone share of phrases (NaN when no strong-beat note is under a chord)."""
    hits, total = chord_tone_counts(tokens, chords)
    return hits / total if total else float("nan")


def chord_section(ml, tokens: np.ndarray, chords: np.ndarray, samples: int, temperature: float,
                  seed: int) -> dict:
    """Chord-tone shares of real phrases (n, T) with their chords (n, K) (rows with a chord on
    every half bar), of prior samples over their progressions and of the same latents without
    chords; plus reconstruction with and without the chords for a chord model."""
    full = (chords > 0).all(1)
    tokens, chords = tokens[full], chords[full]
    out = {"phrases": int(len(tokens)), "real": chord_tone_rate(tokens, chords), "model_takes_chords": ml.takes_chords}
    if not len(tokens):
        return out
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(tokens), size=min(samples, len(tokens)), replace=False)
    progressions = chords[pick]
    z = ml.prior_latents(len(pick), None, temperature, rng)
    with_chords = ml.decode(z, None, temperature, seed, chords=progressions)
    without = ml.decode(z, None, temperature, seed)
    out.update({"samples": int(len(pick)), "conditioned": chord_tone_rate(with_chords, progressions),
                "unconditioned": chord_tone_rate(without, progressions)})
    if ml.takes_chords:
        real = tokens[pick].astype(np.int64)
        mu = ml.encode(real)
        out["recon_sampled_with_chords"] = float((ml.decode(mu, chords=chords[pick]) == real).mean())
        out["recon_sampled_without_chords"] = float((ml.decode(mu) == real).mean())
    return out


def chord_lines(section: dict) -> list[str]:
    """The chord section as report lines."""
    lines = [f"chords ({section['phrases']} held-out phrases with a chord on every half bar): "
             f"strong-beat chord tones, real {section['real']:.3f}"]
    if "conditioned" in section:
        lines.append(f"  {section['samples']} prior samples over those progressions: {section['conditioned']:.3f}; "
                     f"the same latents without chords: {section['unconditioned']:.3f}"
                     + ("" if section["model_takes_chords"] else " (this model does not hear chords)"))
    if "recon_sampled_with_chords" in section:
        lines.append(f"  reconstruction (sampled) with the chords {section['recon_sampled_with_chords']:.3f}, "
                     f"without {section['recon_sampled_without_chords']:.3f}")
    return lines
