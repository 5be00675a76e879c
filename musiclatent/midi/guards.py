"""Cheap checks on untrusted music bytes, made before a parser sees them.

mido, zipfile and music21 can each be made to spend far more memory or time
than a file's size suggests (an object per MIDI event, a zip bomb, a parser
quadratic in the length of an ABC tune). These functions measure that cost
cheaply, without parsing; :mod:`musiclatent.midi.io` refuses what is over the
limits below with a MusicReadError.
"""

from __future__ import annotations

import io
import re
import zipfile

from musiclatent.constants import MAX_FILE_BYTES, MAX_NOTES

__all__ = ["MAX_EVENTS", "MAX_UNZIPPED_BYTES", "MAX_ABC_MUSIC_CHARS", "MAX_TUNES_TRIED",
           "count_midi_events", "unzipped_size", "abc_music_chars"]

# Limits derived from the ones in constants.py
MAX_EVENTS = 3 * MAX_NOTES  # note-on + note-off of every note, plus controllers and meta events
MAX_UNZIPPED_BYTES = 4 * MAX_FILE_BYTES  # compressed MusicXML, once unzipped
MAX_ABC_MUSIC_CHARS = 4_000  # music21's ABC parser is quadratic in bars x notes: ~10 s of CPU at this size
MAX_TUNES_TRIED = 5  # read_melody of an ABC book parses at most this many tunes (not a whole 5 MB book)


def _data_bytes_after(status: int) -> int | None:
    """Data bytes that follow a channel or system status byte (None: undefined)."""
    if status < 0xF0:
        return 1 if 0xC0 <= status < 0xE0 else 2
    return {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0, 0xFE: 0}.get(status)


def count_midi_events(data: bytes, limit: int) -> int:
    """Count the events mido would build from MIDI bytes, without building them.

    mido makes a Python object of ~270 bytes per event, so a 5 MB file of
    2-byte events would take ~700 MB before any limit could be checked. This
    walk follows mido's reader (header size, declared track count, running
    status, tracks read until their exact size) and stops once past ``limit``
    or where mido would raise.
    """
    n, end = 0, len(data)
    pos = 8 + int.from_bytes(data[4:8], "big")
    n_tracks = int.from_bytes(data[10:12], "big", signed=True)
    for _ in range(max(n_tracks, 0)):
        if pos + 8 > end:
            break
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        start = i = pos + 8
        status = None
        while i - start != size and i < end:
            while i < end and data[i] & 0x80:  # delta time
                i += 1
            i += 1
            if i >= end:
                break
            byte = data[i]
            i += 1
            if byte < 0x80:  # running status: that byte was the first data byte
                if status is None:
                    return n
                kind, consumed = status, 1
            else:
                kind, consumed = byte, 0
                if byte != 0xFF:
                    status = byte
            if kind in (0xFF, 0xF0, 0xF7):  # meta (type byte first) or sysex: a length, then the payload
                i += 1 if kind == 0xFF else 0
                length = 0
                while i < end and data[i] & 0x80:
                    length = (length << 7) | (data[i] & 0x7F)
                    i += 1
                if i < end:
                    length = (length << 7) | data[i]
                i += 1 + length
            else:
                size_left = _data_bytes_after(kind)
                if size_left is None:
                    return n
                i += size_left - consumed
            n += 1
            if n > limit:
                return n
        pos = i
    return n


def unzipped_size(data: bytes) -> int:
    """Total size of the files in a zip archive once extracted, from its directory.

    zipfile never extracts more than an entry's declared size, so this bounds
    what music21 will read. Raises zipfile.BadZipFile on a corrupt archive.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return sum(info.file_size for info in z.infolist())


def abc_music_chars(text: str) -> int:
    """Characters on an ABC tune's music lines (not fields such as ``T:`` or ``w:``, not comments)."""
    return sum(len(line) for line in text.splitlines() if not re.match(r"[A-Za-z+]:|%", line))
