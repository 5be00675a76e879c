"""Untrusted-input cases for the fuzz tests and ``benchmarks/fuzz_long.py``.

Everything is built from raw bytes in memory (no pretty_midi), so cases are
fast to make and can be as malformed as we like. Mutations are pure functions
of ``(data, *ints)``: hypothesis draws the ints in ``tests/test_fuzz.py`` (and
shrinks them), ``random.Random`` draws them in the long benchmark.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile

import numpy as np

# --------------------------------------------------------------------------- MIDI bytes


def vlq(n: int) -> bytes:
    """MIDI variable-length quantity (at most 4 bytes: n < 2**28)."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">I", len(body)) + body


def header(fmt: int = 1, ntracks: int = 1, tpb: int = 480) -> bytes:
    return chunk(b"MThd", struct.pack(">HHH", fmt, ntracks, tpb))


END_OF_TRACK = b"\x00\xff\x2f\x00"


def meta(kind: int, payload: bytes, delta: int = 0) -> bytes:
    return vlq(delta) + bytes([0xFF, kind]) + vlq(len(payload)) + payload


def tempo_event(us_per_quarter: int, delta: int = 0) -> bytes:
    return meta(0x51, us_per_quarter.to_bytes(3, "big"), delta)


def time_signature_event(num: int, den_power: int, delta: int = 0) -> bytes:
    return meta(0x58, bytes([num, den_power, 24, 8]), delta)


def note_track(pitches, durations, channel: int = 0, name: bytes = b"Lead", gap: int = 0) -> bytes:
    """Track body: one note after another, note-offs as running-status note-on velocity 0."""
    body = meta(0x03, name) + vlq(0) + bytes([0xC0 | channel, 40])
    status = 0x90 | channel
    first = True
    for p, d in zip(pitches, durations):
        body += vlq(gap) + (bytes([status]) if first else b"") + bytes([p & 0x7F, 80])
        body += vlq(d) + bytes([p & 0x7F, 0])
        first = False
    return body + END_OF_TRACK


def melody_midi(n_notes: int = 16, tpb: int = 480, seed: int = 0, gap: int = 0) -> bytes:
    """A valid type-1 file: a conductor track, a melody and a chord track."""
    rng = random.Random(seed)
    conductor = tempo_event(500_000) + time_signature_event(4, 2) + END_OF_TRACK
    pitches = [60 + rng.randrange(-7, 8) for _ in range(n_notes)]
    durs = [tpb // 2 * rng.choice((1, 1, 2)) for _ in range(n_notes)]
    chords = note_track([48, 52, 55] * max(1, n_notes // 8), [tpb * 4] * 3 * max(1, n_notes // 8),
                        channel=1, name=b"Chords")
    return header(1, 3, tpb) + chunk(b"MTrk", conductor) + chunk(b"MTrk", note_track(pitches, durs, gap=gap)) \
        + chunk(b"MTrk", chords)


def many_notes_midi(n_notes: int, tpb: int = 480, step_ticks: int = 120) -> bytes:
    """A type-0 file of ``n_notes`` short notes, 6 bytes each (running status throughout)."""
    one = vlq(0) + b"\x3c\x50" + vlq(step_ticks) + b"\x3c\x00"
    body = b"\x00\x90\x3c\x50" + vlq(step_ticks) + b"\x3c\x00" + one * max(0, n_notes - 1) + END_OF_TRACK
    return header(0, 1, tpb) + chunk(b"MTrk", body)


def long_song_midi(hours: float, qpm: float = 120.0, tpb: int = 96, note_quarters: int = 2) -> bytes:
    """A song lasting ``hours`` at ``qpm``: half notes, one after another."""
    n = int(hours * 60 * qpm / note_quarters)
    return many_notes_midi(n, tpb=tpb, step_ticks=tpb * note_quarters)


def track_offsets(data: bytes) -> list[tuple[int, int]]:
    """(offset of the length field, offset of the body) of every chunk after the header."""
    out, pos = [], 14
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos + 4:pos + 8])[0]
        out.append((pos + 4, pos + 8))
        pos += 8 + length
    return out


# --------------------------------------------------------------------------- MIDI mutations
# Each takes the bytes and a few ints (any size: they are reduced modulo what fits).


def truncate(data: bytes, n: int) -> bytes:
    return data[: n % (len(data) + 1)]


def set_bytes(data: bytes, pos: int, values: bytes) -> bytes:
    if not data:
        return values
    pos %= len(data)
    return data[:pos] + values + data[pos + len(values):]


def insert_bytes(data: bytes, pos: int, values: bytes) -> bytes:
    pos %= len(data) + 1
    return data[:pos] + values + data[pos:]


def delete_bytes(data: bytes, pos: int, n: int) -> bytes:
    if not data:
        return data
    pos %= len(data)
    return data[:pos] + data[pos + n % 16 + 1:]


def set_header(data: bytes, fmt: int, ntracks: int, tpb: int) -> bytes:
    """Overwrite format, track count and division (0 and SMPTE values included)."""
    return data[:8] + struct.pack(">HHH", fmt & 0xFFFF, ntracks & 0xFFFF, tpb & 0xFFFF) + data[14:]


def set_header_length(data: bytes, length: int) -> bytes:
    return data[:4] + struct.pack(">I", length & 0xFFFFFFFF) + data[8:]


def set_chunk_length(data: bytes, which: int, length: int) -> bytes:
    chunks = track_offsets(data)
    if not chunks:
        return data
    off, _ = chunks[which % len(chunks)]
    return data[:off] + struct.pack(">I", length & 0xFFFFFFFF) + data[off + 4:]


def _into_track(data: bytes, which: int, at: int, event: bytes) -> bytes:
    """Insert ``event`` into a track body (fixing its length so the file stays framed)."""
    chunks = track_offsets(data)
    if not chunks:
        return data + chunk(b"MTrk", event + END_OF_TRACK)
    len_off, body = chunks[which % len(chunks)]
    length = min(struct.unpack(">I", data[len_off:len_off + 4])[0], len(data) - body)
    # at the start, before the last event (end of track), or anywhere
    pos = body + [0, max(0, length - 4), at // 3 % (length + 1)][at % 3]
    new = data[:pos] + event + data[pos:]
    return new[:len_off] + struct.pack(">I", (length + len(event)) & 0xFFFFFFFF) + new[len_off + 4:]


def huge_delta(data: bytes, which: int, at: int, delta: int) -> bytes:
    """An event after a huge delta time (up to the 4-byte maximum, 2**28 - 1)."""
    return _into_track(data, which, at, vlq(delta % (1 << 28)) + b"\x90\x40\x50" + vlq(delta % 97) + b"\x40\x00")


def tempo_zero(data: bytes, which: int, at: int) -> bytes:
    return _into_track(data, which, at, tempo_event(0))


def running_status_orphan(data: bytes, which: int, at: int, value: int) -> bytes:
    """Data bytes with no status byte before them (at the start of a track they are orphans)."""
    return _into_track(data, which, at, bytes([0, value & 0x7F, (value >> 7) & 0x7F]))


def odd_event(data: bytes, which: int, at: int, kind: int, value: int) -> bytes:
    """Meta/sysex/system events with odd payloads: bad lengths, zero numerators, 2**255 denominators."""
    kind %= 8
    v = value & 0xFF
    event = [
        time_signature_event(v, (value >> 8) & 0xFF),
        meta(0x59, bytes([v, (value >> 8) & 0xFF])),          # key signature
        meta(v & 0x7F, bytes(value % 300)),                    # any meta, any length
        vlq(0) + b"\xff\x51" + vlq(value % 5) + bytes(value % 5),  # tempo with a wrong length
        vlq(0) + b"\xf0" + vlq(value % 40) + bytes(value % 40),     # sysex
        vlq(0) + bytes([0xF1 + value % 15]),                  # system common / realtime
        vlq(0) + bytes([0x80 | (v & 0x7F)]) + bytes([(value >> 8) & 0xFF, (value >> 16) & 0xFF]),
        meta(0x03, bytes([0xFF, 0xFE]) + bytes(value % 50)),  # undecodable track name
    ][kind]
    return _into_track(data, which, at, event)


MIDI_MUTATIONS = {
    "truncate": (truncate, 1),
    "set_bytes": (lambda d, pos, v: set_bytes(d, pos, v.to_bytes(4, "big")), 2),
    "insert_bytes": (lambda d, pos, v: insert_bytes(d, pos, v.to_bytes(4, "big")), 2),
    "delete_bytes": (delete_bytes, 2),
    "header": (set_header, 3),
    "header_length": (set_header_length, 1),
    "chunk_length": (set_chunk_length, 2),
    "huge_delta": (huge_delta, 3),
    "tempo_zero": (tempo_zero, 2),
    "running_status": (running_status_orphan, 3),
    "odd_event": (odd_event, 4),
}


def mutate(data: bytes, name: str, args: list[int]) -> bytes:
    fn, n_args = MIDI_MUTATIONS[name]
    return fn(data, *args[:n_args])


# --------------------------------------------------------------------------- scores

ABC_TUNE = """X:1
T:Test Reel
M:4/4
L:1/8
K:D
|:DFAF dFAF|GBdB AFEF|DFAF dfed|cABc d2d2:|
"""

ABC_TWO_VOICES = """X:1
T:Two Voices
M:2/4
L:1/8
K:G
V:1 name="Melody"
GABc|dedB|cBAG|A4|
V:2 name="Bass"
G,2D,2|G,2D,2|C,2D,2|D,4|
"""  # two parts: the reader picks one, a path a one-voice tune never takes

MUSICXML = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>Melody</part-name></score-part></part-list>
<part id="P1"><measure number="1"><attributes><divisions>1</divisions>
<time><beats>4</beats><beat-type>4</beat-type></time></attributes>
<note><pitch><step>C</step><octave>4</octave></pitch><duration>1</duration></note>
<note><pitch><step>E</step><octave>4</octave></pitch><duration>1</duration></note>
<note><pitch><step>G</step><octave>4</octave></pitch><duration>2</duration></note>
</measure><measure number="2">
<note><pitch><step>A</step><octave>4</octave></pitch><duration>2</duration></note>
<note><pitch><step>G</step><octave>4</octave></pitch><duration>2</duration></note>
</measure></part></score-partwise>
"""

CONTAINER = b"""<?xml version="1.0" encoding="UTF-8"?>
<container><rootfiles><rootfile full-path="score.xml"/></rootfiles></container>"""


def mxl(xml: bytes = MUSICXML.encode()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/container.xml", CONTAINER)
        z.writestr("score.xml", xml)
    return buf.getvalue()


SCORE_PIECES = [  # fragments that upset ABC and MusicXML parsers
    "X:", "X:1\n", "K:", "K:Hp\n", "M:0/0\n", "L:1/0\n", "Q:0\n", "|:", ":|", "[", "]", "(3", "(9:1:99",
    "^^^", "__", "z", "\n", "<", ">", "&", "&amp;", "\x00", "é", "{", "}", "!trill!", "\"", "%", "1000000",
    "-1", "/0", "A,,,,,,,,,,,,", "c''''''''''''", "V:2\n", "T:", "P:A\n", "w:", "[M:7/0]", "[L:0]",
    "<note>", "</measure>", "<duration>-1</duration>", "<divisions>0</divisions>", "<beats>0</beats>",
    "<beat-type>3</beat-type>", "<octave>99</octave>", "<alter>99</alter>", "<tie type=\"stop\"/>",
    "<chord/>", "<backup><duration>99</duration></backup>", "<measure number=\"x\">", "<!--", "]]>"]


def text_mutation(text: str, pos: int, piece: str, cut: int) -> str:
    """Insert ``piece`` at ``pos`` and drop ``cut`` characters after it."""
    pos %= len(text) + 1
    return text[:pos] + piece + text[pos + cut % 8:]


# --------------------------------------------------------------------------- the contract

def check_melody(mel) -> None:
    """Invariants of a successfully read melody (fail loudly on nonsense)."""
    notes = np.asarray(mel.notes)
    assert notes.ndim == 2 and notes.shape[1] == 3 and len(notes) > 0
    assert notes.dtype == np.int32
    assert ((notes[:, 0] >= 0) & (notes[:, 0] <= 127)).all()
    assert (notes[:, 1] >= 0).all() and (notes[:, 2] > notes[:, 1]).all()
    assert (notes[1:, 1] >= notes[:-1, 2]).all(), "melody notes overlap"
    assert np.asarray(mel.bars).reshape(-1, 2).shape[1] == 2
    assert 10.0 <= mel.qpm <= 400.0


def check_chords(reading) -> None:
    """Invariants of the chords read with a melody: sorted events of ids in the vocabulary."""
    from musiclatent.representations.chords import N_CHORDS

    events = np.asarray(reading.events)
    assert events.ndim == 2 and events.shape[1] == 2 and events.dtype == np.int32
    assert (np.diff(events[:, 0]) >= 0).all() and ((events[:, 1] >= 0) & (events[:, 1] < N_CHORDS)).all()
    assert len(reading.confidence) == len(events)


def read_untrusted(data: bytes, name: str = "upload") -> str:
    """Load ``data`` every way a user can; returns "ok" or "error".

    Any exception other than MusicReadError propagates: that is a crash.
    """
    from musiclatent.midi.io import MusicReadError, from_midi_bytes, read_leadsheets, read_melodies, sniff_format

    outcome = "error"
    try:
        pieces = read_melodies(name, data=data)
        for _, result in pieces:
            if isinstance(result, MusicReadError):
                assert str(result), "an error without a reason"
            else:
                check_melody(result)
                outcome = "ok"
    except MusicReadError as err:
        assert str(err), "an error without a reason"
    try:  # prepare reads the chords with the melodies
        for _, result, reading in read_leadsheets(name, data=data):
            if reading is not None:
                check_chords(reading)
    except MusicReadError as err:
        assert str(err), "an error without a reason"
    try:
        is_midi = sniff_format(data, name) == "midi"
    except MusicReadError:
        is_midi = False
    if is_midi:  # the in-memory reader has the same contract
        try:
            check_melody(from_midi_bytes(data))
        except MusicReadError as err:
            assert str(err)
    return outcome
