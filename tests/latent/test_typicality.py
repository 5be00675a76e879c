"""Typicality percentiles: note-count-matched robust z-scores (musiclatent.typicality)."""

import numpy as np
import pytest

from musiclatent.latent import anomaly, typicality


def test_percentile_and_reading():
    ref = np.arange(100, dtype=float)
    np.testing.assert_array_equal(typicality.percentile_of([-1, 50, 97.5, 1000], ref), [0, 50, 98, 100])
    assert typicality.reading(97.4) == "less typical than 97% of held-out corpus phrases"
    assert typicality.reading(97.96) == "less typical than 98% of held-out corpus phrases"  # as .1f prints it
    assert typicality.reading(20.0, "400 training phrases") == "less typical than 20% of 400 training phrases"


def test_corpus_is_named_by_its_sources():
    shipped = typicality.describe_corpus(["any", "german", "irish", "bach"])
    assert "Essen" in shipped and "O'Neill's" in shipped and "Bach chorale" in shipped and "pop" in shipped
    assert typicality.describe_corpus(["any", "reels", "airs"]) == \
        "the phrases the model was indexed on (reels, airs)"


def test_expected_scores_match_note_counts_and_pool_sparse_ones():
    ref_notes = np.repeat([2, 4, 6], 60)
    ref_scores = ref_notes * 0.1 + np.tile(np.linspace(-0.01, 0.01, 60), 3)
    exp = typicality.expected_scores([2, 4, 6], ref_scores, ref_notes, min_ref=50)
    np.testing.assert_allclose(exp, [0.2, 0.4, 0.6], atol=1e-9)
    # count 5 has no phrase of its own: 4 and 6 are equally near and both are pooled in
    assert typicality.expected_scores([5], ref_scores, ref_notes, min_ref=50)[0] == pytest.approx(0.5, abs=1e-9)
    assert typicality.expected_scores([3], ref_scores, ref_notes, min_ref=100)[0] == pytest.approx(0.3, abs=1e-9)


def test_matched_percentile_removes_the_density_confound():
    """A busy phrase that is ordinary for its note count is not 'unusual'; a sparse phrase that
    scores badly for its count is, though its raw score is low."""
    rng = np.random.default_rng(0)
    ref_notes = rng.integers(1, 12, 2000)
    ref_scores = 0.1 * ref_notes + 0.02 * rng.standard_normal(2000)
    ref_rel = typicality.relative_scores(ref_scores, ref_notes, ref_scores, ref_notes)
    busy_typical, sparse_odd = (11, 0.1 * 11), (2, 0.1 * 2 + 0.06)
    raw = typicality.percentile_of([busy_typical[1], sparse_odd[1]], ref_scores)
    rel = typicality.relative_scores([busy_typical[1], sparse_odd[1]], [busy_typical[0], sparse_odd[0]],
                                 ref_scores, ref_notes)
    matched = typicality.percentile_of(rel, ref_rel)
    assert raw[0] > 90 and raw[1] < 30
    assert 30 < matched[0] < 70 and matched[1] > 95


def test_matched_stats_give_each_note_count_its_own_spread():
    """The spread is the MAD as a standard deviation, measured within the note count's window."""
    rng = np.random.default_rng(1)
    ref_notes = np.repeat([3, 30], 4000)
    ref_scores = np.where(ref_notes == 3, 0.2 + 0.01 * rng.standard_normal(8000), 1.0 + 0.1 * rng.standard_normal(8000))
    centre, spread = typicality.matched_stats([3, 30], ref_scores, ref_notes)
    np.testing.assert_allclose(centre, [0.2, 1.0], atol=0.01)
    np.testing.assert_allclose(spread, [0.01, 0.1], rtol=0.1)


def test_a_small_excess_in_a_tight_note_count_outranks_an_ordinary_wide_one():
    """Sparse phrases' scores spread less than busy ones': +0.04 nats/step is 4 spreads for a sparse
    phrase but under half of one for a busy phrase, so the sparse one is the more unusual, though
    its excess over the median is smaller than the busy one's."""
    rng = np.random.default_rng(2)
    ref_notes = np.repeat([3, 30], 2000)
    ref_scores = np.where(ref_notes == 3, 0.2, 1.0) + np.where(ref_notes == 3, 0.01, 0.1) * rng.standard_normal(4000)
    ref_rel = typicality.relative_scores(ref_scores, ref_notes, ref_scores, ref_notes)
    rel = typicality.relative_scores([0.24, 1.05], [3, 30], ref_scores, ref_notes)
    pct = typicality.percentile_of(rel, ref_rel)
    assert rel[0] > 3 and rel[1] < 1
    assert pct[0] > 99 and pct[1] < 80


# --------------------------------------------------------------------------- near variants, local scores

def _phrases(n: int, steps: int, seed: int = 0) -> np.ndarray:
    """Phrases of notes two or four steps long (pitch tokens 50-80) with a rest now and then."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, steps), np.int64)
    for row in out:
        t = 0
        while t < steps:
            row[t] = 1 if rng.random() < 0.1 else rng.integers(50, 80)
            t += rng.choice([2, 4])
    return out


@pytest.mark.parametrize("steps, edits", [(32, 1), (256, 8)])
def test_near_variants_move_notes_keep_rhythm_and_do_not_depend_on_the_batch(steps, edits):
    phrases = _phrases(6, steps)
    variants = typicality.near_variants(phrases, k=5)
    assert variants.shape == (5, 6, steps)
    rhythm = np.minimum(phrases, 2)                            # hold / rest / note-on at every step
    assert (np.minimum(variants, 2) == rhythm[None]).all()
    changed = (variants != phrases[None]).sum(-1)              # steps changed per variant
    assert (changed >= 1).all() and (changed <= 2 * edits).all()
    alone = typicality.near_variants(phrases[3:4], k=5)
    np.testing.assert_array_equal(alone[:, 0], variants[:, 3])
    assert not np.array_equal(typicality.near_variants(phrases, k=5, seed=1), variants)


def test_a_one_note_phrase_is_nudged_and_an_empty_one_left_alone():
    one = np.zeros((1, 32), np.int64)
    one[0, 0] = 60
    variants = typicality.near_variants(np.r_[one, np.zeros((1, 32), np.int64)], k=8)
    assert set(variants[:, 0, 0].tolist()) <= {58, 59, 61, 62} and (variants[:, 0, 1:] == 0).all()
    assert (variants[:, 1] == 0).all()


def test_local_and_combined_scores():
    scores = np.array([1.0, 1.0])
    variant_scores = np.array([[1.5, 0.9], [1.3, 1.1]])        # (k=2, n=2)
    np.testing.assert_allclose(typicality.local_scores(scores, variant_scores), [-0.4, 0.0])
    rng = np.random.default_rng(0)
    ref_s, ref_l = rng.normal(1.0, 0.1, 400), rng.normal(-0.3, 0.05, 400)
    ref_n = np.full(400, 8)
    both = typicality.combined_scores([1.2, 1.0], [-0.3, 0.0], [8, 8], ref_s, ref_l, ref_n)
    alone = typicality.relative_scores([1.2, 1.0], [8, 8], ref_s, ref_n)
    local = typicality.relative_scores([-0.3, 0.0], [8, 8], ref_l, ref_n)
    np.testing.assert_allclose(both, alone + local)
    assert both[1] > both[0]            # likely enough, but no likelier than its variants: more unusual


def test_move_notes_moves_some_notes_3_to_6_semitones_and_keeps_rhythm():
    rng = np.random.default_rng(0)
    tokens = np.full((50, 32), 1, dtype=np.int64)          # holds
    tokens[:, ::4] = 2 + 60 + np.arange(8)                  # eight notes per phrase
    tokens[0] = 0                                           # a silent phrase stays silent
    tokens[1, ::4] = 2 + 127                                # at the top: moves down
    out = anomaly.move_notes(tokens, rng)
    assert np.array_equal(out >= 2, tokens >= 2) and np.array_equal(out[0], tokens[0])
    diff = np.abs(out - tokens)[tokens >= 2]
    assert set(np.unique(diff)) <= {0, 3, 4, 5, 6}
    assert ((out != tokens).sum(1)[1:] >= 1).all()          # at least one note per phrase
    assert 0.15 < (diff > 0).mean() < 0.4                  # about a quarter of the notes
    assert (out[1] <= 2 + 127).all()
