"""The built-in corpora: music21's bundled folk-song and chorale collections (and the lead-sheet ones).

Six styles, each a set of files inside music21's wheel (offline):

========  ==========================================================
german    Essen folk songs, German collections (altdeu, ballad, ...)
chinese   Essen folk songs, Han Chinese (han1, han2)
irish     O'Neill's Music of Ireland (1850)
scottish  Aird's Selection of Scotch, English, Irish and Foreign Airs
american  Ryan's Mammoth Collection (fiddle tunes)
bach      Bach chorales, soprano part
========  ==========================================================

The lead-sheet corpora ``openewld`` (style ``standards``) and ``chord-melody`` (``jazz-pop``)
ship compressed in ``data/leadsheets/``; see :mod:`musiclatent.data.leadsheets`.
"""

from __future__ import annotations

from pathlib import Path

CORPUS_STYLES = ("german", "chinese", "irish", "scottish", "american", "bach")

GERMAN_ESSEN = ("altdeu", "ballad", "boehme", "dva", "erk", "fink", "kinder", "zuccal", "lot")


def music21_corpus_root() -> Path:
    """Folder of music21's bundled corpus."""
    import music21

    return Path(music21.__file__).parent / "corpus"


def corpus_style(rel_path: str) -> str | None:
    """Style of a corpus file given its path relative to the corpus root, or None."""
    parts = Path(rel_path).parts
    if len(parts) < 2:
        return None
    folder, name = parts[0], parts[-1]
    if folder == "essenFolksong" and name.endswith(".abc"):
        if name.startswith(("han1", "han2")):
            return "chinese"
        if name.startswith(GERMAN_ESSEN):
            return "german"
        return None
    if folder == "oneills1850" and name.endswith(".abc"):
        return "irish"
    if folder == "airdsAirs" and name.endswith(".abc"):
        return "scottish"
    if folder == "ryansMammoth" and name.endswith(".abc"):
        return "american"
    if folder == "bach" and len(parts) == 2 and name.endswith((".mxl", ".xml", ".krn")):
        return "bach"
    return None


def corpus_files(root: Path | None = None) -> list[tuple[Path, str]]:
    """All corpus files with their style, sorted by path (deterministic)."""
    root = root or music21_corpus_root()
    out = []
    for folder in ("essenFolksong", "oneills1850", "airdsAirs", "ryansMammoth", "bach"):
        for f in sorted((root / folder).iterdir()):
            style = corpus_style(str(f.relative_to(root)))
            if style:
                out.append((f, style))
    return out


BUILT_IN_CORPORA = ("music21", "openewld", "chord-melody")


def corpus_entries(corpus: str, cache: Path) -> list[tuple[Path, str, str]]:
    """``(file, piece id, style)`` of every file of a built-in melody corpus; the lead-sheet
    corpora are unpacked into ``cache`` first (:mod:`musiclatent.data.leadsheets`)."""
    from musiclatent.data.leadsheets import LEADSHEET_CORPORA, leadsheet_files

    if corpus == "music21":
        root = music21_corpus_root()
        return [(f, str(f.relative_to(root)), style) for f, style in corpus_files(root)]
    if corpus in LEADSHEET_CORPORA:
        return leadsheet_files(corpus, cache)
    raise ValueError(f"unknown corpus {corpus!r}; the built-in ones are {', '.join(BUILT_IN_CORPORA)}")


def corpus_names(corpus) -> list[str]:
    """None, one corpus name or several (a list, or names joined by commas) -> a list of names."""
    if not corpus:
        return []
    names = corpus.split(",") if isinstance(corpus, str) else list(corpus)
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))


def corpus_style_names(corpus) -> list[str]:
    """The styles of one or more built-in corpora, in their fixed order ([] for none)."""
    from musiclatent.data.leadsheets import LEADSHEET_CORPORA

    out: list[str] = []
    for name in corpus_names(corpus):
        out += [LEADSHEET_CORPORA[name].style] if name in LEADSHEET_CORPORA else list(CORPUS_STYLES)
    return out
