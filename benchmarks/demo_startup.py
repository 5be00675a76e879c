"""Seconds from ``musiclatent demo`` to a served page, and to the first result.

Launches the real command (``.venv/bin/musiclatent demo --port P``, the
shipped models) as a fresh process, polls ``http://127.0.0.1:P/`` until it
answers 200 with the page, then times one Generate call through the API (the
first model loads in the background once the page is served; the first call
may wait for it). Stops the process and repeats; prints medians and the load
average beside them (the machine is shared). Asserts nothing.

    .venv/bin/python benchmarks/demo_startup.py [--runs 5]
    .venv/bin/python benchmarks/demo_startup.py --against /tmp/before   # runs interleaved with another
        # source tree (e.g. `git archive <commit> | tar -x -C /tmp/before`), started as
        # `python -m musiclatent.cli demo` with that tree first on PYTHONPATH

Target (issue 23): a served page within 10 s of ``musiclatent demo``.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import HOST, free_port, machine, print_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMMAND = ROOT / ".venv" / "bin" / "musiclatent"
TARGET_S = 10.0


def one_run(tree: Path | None = None, timeout_s: float = 300.0) -> dict:
    """One start of the app: this checkout's ``musiclatent demo``, or that of another source ``tree``."""
    import httpx

    port = free_port()
    url = f"http://{HOST}:{port}/"
    if tree is None:
        cmd, cwd, env = [str(COMMAND), "demo", "--port", str(port)], ROOT, None
    else:
        cmd = [sys.executable, "-m", "musiclatent.cli", "demo", "--port", str(port)]
        cwd, env = Path(tree), {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(cwd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    out = {"page_s": float("nan"), "first_generate_s": float("nan")}
    try:
        while time.perf_counter() - t0 < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(f"musiclatent demo exited with status {proc.returncode}")
            try:
                r = httpx.get(url, timeout=2.0)
                if r.status_code == 200 and "gradio" in r.text.lower():
                    out["page_s"] = time.perf_counter() - t0
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        from gradio_client import Client

        with tempfile.TemporaryDirectory() as tmp:
            t1 = time.perf_counter()
            client = Client(url, verbose=False, download_files=tmp)
            client.predict("any", 2, 0.5, 1, 120, 0, 0, 0, 0, 0, 0, api_name="/generate")
            out["first_generate_s"] = time.perf_counter() - t1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)   # the process group this run started, nothing else
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--against", default=None, help="another source tree to time, run for run (before/after)")
    args = p.parse_args(argv)
    print(f"{machine()}\n")
    runs, others = [], []
    for k in range(args.runs):
        load = os.getloadavg()[0]
        r = one_run()
        runs.append(r)
        print(f"run {k + 1}: page {r['page_s']:.2f} s, first Generate {r['first_generate_s']:.2f} s "
              f"(load average {load:.1f})")
        if args.against:
            o = one_run(Path(args.against))
            others.append(o)
            print(f"   {args.against}: page {o['page_s']:.2f} s, first Generate {o['first_generate_s']:.2f} s")
    page = statistics.median(r["page_s"] for r in runs)
    first = statistics.median(r["first_generate_s"] for r in runs)
    print()
    print_table(["measure", f"median of {len(runs)}", "min", "max", "target"], [
        ["`musiclatent demo` to a served page (s)", f"{page:.2f}", f"{min(r['page_s'] for r in runs):.2f}",
         f"{max(r['page_s'] for r in runs):.2f}", f"<= {TARGET_S:g}"],
        ["then the first Generate (1 x 2 bars with audio, s)", f"{first:.2f}",
         f"{min(r['first_generate_s'] for r in runs):.2f}", f"{max(r['first_generate_s'] for r in runs):.2f}", "-"],
    ] + ([[f"{args.against}: to a served page (s)", f"{statistics.median(o['page_s'] for o in others):.2f}",
           f"{min(o['page_s'] for o in others):.2f}", f"{max(o['page_s'] for o in others):.2f}", "-"],
          [f"{args.against}: then the first Generate (s)",
           f"{statistics.median(o['first_generate_s'] for o in others):.2f}",
           f"{min(o['first_generate_s'] for o in others):.2f}", f"{max(o['first_generate_s'] for o in others):.2f}",
           "-"]] if others else []))
    return 0


if __name__ == "__main__":
    sys.exit(main())
