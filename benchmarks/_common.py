"""Helpers shared by the benchmark scripts: medians, tables, synthetic songs."""

from __future__ import annotations

import platform
import statistics
import time

import numpy as np


def median_time(fn, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of fn() in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def print_table(headers: list[str], rows: list[list]) -> str:
    """Print (and return) a markdown table."""
    cells = [[str(h) for h in headers]] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    text = "\n".join(lines)
    print(text)
    return text


def machine() -> str:
    import os

    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_song(path, bars: int = 90, qpm: float = 120.0, seed: int = 0) -> None:
    """A typical 3-track song (melody, chords, drums); 90 bars at 120 qpm = 3 minutes."""
    import pretty_midi

    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    sec = 60.0 / qpm / 4
    mel = pretty_midi.Instrument(73, name="Melody")
    chords = pretty_midi.Instrument(0, name="Piano")
    drums = pretty_midi.Instrument(0, is_drum=True, name="Drums")
    t, p = 0, 67
    while t < bars * 16:
        d = int(rng.choice([2, 2, 4, 4, 8]))
        p = int(np.clip(p + rng.integers(-4, 5), 57, 84))
        mel.notes.append(pretty_midi.Note(int(rng.integers(70, 110)), p, t * sec, (t + d) * sec))
        t += d
    for b in range(bars):
        for q in (48, 52, 55):
            chords.notes.append(pretty_midi.Note(70, q, b * 16 * sec, (b + 1) * 16 * sec))
        for k in range(8):
            drums.notes.append(pretty_midi.Note(90, 42 if k % 2 else 36, (b * 16 + 2 * k) * sec, (b * 16 + 2 * k + 1) * sec))
    pm.instruments += [chords, mel, drums]
    pm.write(str(path))


HOST = "127.0.0.1"  # benchmarks that serve the app never talk to anything but this machine


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def load_model(name: str | None):
    """The model to serve, and a description of it (untrained weights when none is shipped)."""
    from musiclatent.generation.facade import MusicLatent
    from musiclatent.models.builders import build_vae
    from musiclatent.presets import get_preset

    if name:
        return MusicLatent.load(name), name
    try:
        return MusicLatent.from_pretrained("melody-2bar"), "melody-2bar (shipped)"
    except FileNotFoundError:
        return MusicLatent(build_vae(get_preset("melody-2bar").model), name="melody-2bar"), "untrained melody-2bar"


def serve_app(model: str | None, threads: int, **build_kwargs):
    """Build the web app over one model, launch it on a free local port: (demo, url, model, description)."""
    import torch

    from demo.app import build_demo, launch
    from demo.handlers import Generator

    torch.set_num_threads(threads)
    ml, desc = load_model(model)
    demo = build_demo(Generator([ml]), **build_kwargs)
    _, url, _ = launch(demo, host=HOST, port=free_port(), prevent_thread_lock=True, quiet=True)
    assert url.startswith(f"http://{HOST}:"), url
    return demo, url, ml, desc
