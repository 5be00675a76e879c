"""What kind of music file this is, and the one error every reader raises.

Pure functions of bytes or text: nothing here parses music or opens a file.
"""

from __future__ import annotations

import re

__all__ = ["MusicReadError", "MUSIC_EXTENSIONS", "sniff_format", "split_abc_tunes", "count_abc_tunes"]

MUSIC_EXTENSIONS = (".mid", ".midi", ".abc", ".xml", ".mxl", ".musicxml", ".krn")

class MusicReadError(ValueError):
    """A music file could not be turned into a melody; ``str(err)`` says why."""


def sniff_format(data: bytes, name: str = "") -> str:
    """Guess the format from content first, the extension second.

    Returns one of ``"midi"``, ``"mxl"``, ``"musicxml"``, ``"abc"``, ``"krn"``;
    raises MusicReadError for anything else.
    """
    if not data:
        raise MusicReadError("empty file")
    if data[:4] == b"MThd":
        return "midi"
    if data[:4] == b"RIFF" and b"MThd" in data[:64]:
        return "midi"
    if data[:2] == b"PK":
        return "mxl"
    head = data[:4096]
    if b"\x00" in head:
        raise MusicReadError("not a music file (binary data that is not MIDI or MXL)")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<?xml") or "<score-partwise" in text or "<score-timewise" in text:
        if "score-partwise" in text or "score-timewise" in text or name.lower().endswith((".xml", ".musicxml")):
            return "musicxml"
        raise MusicReadError("XML file that is not MusicXML")
    if re.search(r"^\*\*kern", text, re.M):
        return "krn"
    if re.search(r"^X:\s*\d*", text, re.M) or (re.search(r"^K:", text, re.M) and name.lower().endswith(".abc")):
        return "abc"
    raise MusicReadError("not a music file (expected MIDI, ABC, MusicXML or Humdrum **kern)")


def split_abc_tunes(text: str) -> tuple[str, list[str]]:
    """Split an ABC book into (file header, [tune texts]) at ``X:`` lines."""
    chunks = re.split(r"(?m)^(?=X:)", text)
    header = chunks[0] if chunks and not chunks[0].startswith("X:") else ""
    tunes = [c for c in chunks if c.startswith("X:")]
    return header, tunes


def count_abc_tunes(data: bytes) -> int:
    """Number of tunes (``X:`` lines) in ABC bytes."""
    return len(re.findall(rb"(?m)^X:", data))
