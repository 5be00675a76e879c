"""Load test of the web app: 32 concurrent clients x 5 requests of Generate and Interpolate.

Starts the app (``demo.app.build_demo``) on a free port of 127.0.0.1 (never
another address), then each client thread sends its requests one after
another through gradio_client, alternating ``/generate`` (4 variations of 2
bars) and ``/interpolate`` (5 steps, between two example tunes or two
uploaded MIDI files). The run is bounded: clients x requests calls, and a
wall-clock limit after which unfinished calls count as errors. Prints the
p50/p95 latency per endpoint, the error count, whether the server still
answers afterwards, and how many request folders the app kept on disk.
Asserts nothing; the goal is 0 errors.

    .venv/bin/python benchmarks/load_web.py                      # shipped melody-2bar, if present
    .venv/bin/python benchmarks/load_web.py --clients 4 --requests 2 --model runs/x
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import serve_app  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    p.add_argument("--requests", type=int, default=5, help="requests per client (default 5)")
    p.add_argument("--model", default=None, help="pretrained name or model folder (default: melody-2bar)")
    p.add_argument("--time-limit", type=float, default=900.0, help="wall seconds for the whole load (default 900)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the app's main())")
    args = p.parse_args(argv)

    from gradio_client import Client, handle_file

    from demo.workspace import OutputStore
    from tests import fuzz_cases as fc

    work = Path(tempfile.mkdtemp(prefix="load_web_"))
    store = OutputStore(work / "outputs")
    demo, url, ml, desc = serve_app(args.model, args.threads, store=store)
    examples = demo.handlers.examples.names
    uploads = []
    for k in range(2):
        path = work / f"upload_{k}.mid"
        path.write_bytes(fc.melody_midi(24, seed=k))
        uploads.append(path)
    attrs = [0.0] * len(demo.handlers.generator.attribute_names)

    def request(client, kind: str, i: int):
        if kind == "generate":
            return client.predict("any", 2, 0.5, 4, 120, 0, i, *attrs, api_name="/generate")
        if i % 2 or len(examples) < 2:  # uploaded files
            a, b = handle_file(str(uploads[0])), handle_file(str(uploads[1]))
            return client.predict(ml.name, a, "", "auto", b, "", "auto", 5, 0.0, i, api_name="/interpolate")
        a, b = examples[i % len(examples)], examples[(i + 1) % len(examples)]
        return client.predict(ml.name, None, a, "auto", None, b, "auto", 5, 0.0, i, api_name="/interpolate")

    latencies: dict[str, list[float]] = {"generate": [], "interpolate": []}
    errors: list[str] = []
    lock = threading.Lock()

    def client_session(c: int) -> None:
        try:
            client = Client(url, verbose=False, download_files=False)
        except Exception as err:
            with lock:
                errors.extend([f"client {c}: connect: {type(err).__name__}: {err}"] * args.requests)
            return
        for r in range(args.requests):
            kind = ("generate", "interpolate")[(c + r) % 2]
            t0 = time.perf_counter()
            try:
                request(client, kind, c * args.requests + r)
                with lock:
                    latencies[kind].append(time.perf_counter() - t0)
            except Exception as err:
                with lock:
                    errors.append(f"client {c} {kind}: {type(err).__name__}: {str(err)[:200]}")

    t_start = time.perf_counter()
    try:
        pool = ThreadPoolExecutor(max_workers=args.clients)
        futures = [pool.submit(client_session, c) for c in range(args.clients)]
        done, pending = wait(futures, timeout=args.time_limit)
        wall = time.perf_counter() - t_start
        unfinished = args.clients * args.requests - len(errors) - sum(map(len, latencies.values()))
        if pending:
            errors.append(f"{unfinished} calls unfinished after the {args.time_limit:.0f} s limit")
        try:  # the server is still up: the page loads and a Generate call answers
            with urllib.request.urlopen(url, timeout=60) as page:
                alive = page.status == 200
            Client(url, verbose=False, download_files=False).predict("any", 2, 0.5, 1, 120, 0, 0, *attrs,
                                                                      api_name="/generate")
        except Exception as err:
            alive = False
            errors.append(f"after the load: {type(err).__name__}: {err}")
        kept = sum(1 for _ in store.root.iterdir())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        demo.close()

    total = args.clients * args.requests
    print(f"\nmodel: {desc}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; app at {url}")
    print(f"{args.clients} clients x {args.requests} requests = {total} calls in {wall:.0f} s "
          f"({total / wall:.2f} calls/s)\n")
    print("| endpoint     | calls | p50 s  | p95 s  | max s  |")
    print("|--------------|------:|-------:|-------:|-------:|")
    for kind, times in latencies.items():
        print(f"| /{kind:<11} | {len(times):5d} | {percentile(times, 0.5):6.2f} | {percentile(times, 0.95):6.2f} "
              f"| {max(times, default=float('nan')):6.2f} |")
    everything = latencies["generate"] + latencies["interpolate"]
    print(f"| all          | {len(everything):5d} | {percentile(everything, 0.5):6.2f} "
          f"| {percentile(everything, 0.95):6.2f} | {max(everything, default=float('nan')):6.2f} |")
    print(f"\nerrors: {len(errors)}; server still up afterwards: {'yes' if alive else 'NO'} "
          f"(page and a Generate call answered); request folders kept on disk: {kept} (cap {store.keep})")
    for line in errors[:10]:
        print("  " + line)
    return 1 if errors or not alive else 0


if __name__ == "__main__":
    sys.exit(main())
