"""CPU time and peak memory of reading pathological files (the cases of ``tests/test_limits.py``).

The test asserts only what each case gives (refused or cut, with which message)
and a memory bound; how long the readers take is measured here. The slowest
case is ``abc_longest_allowed_tune``: the ABC length guard
(``MAX_ABC_MUSIC_CHARS``) was sized so that it stays near 10 s of CPU. Each
case runs in a fresh subprocess, as in the test.

    .venv/bin/python benchmarks/read_limits.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, print_table  # noqa: E402

from tests.test_limits import CASES, CHILD  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, choices=sorted(CASES), help="cases to run (default: all)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or list(CASES):
            file_name, build, mode, _, _ = CASES[name]
            path = Path(tmp) / file_name
            path.write_bytes(build())
            proc = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], cwd=ROOT, capture_output=True,
                                  text=True, timeout=1800)
            if proc.returncode:
                rows.append([name, f"{path.stat().st_size / 1e6:.1f}", "crash", "-", "-"])
                print(proc.stderr[-2000:], file=sys.stderr)
                continue
            report = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append([name, f"{path.stat().st_size / 1e6:.1f}", report["outcome"], report["cpu_s"],
                         report["rss_growth_mb"]])
    print(f"read limits on {machine()}\n")
    print_table(["case", "MB", "outcome", "CPU s", "peak RSS growth MB"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
