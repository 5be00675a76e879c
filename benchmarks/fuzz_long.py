"""Fuzz the music readers with 10,000 cases; print ok / clean errors / crashes.

The cases are those of ``tests/test_fuzz.py`` (built by ``tests/fuzz_cases.py``),
drawn with ``random.Random(seed)`` instead of hypothesis: random bytes,
truncated valid files, MIDI files with 1-3 mutations (header, chunk lengths,
running status, huge delta times, tempo 0, odd meta events, ...), note counts
up to 5,000 placed up to the 4-byte delta maximum, and ABC / MusicXML / MXL
garbage. A crash is any exception other than MusicReadError, or a case using
more than ``--cpu-limit`` seconds of CPU (a hang). The goal is 0 crashes.

    .venv/bin/python benchmarks/fuzz_long.py [--cases 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import random
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import fuzz_cases as fc  # noqa: E402

MIDI_SEEDS = [fc.melody_midi(4, seed=1), fc.melody_midi(16, tpb=96, seed=2), fc.melody_midi(40, seed=3),
              fc.many_notes_midi(24)]
SCORE_SEEDS = [("tune.abc", fc.ABC_TUNE), ("score.xml", fc.MUSICXML), ("score.mxl", fc.MUSICXML)]
KINDS = [("mutated_midi", 55), ("random_bytes", 12), ("truncated", 12), ("notes", 6), ("score_text", 10),
         ("score_bytes", 5)]


class Hang(BaseException):
    """Raised by the CPU timer; a BaseException so that no ``except Exception`` in a reader swallows it."""


def _on_timer(signum, frame):
    raise Hang()


def draw_int(rng: random.Random) -> int:
    return rng.getrandbits(rng.choice((2, 4, 8, 16, 32)))


def make_case(kind: str, rng: random.Random) -> tuple[bytes, str]:
    """One fuzz input and the file name it is uploaded under."""
    if kind == "random_bytes":
        data = rng.randbytes(rng.randrange(600))
        prefix = rng.choice([b"", b"MThd", fc.header() + b"MTrk", b"PK\x03\x04", b"X:1\n", b"<?xml "])
        return prefix + data, rng.choice(["upload.mid", "upload.abc", "upload.xml", "upload"])
    if kind == "truncated":
        name, text = rng.choice(SCORE_SEEDS)
        data = rng.choice(MIDI_SEEDS + [text.encode(), fc.mxl()])
        return fc.truncate(data, draw_int(rng)), "upload"
    if kind == "mutated_midi":
        data = rng.choice(MIDI_SEEDS)
        for _ in range(rng.randint(1, 3)):
            data = fc.mutate(data, rng.choice(sorted(fc.MIDI_MUTATIONS)), [draw_int(rng) for _ in range(4)])
        return data, "upload.mid"
    if kind == "notes":
        n, tpb = rng.randrange(5000), rng.choice([1, 24, 96, 480, 0x7FFF])
        step = rng.randint(1, 2**rng.randint(1, 20))
        one = fc.vlq(0) + b"\x3c\x50" + fc.vlq(step) + b"\x3c\x00"
        first = rng.randrange(2 ** rng.choice((1, 8, 16, 24, 28)))
        body = fc.vlq(first) + b"\x90\x3c\x50" + fc.vlq(step) + b"\x3c\x00" + one * n
        return fc.header(0, 1, tpb) + fc.chunk(b"MTrk", body + fc.END_OF_TRACK), "notes.mid"
    name, text = rng.choice(SCORE_SEEDS)
    if kind == "score_text":
        for _ in range(rng.randint(1, 4)):
            piece = rng.choice(fc.SCORE_PIECES) if rng.random() < 0.8 else "".join(map(chr, rng.randbytes(4)))
            text = fc.text_mutation(text, draw_int(rng), piece * rng.randint(1, 3), draw_int(rng))
        data = text.encode("utf-8", "surrogatepass")
    else:
        data = text.encode()
    if name.endswith(".mxl"):
        data = fc.mxl(data)
    if kind == "score_bytes":
        for _ in range(rng.randint(1, 4)):
            data = fc.set_bytes(data, draw_int(rng), bytes([rng.randrange(256)]))
    return data, name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cpu-limit", type=float, default=60.0, help="CPU seconds per case before it counts as a hang")
    args = ap.parse_args(argv)

    import logging

    logging.disable(logging.WARNING)
    signal.signal(signal.SIGPROF, _on_timer)
    rng = random.Random(args.seed)
    weights = [w for _, w in KINDS]
    counts = {k: collections.Counter() for k, _ in KINDS}
    slowest = (0.0, "", -1)
    crashes: list[str] = []
    wall0, cpu0 = time.time(), time.process_time()
    for i in range(args.cases):
        kind = rng.choices([k for k, _ in KINDS], weights)[0]
        data, name = make_case(kind, rng)
        t0 = time.process_time()
        signal.setitimer(signal.ITIMER_PROF, args.cpu_limit)
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # music21 prints a warning per odd ABC note
                outcome = "ok" if fc.read_untrusted(data, name) == "ok" else "clean error"
        except Hang:
            outcome = "crash"
            crashes.append(f"case {i} ({kind}, {name}): over {args.cpu_limit} s of CPU; input {data[:80]!r}")
        except Exception:  # the contract is broken: report it, keep going
            outcome = "crash"
            crashes.append(f"case {i} ({kind}, {name}): input {data[:80]!r}\n{traceback.format_exc(limit=-4)}")
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        counts[kind][outcome] += 1
        dt = time.process_time() - t0
        if dt > slowest[0]:
            slowest = (dt, kind, i)
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1:,} cases, {sum(c['crash'] for c in counts.values())} crashes, "
                  f"{time.time() - wall0:.0f} s", file=sys.stderr, flush=True)

    total = collections.Counter()
    print(f"\nfuzz_long: {args.cases:,} cases, seed {args.seed}\n")
    print(f"{'kind':<14}{'cases':>8}{'ok':>8}{'clean errors':>14}{'crashes':>9}")
    for kind, c in counts.items():
        total.update(c)
        print(f"{kind:<14}{sum(c.values()):>8}{c['ok']:>8}{c['clean error']:>14}{c['crash']:>9}")
    print(f"{'total':<14}{sum(total.values()):>8}{total['ok']:>8}{total['clean error']:>14}{total['crash']:>9}")
    print(f"\nCPU {time.process_time() - cpu0:.0f} s, wall {time.time() - wall0:.0f} s; "
          f"slowest case {slowest[0]:.2f} s CPU ({slowest[1]} #{slowest[2]})")
    for report in crashes[:10]:
        print("\nCRASH " + report)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
