"""Typicality as a percentile: how unusual a phrase's score is for phrases like it.

Pure numpy; :mod:`musiclatent.latent` feeds it scores (negative ELBO per step)
of a query and of the index's phrases, and of their near variants
(:func:`near_variants`, a note or two moved), which give each phrase a local
score (:func:`local_scores`: how much likelier it is than its variants). Both are
matched for note count: a phrase is compared with training phrases with about as
many notes, as a robust z-score (minus their median, over their spread). The sum
of the two z-scores (:func:`combined_scores`) is ranked among the same statistic
of held-out phrases (or of the training phrases themselves;
``LatentIndex.ranking_rows`` chooses).
"""

from __future__ import annotations

import zlib

import numpy as np

from musiclatent.latent.corpus import compact_tokens
from musiclatent.representations import MELODY


def percentile_of(scores, reference: np.ndarray) -> np.ndarray:
    """Share (0-100) of reference scores strictly below each score; (n,) -> (n,) float64."""
    ref = np.sort(np.asarray(reference, np.float64))
    if len(ref) == 0:
        raise ValueError("no reference scores")
    return 100.0 * np.searchsorted(ref, np.asarray(scores, np.float64), side="left") / len(ref)


def note_counts(tokens) -> np.ndarray:
    """Note-ons per phrase: (n, T) tokens -> (n,) int64."""
    return (np.asarray(tokens) >= MELODY.pitch_offset).sum(-1).astype(np.int64)


MIN_MATCHED = 50  # reference phrases behind each note count's expected score and spread
MAD_TO_SD = 1.4826  # median absolute deviation -> standard deviation of a normal


def _matched_windows(notes, ref_notes, min_ref: int):
    """(note count, reference mask) per distinct count in ``notes``: the phrases with that count, the
    nearest counts (+-1, +-2, ...) pooled in until ``min_ref`` phrases back it."""
    need = min(int(min_ref), len(ref_notes))
    for k in np.unique(notes):
        gap = np.sort(np.abs(ref_notes - k))[need - 1]        # the smallest window holding `need` phrases
        yield k, np.abs(ref_notes - k) <= gap


def matched_stats(notes, ref_scores, ref_notes, min_ref: int = MIN_MATCHED) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust spread (MAD as a standard deviation) of the reference scores among phrases
    with the same note count, for each count in ``notes``; (n,) -> ((n,), (n,))."""
    notes, ref_scores, ref_notes = (np.asarray(a) for a in (notes, ref_scores, ref_notes))
    if len(ref_scores) == 0:
        raise ValueError("no reference scores")
    centre, spread = np.empty(len(notes), np.float64), np.empty(len(notes), np.float64)
    for k, near in _matched_windows(notes, ref_notes, min_ref):
        med = np.median(ref_scores[near])
        centre[notes == k] = med
        spread[notes == k] = MAD_TO_SD * np.median(np.abs(ref_scores[near] - med))
    return centre, np.maximum(spread, 1e-6)


def expected_scores(notes, ref_scores, ref_notes, min_ref: int = MIN_MATCHED) -> np.ndarray:
    """Median reference score among phrases with the same note count (see :func:`matched_stats`)."""
    return matched_stats(notes, ref_scores, ref_notes, min_ref)[0]


def relative_scores(scores, notes, ref_scores, ref_notes) -> np.ndarray:
    """How unusual a score is for a phrase with its note count: the score minus the median of training
    phrases with about as many notes, in units of their spread (a robust z-score); (n,) -> (n,).

    Both matter. A busy phrase costs more nats per step than a sparse one however typical it is,
    and busy phrases' scores also spread far wider: the median absolute deviation of 16-bar
    training phrases with 9-30 notes is 0.02 nats/step, of those with 73 or more 0.10. Subtracting
    the median alone let a corrupted sparse phrase hide among ordinary busy ones."""
    centre, spread = matched_stats(notes, ref_scores, ref_notes)
    return (np.asarray(scores, np.float64) - centre) / spread


def reading(percentile: float, among: str = "held-out corpus phrases") -> str:
    """One line for people: "less typical than 97% of held-out corpus phrases".

    Worded one way at every percentile (the share of ``among`` that scored as
    more typical), so 3% and 97% read as the two ends of one scale.
    """
    p = float(np.clip(percentile, 0.0, 100.0))
    return f"less typical than {round(p)}% of {among}"


# what the shipped models' corpus is (music21's bundled corpus), per style; see the model cards
STYLE_SOURCES = {
    "german": "German folk songs (Essen collection)",
    "chinese": "Chinese folk songs (Essen collection)",
    "irish": "Irish dance tunes (O'Neill's)",
    "scottish": "Scottish tunes (Aird's)",
    "american": "American fiddle tunes (Ryan's Mammoth Collection)",
    "bach": "Bach chorale melodies",
}


def describe_corpus(styles) -> str:
    """What a model's corpus is, from its style names: the shipped models' sources, else the names."""
    named = [s for s in styles if s in STYLE_SOURCES]
    if named:
        text = "; ".join(STYLE_SOURCES[s] for s in named)
        return (f"folk tunes and chorales: {text}. Music far from these (pop, jazz, film) "
                f"reads as atypical however well it is written")
    own = [s for s in styles if s != "any"]
    return f"the phrases the model was indexed on ({', '.join(own) or 'one style'})"


# --------------------------------------------------------------------------- near variants
VARIANTS = 16  # near variants per phrase behind its local score
BARS_PER_EDIT = 2  # a variant makes one edit per two bars (2-bar phrases: 1 edit; 16-bar: 8)


def _edit(row: np.ndarray, rng: np.random.Generator, n_classes: int = MELODY.n_classes) -> None:
    """One random edit of a phrase's notes, in place: a note moved by 1 or 2 semitones, or two
    neighbouring notes' pitches swapped (a draw that would change nothing is drawn again). The
    rhythm stays; the negative ELBO beside the local score judges it."""
    onsets = np.flatnonzero(row >= MELODY.pitch_offset)
    for _ in range(8):
        if len(onsets) > 1 and rng.random() < 0.5:
            j = rng.integers(len(onsets) - 1)
            a, b = onsets[j], onsets[j + 1]
            if row[a] != row[b]:
                row[a], row[b] = row[b], row[a]
                return
        elif len(onsets):
            i = rng.choice(onsets)
            row[i] = np.clip(int(row[i]) + rng.choice([-2, -1, 1, 2]), MELODY.pitch_offset, n_classes - 1)
            return


def near_variants(tokens, k: int = VARIANTS, seed: int = 0, n_classes: int = MELODY.n_classes) -> np.ndarray:
    """``k`` near variants of each phrase, one edit (see :func:`_edit`) per ``BARS_PER_EDIT`` bars
    away; (n, T) -> (k, n, T) int64. A phrase's variants depend only on the phrase and ``seed``, not
    on what else is in the batch, so its score is the same wherever it is scored. ``n_classes``:
    the model's token classes (drum tokens, 512, are sets of hits: an edit there adds or drops one)."""
    tokens = np.asarray(tokens, np.int64)
    n, steps = tokens.shape
    edits = max(1, steps // (MELODY.steps_per_bar() * BARS_PER_EDIT))
    out = np.repeat(tokens[None], k, axis=0)
    for i in range(n):
        rng = np.random.default_rng([seed, zlib.crc32(compact_tokens(tokens[i]).tobytes())])
        for v in range(k):
            for _ in range(edits):
                _edit(out[v, i], rng, n_classes)
    return out


def local_scores(scores, variant_scores) -> np.ndarray:
    """How much likelier a phrase is than its near variants: its score (negative ELBO per step)
    minus their mean; (n,), (k, n) -> (n,). Real music sits near a peak of a good model's
    likelihood, where most edits cost it, so this is negative; a wrong note's edits cost little or
    even help. (The perturbation discrepancy of Mitchell et al. 2023, DetectGPT.)"""
    return np.asarray(scores, np.float64) - np.asarray(variant_scores, np.float64).mean(0)


def combined_scores(scores, local, notes, ref_scores, ref_local, ref_notes) -> np.ndarray:
    """What typicality percentiles rank: the note-count-matched z-score (:func:`relative_scores`)
    of the negative ELBO plus that of the local score; (n,) each -> (n,)."""
    return (relative_scores(scores, notes, ref_scores, ref_notes)
            + relative_scores(local, notes, ref_local, ref_notes))
