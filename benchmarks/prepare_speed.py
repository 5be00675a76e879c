"""Preparation speed: MIDI files per second on 1 and 2 workers.

Typical songs: 3 tracks (melody, chords, drums), 3 minutes (90 bars at 120 qpm).
Goal: >= 50 files/s on 2 workers. Prints a table of medians.

    .venv/bin/python benchmarks/prepare_speed.py [--files 60] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, median_time, print_table, write_song  # noqa: E402

from musiclatent.data.prepare import prepare  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    src = tmp / "songs"
    src.mkdir()
    for i in range(args.files):
        write_song(src / f"song{i:03d}.mid", seed=i)
    results = {}
    rows = []
    for workers in (1, 2):
        def run():
            out = tmp / f"out{workers}"
            shutil.rmtree(out, ignore_errors=True)
            prepare([str(src)], out, bars=2, workers=workers, progress=False)
        t = median_time(run, repeats=args.repeats, warmup=0)
        results[workers] = args.files / t
        rows.append([workers, args.files, round(t, 3), round(args.files / t, 1)])
    print(f"machine: {machine()}")
    print_table(["workers", "files", "median s", "files/s"], rows)
    print(f"2-worker speed vs goal of 50 files/s: {results[2] / 50:.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)
    return {"prepare_files_per_s_1w": results[1], "prepare_files_per_s_2w": results[2]}


if __name__ == "__main__":
    main()
