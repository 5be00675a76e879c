"""Whole pieces with form: sections that return, answer and vary (AABB, AABA).

A latent walk (``studio.sample`` for pieces longer than one phrase) wanders: no
phrase ever comes back. Real tunes repeat: a reel is AABB, a song AABA. Here a
piece is a form string over sections of ``bars / len(form)`` bars:

* each new letter draws a phrase from the prior, the first letter from N(0, I)
  and each later one as an answer, a step of the latent walk from the first
  (similarity ``answer``), so a B part shares its A part's key and character;
* a section is the first ``section`` bars of its phrase;
* a returning letter repeats its section with a new cadence: its last two bars
  come from a variation of its latent (similarity ``vary``), like a second ending;
* within a phrase, 2-bar motifs that come back roughly come back exactly
  (``repeat``; latent-sequence models, :func:`musiclatent.models.latent_seq.repeat_sources`).
  Prior draws propose motifs that return only roughly: of 32-bar AABB pieces
  from ``melody-16bar``, 0.068 of bar pairs repeat against the real tunes' 0.164;
  with ``repeat`` 1.0, 0.133 (``benchmarks/form_structure.py``).

:func:`form_continuation` extends a song the same way: its opening is ``A``.

Works with any model whose phrase is at least one section long (the 16-bar models).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the facade imports torch; the app starts without it
    from musiclatent.generation.facade import MusicLatent

DEFAULT_FORMS = {16: "AB", 24: "AAB", 32: "AABB", 48: "AABBCC", 64: "AABA"}
ENDING_BARS = 2
DEFAULT_REPEAT = 1.0   # motif repeats: radius in median chunk distances (see the module docstring)


def default_form(bars: int) -> str:
    """The form used for a piece of ``bars`` bars (one section when no form is listed)."""
    return DEFAULT_FORMS.get(int(bars), "A")


def check_form(ml: "MusicLatent", bars: int, form: str) -> tuple[str, int]:
    """A form for ``bars``-bar pieces of this model, checked -> (FORM in capitals, section bars);
    ValueError saying what is wrong."""
    form = str(form).upper()
    if not form.isalpha():
        raise ValueError(f"form must be letters such as AABB, not {form!r}")
    if bars % len(form):
        raise ValueError(f"{bars} bars do not split into {len(form)} sections ({form})")
    section = bars // len(form)
    if section > ml.bars:
        raise ValueError(f"{section}-bar sections are longer than the model's {ml.bars}-bar phrase")
    return form, section


def form_pieces(ml: MusicLatent, n: int, bars: int, form: str | None = None, style=None, temperature: float = 0.5,
                seed: int | None = 0, answer: float = 0.6, vary: float = 0.8, repeat: float = DEFAULT_REPEAT,
                attributes: dict[str, float] | None = None) -> np.ndarray:
    """n pieces of ``bars`` bars in ``form`` -> tokens (n, bars * steps per bar) int64.

    Parameters
    ----------
    form : str, optional
        Letters, one per section (default :func:`default_form`); ``bars`` must split evenly
        into whole bars per section, and a section must fit in one of the model's phrases.
    answer : float
        Latent-walk similarity of a new letter's phrase to the first letter's.
    vary : float
        Similarity of a returning section's new cadence to its first statement.
    repeat : float
        Motifs within ``repeat`` median chunk distances of an earlier one are repeated exactly
        (latent-sequence models; 0 = off).
    attributes : dict, optional
        Attribute slider amounts, added to every latent (:meth:`MusicLatent.attribute_offset`).
    """
    form, section = check_form(ml, bars, form or default_form(bars))
    per_bar = ml.steps // ml.bars
    sec_steps, end_steps = section * per_bar, min(ENDING_BARS, section // 2) * per_bar
    rng = np.random.default_rng(seed)
    letters = list(dict.fromkeys(form))
    offset = ml.attribute_offset(attributes)
    first = ml.prior_latents(int(n), style, temperature, rng)   # the style prior's, or N(0, I)
    z = {letters[0]: first}
    for letter in letters[1:]:
        z[letter] = ml.walk_latents(first, 1, answer, style, rng)[0]
    base_seed = 0 if seed is None else int(seed)

    def decode(latents, k):
        return ml.decode(latents + offset, style, temperature, base_seed + k, repeat=repeat)

    phrase = {L: decode(z[L], k)[:, :sec_steps] for k, L in enumerate(letters)}
    seen: set[str] = set()
    parts = []
    for k, letter in enumerate(form):
        sec = phrase[letter].copy()
        if letter in seen and end_steps:
            zv = ml.walk_latents(z[letter], 1, vary, style, rng)[0]
            again = decode(zv, 100 + k)
            sec[:, sec_steps - end_steps:] = again[:, sec_steps - end_steps:sec_steps]
        seen.add(letter)
        parts.append(sec)
    return np.concatenate(parts, axis=1).astype(np.int64)


def default_continuation_form(n: int) -> str:
    """Letters for n new phrases after a song whose opening is ``A``: new material, then the
    opening returns (B, BA, BBA, BBAA, ...), so a one-phrase song continued by three is AABA-like."""
    n = int(n)
    return "B" * (n - n // 2) + "A" * (n // 2)


def form_continuation(ml: MusicLatent, tokens: np.ndarray, n: int = 4, form: str | None = None,
                      similarity: float = 0.9, style=None, temperature: float = 0.0, seed: int | None = 0,
                      vary: float = 0.8, repeat: float = DEFAULT_REPEAT, chords=None) -> np.ndarray:
    """n phrases continuing a song's phrases (m, T) in ``form`` -> tokens (n, T) int64.

    ``form`` has one letter per new phrase (default :func:`default_continuation_form`). ``A`` is
    the song's first phrase coming back, with a new cadence (its last bars from a variation of its
    latent, similarity ``vary``). Each other new letter is a new phrase, a step of the latent walk
    (``similarity``) from the phrase before it: the song's last phrase for the first new letter.
    A letter that comes back repeats its phrase with a new cadence; ``repeat`` and ``chords``
    ((n, K), one row per new phrase) are as in :func:`form_pieces` and :meth:`MusicLatent.decode`.
    """
    form = str(form or default_continuation_form(n)).upper()
    if not form.isalpha() or len(form) != int(n):
        raise ValueError(f"a continuation form has one letter per new phrase ({n}), such as "
                         f"{default_continuation_form(n)}, not {form!r}")
    tokens = np.atleast_2d(np.asarray(tokens, np.int64))
    rng = np.random.default_rng(seed)
    base_seed = 0 if seed is None else int(seed)
    song_z = ml.encode(tokens, None if getattr(ml, "prior", None) is not None else style, refine=0)
    z, last = {"A": song_z[:1]}, song_z[-1:]
    for letter in dict.fromkeys(form):
        if letter not in z:
            z[letter] = last = ml.walk_latents(last, 1, similarity, style, rng)[0]
    end = min(ENDING_BARS, ml.bars // 2) * (ml.steps // ml.bars)
    stated = {"A": tokens[0]}
    out = []
    for k, letter in enumerate(form):
        row = None if chords is None else np.asarray(chords)[k:k + 1]
        if letter in stated:
            again = ml.decode(ml.walk_latents(z[letter], 1, vary, style, rng)[0], style, temperature,
                              base_seed + 100 + k, row, repeat=repeat)[0]
            phrase = stated[letter].copy()
            if end:
                phrase[-end:] = again[-end:]
        else:
            phrase = stated[letter] = ml.decode(z[letter], style, temperature, base_seed + k, row, repeat=repeat)[0]
        out.append(phrase)
    return np.stack(out).astype(np.int64)
