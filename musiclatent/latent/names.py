"""Readable names for corpus phrases: collection, tune title or number, bar.

An index row names its phrase by piece id and bar: ``essenFolksong/han1.abc#477``
(tune 477, counted from 0, of the ABC book ``han1.abc``) and the index of the
phrase's first bar among the file's full bars (0 = bar 1; a pickup is bar 0).
:func:`phrase_name` turns that into "Essen folk songs, han1 no. 478 “Taigong
Haozi”, bar 5": the tune's own number (its ``X:`` field) and title are read from
the ABC text of music21's bundled corpus when it is installed (once per book),
never guessed; without it the tune is numbered by its place in the book.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

__all__ = ["COLLECTIONS", "phrase_name", "piece_name", "tune_title"]

COLLECTIONS = {
    "essenFolksong": "Essen folk songs",
    "oneills1850": "O'Neill's Music of Ireland (1850)",
    "airdsAirs": "Aird's Airs",
    "ryansMammoth": "Ryan's Mammoth Collection",
    "bach": "Bach chorales",
}
_TITLE = re.compile(r"(?m)^T:\s*(.+?)\s*$")
_NUMBER = re.compile(r"X:\s*(\d+)")


def _split_id(file_id: str) -> tuple[str, str, int | None]:
    """'essenFolksong/han1.abc#477' -> ('essenFolksong', 'han1.abc', 477)."""
    path, _, tune = str(file_id).partition("#")
    parts = Path(path).parts
    folder = parts[0] if len(parts) > 1 else ""
    return folder, Path(path).name, int(tune) if tune.isdigit() else None


@lru_cache(maxsize=256)
def _book_tunes(rel_path: str) -> tuple[tuple[str, str], ...]:
    """(X: number, title) of every tune of a corpus ABC book, in order ('' where missing)."""
    try:
        from musiclatent.data.corpus import music21_corpus_root

        text = (music21_corpus_root() / rel_path).read_text(encoding="utf-8", errors="replace")
    except (ImportError, OSError):
        return ()
    tunes = [t for t in re.split(r"(?m)^(?=X:)", text) if t.startswith("X:")]
    return tuple(((m.group(1) if (m := _NUMBER.match(t)) else ""), (m.group(1) if (m := _TITLE.search(t)) else ""))
                 for t in tunes)


def _tune(file_id: str) -> tuple[str, str]:
    path, _, tune = str(file_id).partition("#")
    if not path.endswith(".abc"):
        return "", ""
    tunes = _book_tunes(path)
    k = int(tune) if tune.isdigit() else 0
    return tunes[k] if k < len(tunes) else ("", "")


def tune_title(file_id: str) -> str:
    """The title of a corpus tune ('' when unknown or not an ABC book in music21's corpus)."""
    return _tune(file_id)[1]


def phrase_name(file_id: str, bar: int) -> str:
    """A corpus phrase for people: collection, tune title or number, and its first bar.

    Parameters
    ----------
    file_id : str
        The index's piece id, e.g. ``oneills1850/1476-1555.abc#10``.
    bar : int
        Index of the phrase's first bar among the file's full bars (0-based).
    """
    return f"{piece_name(file_id)}, bar {int(bar) + 1}"


def piece_name(file_id: str) -> str:
    """A corpus piece for people: its collection, then its tune number and title (or file name)."""
    folder, name, tune = _split_id(file_id)
    collection = COLLECTIONS.get(folder, folder)
    stem = Path(name).stem
    if folder == "bach":
        piece = f"BWV {stem.removeprefix('bwv')}" if stem.startswith("bwv") else stem
    else:
        x, title = _tune(file_id)
        number = f"{stem} no. {x or tune + 1}" if tune is not None else stem
        piece = f"{number} “{title}”" if title else number
    return f"{collection}, {piece}" if collection else piece
