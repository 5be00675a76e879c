"""Pathological sizes stay bounded: refused or cut, with a message, in bounded memory.

Each case runs in a fresh subprocess under a 3 GB address-space limit and
measures its own peak-RSS growth. It also reports its CPU time, but asserts
none: speed belongs in benchmarks (``benchmarks/fuzz_long.py`` times the
readers); a reader that hangs still fails here, at the subprocess timeout.
Inputs are built from raw bytes, so making a 50 MB file takes milliseconds.
Run with ``-s`` to see the measured figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from musiclatent.constants import MAX_NOTES, MAX_QUARTERS
from musiclatent.midi.guards import MAX_ABC_MUSIC_CHARS
from tests import fuzz_cases as fc

MAX_RSS_GROWTH_MB = 500
HANG_S = 600  # wall-clock seconds before a case counts as hung (not a speed bound)
REPO = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    from pathlib import Path
    import numpy, mido  # imported before the baseline: we measure the reading
    from musiclatent.midi.io import MusicReadError, read_melodies, read_melody

    path, mode = Path(sys.argv[1]), sys.argv[2]
    if path.suffix != ".mid":
        import music21.converter
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a runaway fails here, not the machine
    data = None if mode == "path" else path.read_bytes()

    def status_kb(field):  # VmRSS (resident now) or VmHWM (peak resident) from /proc, in kB
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])

    try:  # reset the peak to "now", so the imports' own peak does not hide (or pad) the reading's
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        rss_kb = status_kb("VmRSS")
    except OSError:  # no /proc: fall back to the all-time peak (an underestimate of the growth)
        rss_kb = None
    base = resource.getrusage(resource.RUSAGE_SELF)
    try:
        if mode == "melody":  # what the web app does with an upload
            result = read_melody(path, data=data)
        else:
            result = read_melodies(path, data=data)[0][1]
        if isinstance(result, MusicReadError):
            outcome, message = "error", str(result)
        else:
            outcome, message = "ok", result.track.get("cut", "")
    except MusicReadError as err:
        outcome, message = "error", str(err)
    end = resource.getrusage(resource.RUSAGE_SELF)
    cpu = end.ru_utime + end.ru_stime - base.ru_utime - base.ru_stime
    growth = status_kb("VmHWM") - rss_kb if rss_kb is not None else end.ru_maxrss - base.ru_maxrss
    print(json.dumps({"outcome": outcome, "message": message, "cpu_s": round(cpu, 2),
                      "rss_growth_mb": round(growth / 1024, 1)}))
""")


def ten_hour_song(tpb: int) -> bytes:
    return fc.long_song_midi(hours=10, qpm=120, tpb=tpb)


def mxl_million_notes() -> bytes:
    note = "<note><pitch><step>C</step><octave>4</octave></pitch><duration>1</duration></note>"
    measure = '<measure number="2">' + note * 4 + "</measure>"
    return fc.mxl(fc.MUSICXML.replace("</part>", measure * 250_000 + "</part>").encode())


CASES = {
    # name: (file name, builder, how it is read, expected outcome, fragment of the message)
    # read: "path" = read_melodies(path), "bytes" = read_melodies(data=...), "melody" = read_melody(data=...)
    "midi_50mb_on_disk": ("big.mid", lambda: fc.many_notes_midi(50 * 1024 * 1024 // 6), "path", "error", "too large"),
    "midi_50mb_in_memory": ("big.mid", lambda: fc.many_notes_midi(50 * 1024 * 1024 // 6), "bytes", "error",
                            "too large"),
    "midi_1m_notes": ("notes.mid", lambda: fc.many_notes_midi(1_000_000), "bytes", "error", "too large"),
    "midi_850k_notes_in_5mb": ("notes.mid", lambda: fc.many_notes_midi(850_000), "bytes", "error",
                               "too many MIDI events"),
    "midi_max_notes_plus_one": ("notes.mid", lambda: fc.many_notes_midi(MAX_NOTES + 1, step_ticks=1), "bytes",
                                "error", "too many notes"),
    "midi_10_hours_cut": ("song.mid", lambda: ten_hour_song(tpb=96), "path", "ok",
                          f"cut after {MAX_QUARTERS:,} quarter notes"),
    "midi_10_hours_fine_ticks": ("song.mid", lambda: ten_hour_song(tpb=960), "path", "error", "too long"),
    "mxl_1m_notes_zipped": ("bomb.mxl", mxl_million_notes, "bytes", "error", "unzips to"),
    "abc_one_huge_tune": ("huge.abc", lambda: (fc.ABC_TUNE + "|:DFAF dFAF:|\n" * 100_000).encode(), "bytes",
                          "error", "ABC tune too long"),
    "abc_book_of_200k_tunes": ("book.abc", lambda: "".join(f"X:{i}\nL:1/8\nK:C\nz4|\n" for i in range(200_000)).encode(),
                               "melody", "error", "no notes"),
    # the slowest shape music21 parses (a bar per note), just under the limit: slow, but bounded
    "abc_longest_allowed_tune": ("long.abc", lambda: (fc.ABC_TUNE[:-1] + "C|" * (MAX_ABC_MUSIC_CHARS // 2 - 30))
                                 .encode(), "bytes", "ok", ""),
}


@pytest.mark.parametrize("name", list(CASES))
def test_pathological_size_is_bounded(name, tmp_path):
    file_name, build, mode, outcome, fragment = CASES[name]
    path = tmp_path / file_name
    path.write_bytes(build())
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], cwd=REPO, capture_output=True,
                          text=True, timeout=HANG_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    size_mb = path.stat().st_size / 1e6
    print(f"\n{name}: {size_mb:.1f} MB -> {report['outcome']} ({report['message'][:70]}); "
          f"cpu {report['cpu_s']} s, peak RSS +{report['rss_growth_mb']} MB")
    assert report["outcome"] == outcome
    assert fragment.lower() in report["message"].lower()
    assert report["rss_growth_mb"] < MAX_RSS_GROWTH_MB

