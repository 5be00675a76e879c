"""Round-trip latency of the web app's Generate button, through gradio_client.

Starts the app on a free local port, then times ``/generate`` calls from a
client: the handler alone, the round trip returning file URLs, and the round
trip that also downloads every file (13 files for 4 variations), as a
browser would. Prints medians over repeats as a table; asserts nothing.

    .venv/bin/python benchmarks/demo_speed.py                 # shipped melody-2bar, if present
    .venv/bin/python benchmarks/demo_speed.py --model runs/x  # any model folder

Without a shipped model it times an untrained model of the ``melody-2bar``
preset's shape: the same arithmetic, so the same speed, but noise for music.
Target: "Generate 4 x 2-bar with audio" under 1.5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import serve_app  # noqa: E402

TARGET_S = 1.5


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="pretrained name or model folder (default: melody-2bar)")
    p.add_argument("--repeats", type=int, default=10, help="timed calls per case (default 10)")
    p.add_argument("--threads", type=int, default=1, help="torch threads, as `main()` sets them (default 1)")
    args = p.parse_args(argv)

    from gradio_client import Client

    demo, url, ml, desc = serve_app(args.model, args.threads)
    h = demo.handlers
    cases = []

    def settings(n, bars, seed=0):
        return ("any", bars, 0.5, n, 120, 0, seed, *([0.0] * len(h.generator.attribute_names)))

    try:
        with tempfile.TemporaryDirectory() as downloads:
            urls_only = Client(url, verbose=False, download_files=False)
            with_files = Client(url, verbose=False, download_files=downloads)
            t0 = time.perf_counter()
            with_files.predict(*settings(4, 2), api_name="/generate")
            first = time.perf_counter() - t0
            for n, bars in ((4, 2), (1, 2), (8, 2), (4, 16)):
                label = f"{n} x {bars}-bar with audio"
                cases.append((label, "handler only", timed(lambda: h.generate(*settings(n, bars)), args.repeats)))
                cases.append((label, "round trip, file URLs", timed(
                    lambda: urls_only.predict(*settings(n, bars), api_name="/generate"), args.repeats)))
                cases.append((label, "round trip + download files", timed(
                    lambda: with_files.predict(*settings(n, bars), api_name="/generate"), args.repeats)))
    finally:
        demo.close()

    print(f"\nmodel: {desc} ({ml.bars}-bar phrases, z {ml.z_dim}); torch threads {args.threads}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.repeats} repeats; "
          f"first call (warm-up) {first:.2f} s\n")
    print(f"| {'request':<24} | {'measured':<28} | median s | min s | max s |")
    print(f"|{'-' * 26}|{'-' * 30}|---------:|------:|------:|")
    for label, what, times in cases:
        print(f"| {label:<24} | {what:<28} | {statistics.median(times):8.3f} | {min(times):5.3f} | {max(times):5.3f} |")
    medians = {(lab, what): statistics.median(t) for lab, what, t in cases}
    urls, files = (medians[("4 x 2-bar with audio", w)] for w in ("round trip, file URLs", "round trip + download files"))
    print(f"\nGenerate 4 x 2-bar with audio: round trip {urls:.3f} s median (target < {TARGET_S} s); "
          f"{files:.3f} s when the client also fetches all 13 files one after another")
    return 0


if __name__ == "__main__":
    sys.exit(main())
