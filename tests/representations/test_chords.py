"""The chord vocabulary: parsing spellings, names, templates, chord events and the chord-tone share."""

import numpy as np
import pytest

from musiclatent.representations.chords import (
    N_CHORDS,
    NO_CHORD,
    ChordError,
    chord_block_notes,
    chord_id,
    chord_name,
    chord_pitch_classes,
    chord_tone_share,
    chords_to_events,
    events_to_chords,
    match_chords,
    parse_chord,
    parse_progression,
    pitch_class_weights,
    template_match,
    transpose_chords,
)

C, D, E, F, G, A, B = 0, 2, 4, 5, 7, 9, 11


@pytest.mark.parametrize("symbol, root, quality", [
    ("C", C, "maj"), ("Am", A, "min"), ("G7", G, "dom7"), ("F#m7b5", 6, "hdim"), ("Bbmaj7", 10, "maj"),
    ("Dsus4", D, "sus"), ("Cdim", C, "dim"), ("C+", C, "aug"), ("Cm7", C, "min7"),
    ("C/E", C, "maj"), ("Am7/G", A, "min7"), ("G9", G, "dom7"), ("G11", G, "dom7"), ("G13", G, "dom7"),
    ("Cm9", C, "min7"), ("Cm11", C, "min7"), ("CM7", C, "maj"), ("CΔ7", C, "maj"), ("C-7", C, "min7"),
    ("C-", C, "min"), ("Cø", C, "hdim"), ("Cm7(b5)", C, "hdim"), ("E7b9", E, "dom7"), ("E7#9", E, "dom7"),
    ("C7#5", C, "aug"), ("Caug", C, "aug"), ("C6", C, "maj"), ("C6/9", C, "maj"), ("Cadd9", C, "maj"),
    ("Cm6", C, "min"), ("Cm(maj7)", C, "min"), ("Cdim7", C, "dim"), ("C°7", C, "dim"), ("C7sus4", C, "sus"),
    ("Csus2", C, "sus"), ("C13(#11)", C, "dom7"), ("Ebm7", 3, "min7"), ("Db7", 1, "dom7"), ("Cb", B, "maj"),
    ("B#m", C, "min"), (" Gmin7 ", G, "min7"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_parse_good_spellings(symbol, root, quality):
    assert parse_chord(symbol) == chord_id(root, quality)


@pytest.mark.parametrize("symbol", ["N.C.", "NC", "n.c.", "N"])
def test_no_chord_spellings(symbol):
    assert parse_chord(symbol) == NO_CHORD


@pytest.mark.parametrize("symbol, hint", [
    ("H7", "root A-G"), ("Cx", "unknown quality"), ("C/X", "bass"), ("C7foo", "unknown quality"),
    ("", "root A-G"), ("c", "root A-G"), ("Dsus3", "unknown quality"), ("7", "root A-G"),
], ids=["german-H", "junk-quality", "bad-bass", "junk-suffix", "empty", "lowercase", "sus3", "no-root"])
def test_bad_spellings_name_the_symbol(symbol, hint):
    with pytest.raises(ChordError) as err:
        parse_chord(symbol)
    assert repr(symbol) in str(err.value) and hint in str(err.value)
    assert isinstance(err.value, ValueError)


def test_progression_and_its_errors_name_symbol_and_position():
    assert parse_progression("C G Am F") == [1, chord_id(G, "maj"), chord_id(A, "min"), chord_id(F, "maj")]
    assert parse_progression("C | G7, N.C.") == [1, chord_id(G, "dom7"), NO_CHORD]
    with pytest.raises(ChordError, match=r"chord 3 of 4 in the progression, 'Hm'"):
        parse_progression("C G Hm F")
    with pytest.raises(ChordError, match="empty"):
        parse_progression("  ")


def test_names_round_trip_over_the_whole_vocabulary():
    assert N_CHORDS == 97
    assert [parse_chord(chord_name(i)) for i in range(N_CHORDS)] == list(range(N_CHORDS))
    assert chord_name(0) == "N.C." and chord_name(parse_chord("F#m7b5")) == "F#m7b5"
    with pytest.raises(ChordError):
        chord_name(97)


@pytest.mark.parametrize("symbol, pcs", [
    ("C", {0, 4, 7}), ("Am", {9, 0, 4}), ("G7", {7, 11, 2, 5}), ("Bm7b5", {11, 2, 5, 9}), ("Dsus4", {2, 7, 9}),
    ("Caug", {0, 4, 8}), ("N.C.", set()),
])
def test_pitch_classes(symbol, pcs):
    assert chord_pitch_classes(parse_chord(symbol)) == frozenset(pcs)


def _weights(*pcs, w=1.0):
    out = np.zeros(12)
    out[list(pcs)] = w
    return out


@pytest.mark.parametrize("pcs, expected", [
    ((0, 4, 7), "C"), ((9, 0, 4), "Am"), ((7, 11, 2, 5), "G7"), ((2, 5, 9, 0), "Dm7"),
    ((11, 2, 5), "Bdim"), ((0, 4, 8), "Caug"), ((2, 7, 9), "Dsus4"), ((11, 2, 5, 9), "Bm7b5"),
], ids=["C", "Am", "G7", "Dm7", "Bdim", "Caug", "Dsus4", "Bm7b5"])
def test_template_match_exact_chords(pcs, expected):
    cid, conf = template_match(_weights(*pcs))
    assert chord_name(cid) == expected and conf == pytest.approx(1.0)


def test_template_match_silence_single_notes_and_the_bass():
    assert template_match(np.zeros(12)) == (NO_CHORD, 0.0)
    assert template_match(_weights(0)) == (NO_CHORD, 0.0)           # one pitch class is no chord
    cid, conf = template_match(_weights(0, 4, 7) + _weights(2, w=0.3))  # a passing D does not move it
    assert chord_name(cid) == "C" and 0.9 < conf < 1.0
    cmaj7 = _weights(0, 4, 7, 11)                                     # C E G B: C or Em, the bass decides
    assert chord_name(template_match(cmaj7, bass=_weights(0))[0]) == "C"
    assert chord_name(template_match(cmaj7, bass=_weights(4))[0]) == "Em"


def test_pitch_class_weights_and_match_per_cell():
    notes = np.array([[60, 0, 8], [64, 0, 8], [67, 0, 4], [48, 0, 8],   # cell 0: C E G(half) + low C
                      [57, 8, 16], [60, 8, 16], [64, 8, 16]])            # cell 1: A C E
    w, bass = pitch_class_weights(notes, origin=0, n_cells=3)
    assert w.shape == (3, 12) and bass.shape == (3, 12)
    assert w[0, 0] == 16 and w[0, 4] == 8 and w[0, 7] == 4 and w[2].sum() == 0
    assert bass[0, 0] == 8 and bass[1, 9] == 8
    chords, conf = match_chords(notes, 0, 3)
    assert [chord_name(c) for c in chords] == ["C", "Am", "N.C."] and conf[2] == 0
    shifted, _ = match_chords(notes + [0, 4, 4], 4, 2)              # the grid follows its origin
    assert [chord_name(c) for c in shifted] == ["C", "Am"]


def test_events_to_chords_takes_the_longest_chord_of_each_cell():
    g, am = parse_chord("G"), parse_chord("Am")
    events = np.array([[2, 1], [9, g], [14, am]])
    # cell 0 [0, 8): no chord 2 steps, C 6 -> C; cell 1 [8, 16): C 1, G 5, Am 2 -> G; later cells: Am
    assert events_to_chords(events, 0, 4).tolist() == [1, g, am, am]
    assert events_to_chords(np.array([[6, 1]]), 0, 1).tolist() == [0]   # no chord 6 steps, C 2
    assert events_to_chords(np.array([[4, 1]]), 0, 1).tolist() == [1]   # a tie: the chord
    assert events_to_chords(np.zeros((0, 2)), 0, 2).tolist() == [0, 0]
    assert events_to_chords(events, 8, 1).tolist() == [g]
    assert chords_to_events([1, 1, g, 0], start=16).tolist() == [[16, 1], [32, g], [40, 0]]


def test_transpose_chords_moves_roots_not_qualities():
    ids = np.array([[0, parse_chord("C"), parse_chord("Bm7b5")]], np.uint8)
    up = transpose_chords(ids, 2)
    assert up.dtype == np.uint8 and [chord_name(c) for c in up[0]] == ["N.C.", "D", "Dbm7b5"]
    assert (transpose_chords(up, -14) == ids).all()


@pytest.mark.parametrize("notes, chords, expected", [
    ([[60, 0, 4], [64, 8, 12]], ["C", "C"], 1.0),                          # both strong notes are chord tones
    ([[62, 0, 4], [64, 8, 12]], ["C", "C"], 0.5),                          # D on beat 1 is not
    ([[62, 2, 4], [64, 8, 12]], ["C", "C"], 1.0),                          # a weak-step D does not count
    ([[60, 0, 8], [60, 8, 16]], ["C", "F"], 1.0),                          # C is in F too
    ([[64, 0, 8], [64, 8, 16]], ["C", "F"], 0.5),                          # E is not in F
    ([[60, 0, 8], [61, 16, 20], [67, 24, 32]], ["C", "C", "G7", "G7"], 2 / 3),
    ([[61, 0, 8], [60, 8, 16]], ["N.C.", "C"], 1.0),                       # notes under no chord do not count
], ids=["all-tones", "one-of-two", "weak-step", "half-bar-change", "wrong-half", "second-bar", "no-chord"])
def test_chord_tone_share(notes, chords, expected):
    ids = [parse_chord(c) for c in chords]
    assert chord_tone_share(np.array(notes), ids) == pytest.approx(expected)


def test_chord_tone_share_without_countable_notes_is_nan():
    assert np.isnan(chord_tone_share(np.zeros((0, 3)), [1]))
    assert np.isnan(chord_tone_share(np.array([[60, 32, 36]]), [1, 1]))    # after the last chord


def test_block_notes_root_position_around_c3():
    notes = chord_block_notes([parse_chord("C"), 0, parse_chord("Bbmaj7"), parse_chord("G7")])
    assert notes.dtype == np.int32
    assert notes.tolist() == [[48, 0, 8], [52, 0, 8], [55, 0, 8],          # C E G
                              [58, 16, 24], [62, 16, 24], [65, 16, 24],    # Bb D F (maj7 folds to maj)
                              [55, 24, 32], [59, 24, 32], [62, 24, 32], [65, 24, 32]]  # G B D F
    assert chord_block_notes([]).shape == (0, 3)
    assert chord_block_notes([1, 1], steps_per_chord=4)[:, 1:].tolist() == [[0, 4]] * 3 + [[4, 8]] * 3
