"""Repeats written out before windowing: tiny ABC tunes read as played, and the fallbacks."""

from __future__ import annotations

import pytest

from musiclatent.midi.chords import parse_chord
from musiclatent.midi.io import MusicReadError, read_leadsheets, read_melodies
from musiclatent.midi.notation import first_score, parse_score
from musiclatent.midi.repeats import (MAX_REPEAT_TIMES, abc_repeat_signs, expand_repeats, implied_repeat_starts,
                                      join_split_bars)

# A lead sheet: |: A B |1 C :|2 D || with a chord symbol per bar (4/4, a quarter per note)
ENDINGS = """X:1
T:Endings
M:4/4
L:1/4
K:C
|: "C"C D E F | "G"G A B c |1 "F"d e f g :|2 "C"c B A G ||
"""
BAR_A, BAR_B, BAR_1, BAR_2 = [60, 62, 64, 65], [67, 69, 71, 72], [74, 76, 77, 79], [72, 71, 69, 67]

# An AABB reel in miniature: a pickup, and each section's last bar completed by the pickup of the next pass
PICKUPS = """X:2
T:Pickups
M:2/4
L:1/8
K:C
G | c2 de | f2 e :: g | a2 ag | f2 e :|
"""
# pitches as played: G | c d e | f e G | c d e | f e g | a a g | f e g | a a g | f e
PICKUPS_PLAYED = [67, 72, 74, 76, 77, 76, 67, 72, 74, 76, 77, 76, 79, 81, 81, 79, 77, 76, 79, 81, 81, 79, 77, 76]

TWO_STARTS = """X:3
T:Two starts and no end
M:4/4
L:1/4
K:C
|: C D E F | G A B c |: d e f g | c B A G |
"""


def _read(text: str, expand: bool):
    (_, melody, chords), = read_leadsheets("tune.abc", data=text.encode(), expand=expand)
    return melody, chords


def test_first_and_second_endings_are_played_through_with_their_chords():
    written, _ = _read(ENDINGS, expand=False)
    assert len(written.bars) == 4 and len(written.notes) == 16
    melody, chords = _read(ENDINGS, expand=True)
    assert melody.track["repeats"] == "expanded"
    assert melody.notes[:, 0].tolist() == BAR_A + BAR_B + BAR_1 + BAR_A + BAR_B + BAR_2
    assert melody.bars.tolist() == [[16 * i, 16] for i in range(6)]        # 6 whole bars, 16 steps each
    assert melody.notes[:, 1].tolist() == list(range(0, 96, 4))
    # the chord symbols went through the same expansion: one per bar, on the played bars
    expected = [(0, "C"), (16, "G"), (32, "F"), (48, "C"), (64, "G"), (80, "C")]
    assert chords.events[:6].tolist() == [[s, parse_chord(c)] for s, c in expected]


def test_a_pickup_completes_the_last_bar_of_each_pass():
    written = read_melodies("tune.abc", data=PICKUPS.encode())[0][1]
    melody = read_melodies("tune.abc", data=PICKUPS.encode(), expand=True)[0][1]
    assert melody.notes[:, 0].tolist() == PICKUPS_PLAYED
    assert len(written.notes) == 12 and len(melody.notes) == 24
    # the pickup is no bar; then 8 contiguous 2/4 bars (8 steps), the split ones joined
    assert melody.bars.tolist() == [[2 + 8 * i, 8] for i in range(8)]
    assert (melody.bars[1:, 0] == melody.bars[:-1].sum(axis=1)).all()


def test_the_end_and_start_sign_in_one_is_read_as_both():
    assert abc_repeat_signs("f2 e :|: g | a2 ag :|") == "f2 e :: g | a2 ag :|"
    melody = read_melodies("tune.abc", data=PICKUPS.replace("::", ":|:").encode(), expand=True)[0][1]
    assert melody.notes[:, 0].tolist() == PICKUPS_PLAYED     # A A B B, not A A B A A B



def test_a_repeat_without_its_start_sign_repeats_the_section_before_it_not_the_tune():
    tune = "X:5\nT:Three sections\nM:4/4\nL:1/4\nK:C\nC D E F | G A B c :| d e f g | a b a g :| e d c B | A G F E :|\n"
    melody = read_melodies("tune.abc", data=tune.encode(), expand=True)[0][1]
    a, b, c = [60, 62, 64, 65, 67, 69, 71, 72], [74, 76, 77, 79, 81, 83, 81, 79], [76, 74, 72, 71, 69, 67, 65, 64]
    assert melody.notes[:, 0].tolist() == a + a + b + b + c + c       # music21 alone: A A B A A B C A A B A A B C


@pytest.mark.parametrize("marks, starts", [
    ([(None, None, False), (None, "end", False), (None, None, False), (None, "end", False)], [2]),
    ([("start", None, False), (None, "end", False), ("start", None, False), (None, "end", False)], []),
    ([(None, "section", False), (None, None, False), (None, "end", False)], [1]),
    ([(None, None, False), (None, "end", True), (None, "section", True), (None, None, False), (None, "end", False)],
     [3]),
    ([(None, None, False), (None, "end", True), (None, None, True), (None, None, True), (None, None, False),
      (None, "end", False)], [4]),
    ([(None, "end", False)], []),
], ids=["after-an-end", "explicit-starts", "after-a-double-bar", "past-a-second-ending", "two-bar-second-ending",
        "from-the-top"])
def test_implied_repeat_starts(marks, starts):
    assert implied_repeat_starts(marks) == starts


def test_badly_formed_repeats_fall_back_to_the_music_as_written():
    written = read_melodies("tune.abc", data=TWO_STARTS.encode())[0][1]
    melody = read_melodies("tune.abc", data=TWO_STARTS.encode(), expand=True)[0][1]
    assert melody.track["repeats"] == "unexpandable" and "Exception" in melody.track["repeats_reason"]
    assert melody.notes.tolist() == written.notes.tolist() and melody.bars.tolist() == written.bars.tolist()


def test_without_expand_the_reading_is_unchanged():
    melody = read_melodies("tune.abc", data=ENDINGS.encode())[0][1]
    assert "repeats" not in melody.track and len(melody.notes) == 16


def test_a_tune_without_repeats_is_returned_as_it_is():
    score = first_score(parse_score("X:1\nM:4/4\nL:1/4\nK:C\nC D E F | G A B c |\n", "abc"))
    played = expand_repeats(score)
    assert played.status == "none" and played.score is score


def test_expansion_errors_and_huge_repeat_counts_are_kept_as_written():
    from music21 import bar, note, stream

    class Broken:   # music21 raising anywhere in the walk
        parts = ()

        def recurse(self):
            raise RuntimeError("half-built score")

    assert expand_repeats(Broken()).status == "unexpandable"
    part = stream.Part()
    for _ in range(2):
        m = stream.Measure()
        m.append(note.Note("C4", quarterLength=4))
        part.append(m)
    part.getElementsByClass("Measure")[-1].rightBarline = bar.Repeat(direction="end", times=MAX_REPEAT_TIMES + 96)
    played = expand_repeats(part)
    assert played.status == "unexpandable" and "passes" in played.reason and played.score is part


@pytest.mark.parametrize("spans, joined", [
    ([(0, 4, 4), (4, 4, 4)], [(0, 4, 4), (4, 4, 4)]),
    ([(0, 1, 4), (1, 4, 4), (5, 3, 4), (8, 1, 4), (9, 4, 4)], [(0, 1, 4), (1, 4, 4), (5, 4, 4), (9, 4, 4)]),
    ([(0, 4, 4), (4, 3, 4), (7, 2, 4)], [(0, 4, 4), (4, 3, 4), (7, 2, 4)]),        # 3 + 2 is not a bar
    ([(0, 4, 4), (4, 1.5, 2), (5.5, 0.5, 2)], [(0, 4, 4), (4, 2, 2)]),             # bars of 2/4
    ([(0, 3, 4), (4, 1, 4)], [(0, 3, 4), (4, 1, 4)]),                              # not adjacent
    ([], []),
], ids=["whole-bars", "section-end-and-pickup", "no-bar-sum", "meter-change", "gap", "empty"])
def test_join_split_bars(spans, joined):
    assert join_split_bars(spans) == joined



def test_played_music_that_cannot_be_read_falls_back_to_the_written_tune(monkeypatch):
    from musiclatent.midi import io

    read = io.from_music21

    def refuse_played(score, **kwargs):   # say the played music has an opening longer than a bar
        if len(score.parts[0].getElementsByClass("Measure")) > 4:
            raise MusicReadError("the opening before the first full bar lasts 6 quarter notes")
        return read(score, **kwargs)

    monkeypatch.setattr(io, "from_music21", refuse_played)
    melody, chords = _read(ENDINGS, expand=True)
    assert melody.track["repeats"] == "unexpandable" and "opening" in melody.track["repeats_reason"]
    assert len(melody.notes) == 16 and len(chords.events) == 5     # the written tune and its chords


def test_songs_for_the_generation_commands_are_read_as_played():
    from musiclatent.midi.io import read_song

    song = read_song("tune.abc", data=ENDINGS.encode())
    assert song.track["repeats"] == "expanded" and len(song.bars) == 6
    assert song.notes[:, 0].tolist() == BAR_A + BAR_B + BAR_1 + BAR_A + BAR_B + BAR_2
    assert len(song.chords) >= 6                                         # the chords went through with it
    written = read_song("tune.abc", data=ENDINGS.encode(), expand=False)
    assert len(written.bars) == 4 and "repeats" not in written.track
