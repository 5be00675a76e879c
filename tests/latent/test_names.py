"""Corpus phrases get names people can read: collection, tune number and title, bar."""

import pytest

from musiclatent.latent import names


@pytest.mark.parametrize("file_id, bar, expected", [
    ("bach/bwv26.6.mxl", 2, "Bach chorales, BWV 26.6, bar 3"),
    ("reels/reels_0.mid", 3, "reels, reels_0, bar 4"),
    ("mine/book.abc#3", 0, "mine, book no. 4, bar 1"),        # not in music21's corpus: its place in the book
], ids=["bach", "own-midi", "own-abc"])
def test_phrase_names_without_titles(file_id, bar, expected):
    assert names.phrase_name(file_id, bar) == expected


def test_corpus_tunes_are_named_by_their_own_number_and_title():
    pytest.importorskip("music21")
    name = names.phrase_name("oneills1850/1476-1555.abc#10", 0)
    assert name == "O'Neill's Music of Ireland (1850), 1476-1555 no. 1486 “I'm Waiting For You”, bar 1"
    assert names.tune_title("essenFolksong/han1.abc#477") == "Taigong Haozi"
    assert "#" not in names.phrase_name("essenFolksong/han1.abc#477", 4)
