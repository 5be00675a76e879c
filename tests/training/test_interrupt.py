"""Nothing is lost on interruption: ``kill -9`` at random moments, then re-run.

Real subprocesses of the CLI are killed with SIGKILL at moments drawn at
random, some aimed at the write windows (a shard or checkpoint half-written,
a checkpoint between its two renames). Then:

* ``prepare`` re-run gives a dataset identical to an uninterrupted run:
  the same shard files with the same array contents, the same phrases.npz
  arrays, the same manifest, and no temporary files left behind;
* ``train --resume`` loads a valid checkpoint, continues from its step and
  ends with exactly the weights and log of an uninterrupted run.

The moments come from one seed, printed with every kill and in every failure
message; ``MUSICLATENT_KILL_SEED=N`` replays its draws (the timings of a busy
machine still vary). Every kill prints what it interrupted (run with ``-s`` to
see it), and a test fails when no kill interrupted a running process. An aimed
moment that passed between two polls on a busy machine is printed, not failed.
The torn states a kill can leave are also built by hand below, so each is
tested on every run whatever the random kills happen to hit.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from musiclatent.training.checkpoint import find_checkpoint, load_tensors
from tests import fuzz_cases as fc

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "import sys; from musiclatent.cli.main import main; sys.exit(main())"]
STEPS = 40  # the debug preset: checkpoint every 10 steps, log every 5
SEED = int(os.environ.get("MUSICLATENT_KILL_SEED", random.randrange(10**6)))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def kill_when(args: list[str], ready, delay: float, describe) -> tuple[str, str]:
    """Start the CLI, wait until ``ready()`` (polling), sleep ``delay`` s, SIGKILL it.

    Returns ``(outcome, state)``. ``outcome`` is "killed" (the SIGKILL ended a
    running process, as its exit status shows), "missed" (it finished during
    the delay, or in the instant between ``ready()`` and the kill) or "never
    ready" (it finished before ``ready()`` was ever true); ``state`` is what
    ``describe()`` saw right after the kill.
    """
    proc = subprocess.Popen([*CLI, *args], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    fired = False
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            fired = True
            break
        time.sleep(0.001)
    end = time.monotonic() + (delay if fired else 0.0)
    while proc.poll() is None and time.monotonic() < end:  # the delay, cut short if the process ends
        time.sleep(min(0.001, max(0.0, end - time.monotonic())))
    state = "finished before the kill"
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        state = describe()
    returncode = proc.wait()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if returncode == -signal.SIGKILL:
        return "killed", state
    assert returncode == 0, err[-2000:]
    return ("missed" if fired else "never ready"), "finished before the kill"


def created_since(path: Path, t0: float) -> bool:
    """``path`` exists and was (re)created after ``t0`` (a leftover from an earlier kill does not count)."""
    try:
        return path.stat().st_mtime >= t0
    except OSError:
        return False


def run_attempts(args: list[str], attempts, describe, complete) -> int:
    """Each attempt: (what, make_ready(t0) -> ready(), delay in seconds); returns the number of kills.

    ``complete()`` says whether the job is already done: only then may an
    attempt's moment never come. At least one kill must interrupt a running process.
    """
    print(f"\nkill seed {SEED} (set MUSICLATENT_KILL_SEED to replay)")
    kills = 0
    for what, make_ready, delay in attempts:
        was_complete = complete()
        ready = make_ready(time.time())
        outcome, state = kill_when(args, ready, delay, describe)
        print(f"{args[0]} killed {what}: {outcome}; {state}")
        if outcome == "never ready" and not was_complete:
            # a short write window can pass between two polls on a busy machine: say so, and let the
            # kills that did land carry the test (at least one must, below)
            print(f"{args[0]}: the moment {what!r} passed unseen (kill seed {SEED})")
        kills += outcome == "killed"
    assert kills, f"no kill interrupted a running {args[0]} (kill seed {SEED})"
    return kills


def test_kill_when_tells_a_kill_from_a_miss(tiny_dataset, tmp_path):
    """The random-kill tests below rely on these outcomes to notice a kill that hit nothing."""
    train = ["train", "--data", str(tiny_dataset), "--preset", "debug", "--out", str(tmp_path / "run"),
             "--steps", "5", "--quiet"]
    assert kill_when(train, lambda: True, 0.0, lambda: "seen") == ("killed", "seen")  # still importing
    assert kill_when(["--help"], lambda: False, 0.0, lambda: "seen") == ("never ready", "finished before the kill")
    assert kill_when(["--help"], lambda: True, 60.0, lambda: "seen") == ("missed", "finished before the kill")


# --------------------------------------------------------------------------- prepare

def array_digest(npz_path: Path) -> str:
    h = hashlib.sha256()
    with np.load(npz_path, allow_pickle=False) as z:
        for name in sorted(z.files):
            a = z[name]
            h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def dataset_digest(out: Path) -> dict:
    """Everything prepare leaves behind, independent of the folder's name."""
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.pop("command", None)
    return {
        "files": sorted(str(p.relative_to(out)) for p in out.rglob("*")),
        "shards": {p.name: array_digest(p) for p in sorted((out / "shards").glob("*.npz"))},
        "phrases": array_digest(out / "phrases.npz"),
        "manifest": manifest,
    }


@pytest.fixture(scope="module")
def many_songs(tmp_path_factory):
    """48 small MIDI files in three style folders: three work units of 16 files."""
    root = tmp_path_factory.mktemp("many_songs")
    for i in range(48):
        folder = root / ("reels", "airs", "jigs")[i % 3]
        folder.mkdir(exist_ok=True)
        (folder / f"song_{i:02d}.mid").write_bytes(fc.melody_midi(48, tpb=(96, 480)[i % 2], seed=i))
    return root


@pytest.fixture(scope="module")
def reference_dataset(many_songs, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "data"
    t0 = time.monotonic()
    proc = cli("prepare", str(many_songs), "--out", str(out), "--bars", "2", "--workers", "1", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return dataset_digest(out), time.monotonic() - t0


def _prepare_state(out: Path) -> str:
    shards = sorted(p.name for p in (out / "shards").glob("*")) if (out / "shards").exists() else []
    done = [s for s in shards if ".tmp" not in s]
    tmps = [s for s in shards if ".tmp" in s] + [p.name for p in out.glob("*.tmp*")]
    final = [p.name for p in out.glob("*") if p.name in ("phrases.npz", "manifest.json")]
    return f"{len(done)} shards done, temporary {tmps or 'none'}, final files {final or 'none'}"


def test_prepare_killed_at_random_moments_then_rerun_is_identical(many_songs, reference_dataset, tmp_path):
    reference, seconds = reference_dataset  # how long an uninterrupted run takes here
    rng = random.Random(SEED)
    out = tmp_path / "data"
    args = ["prepare", str(many_songs), "--out", str(out), "--bars", "2", "--workers", "1", "--quiet"]
    shards = out / "shards"

    def n_shards() -> int:
        return len(list(shards.glob("?????-*[0-9a-f].npz"))) if shards.exists() else 0

    def next_shard(t0):
        before = n_shards()
        return lambda: n_shards() > before

    def shard_written(t0):
        return lambda: shards.exists() and any(created_since(p, t0) for p in shards.glob("*.tmp.npz"))

    attempts = [
        ("while a shard is written", shard_written, 0.0),
        ("at a random moment after the next shard", next_shard, rng.uniform(0, 0.05)),
        ("at a random moment", lambda t0: lambda: True, rng.uniform(0.0, seconds)),
        ("while phrases or manifest are written", lambda t0: lambda: any(out.glob("*.tmp*")), 0.0),
    ]
    run_attempts(args, attempts, lambda: _prepare_state(out), complete=lambda: (out / "manifest.json").exists())
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert dataset_digest(out) == reference, f"kill seed {SEED}"


@pytest.mark.parametrize("torn", ["garbage_shard_tmp", "phrases_tmp_and_no_manifest", "stale_manifest"])
def test_prepare_recovers_from_torn_writes(torn, many_songs, reference_dataset, tmp_path):
    """The states a kill can leave, made by hand, then an in-process re-run."""
    from musiclatent.data.prepare import prepare

    out = tmp_path / "data"
    prepare([str(many_songs)], out, bars=2, progress=False)
    shard = sorted((out / "shards").glob("*.npz"))[1]
    if torn == "garbage_shard_tmp":  # killed inside np.savez_compressed of the second unit
        shard.rename(Path(str(shard) + ".tmp.npz"))
        Path(str(shard) + ".tmp.npz").write_bytes(shard.name.encode() * 10)
        (out / "phrases.npz").unlink()
    elif torn == "phrases_tmp_and_no_manifest":  # killed while merging
        (out / "phrases.tmp.npz").write_bytes(b"PK\x03\x04half a zip")
        (out / "manifest.json").unlink()
    else:  # killed between the two renames: new phrases, the manifest of an older run
        manifest = json.loads((out / "manifest.json").read_text())
        manifest["phrases"] = -1
        (out / "manifest.json").write_text(json.dumps(manifest))
        (out / "manifest.json.tmp").write_text("{")
    prepare([str(many_songs)], out, bars=2, progress=False)
    assert dataset_digest(out) == reference_dataset[0]


# --------------------------------------------------------------------------- train

def _train_state(run: Path) -> str:
    names = sorted(p.name for p in run.glob("checkpoint*")) if run.exists() else []
    ckpt = find_checkpoint(run) if run.exists() else None
    step = json.loads((ckpt / "state.json").read_text())["step"] if ckpt else None
    return f"folders {names or 'none'}, newest complete checkpoint at step {step}"


def assert_valid_checkpoint(run: Path) -> int:
    """The checkpoint resume would load is whole; returns its step."""
    ckpt = find_checkpoint(run)
    assert ckpt is not None
    state = json.loads((ckpt / "state.json").read_text())
    json.loads((ckpt / "config.json").read_text())
    assert load_tensors(ckpt / "model.safetensors") and load_tensors(ckpt / "optimizer.safetensors")
    assert state["step"] % 10 == 0 and 0 < state["step"] <= STEPS
    return state["step"]


def log_steps(run: Path) -> list[tuple[str, int]]:
    return [(r["kind"], r["step"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]


def assert_same_weights(run_a: Path, run_b: Path) -> None:
    a = load_tensors(find_checkpoint(run_a) / "model.safetensors")
    b = load_tensors(find_checkpoint(run_b) / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k


@pytest.fixture(scope="module")
def reference_run(tiny_dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("reference") / "run"
    proc = cli("train", "--data", str(tiny_dataset), "--preset", "debug", "--out", str(run),
               "--steps", str(STEPS), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return run


def saved_step(run: Path) -> int:
    """Step of the newest complete checkpoint; -1 if none (or mid-rename)."""
    try:
        return json.loads((find_checkpoint(run) / "state.json").read_text())["step"]
    except (OSError, TypeError, ValueError, KeyError):
        return -1


def test_train_killed_at_random_moments_then_resume_continues(tiny_dataset, reference_run, tmp_path):
    rng = random.Random(SEED + 1)
    run = tmp_path / "run"
    args = ["train", "--data", str(tiny_dataset), "--preset", "debug", "--out", str(run),
            "--steps", str(STEPS), "--quiet", "--resume"]

    def writing(t0):
        return lambda: created_since(run / "checkpoint.tmp", t0)

    def after_next_checkpoint(t0):
        before = saved_step(run)
        return lambda: saved_step(run) > before

    attempts = [
        ("while a checkpoint is written", writing, 0.0),
        ("at a random moment after the next checkpoint", after_next_checkpoint, rng.uniform(0, 0.3)),
        ("around a checkpoint write (maybe between its renames)", writing, rng.uniform(0, 0.02)),
    ]
    run_attempts(args, attempts, lambda: _train_state(run), complete=lambda: saved_step(run) == STEPS)
    step = assert_valid_checkpoint(run)
    with open(run / "metrics.jsonl", "a") as fh:  # a marker: rows after it come from the resumed run
        fh.write(json.dumps({"kind": "marker", "step": 0}) + "\n")
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    rows = log_steps(run)
    resumed = rows[rows.index(("marker", 0)) + 1:]
    # it continued from the checkpoint's step (an eval at that step comes first, as in the straight run)
    assert resumed[0] in (("eval", step), ("train", step + 5)), (step, resumed[:3])
    assert all(s > step or (kind == "eval" and s == step) for kind, s in resumed)
    assert saved_step(run) == STEPS
    # and it ends as the run that was never killed: same weights, same log
    assert_same_weights(run, reference_run)
    assert [r for r in rows if r[0] != "marker"] == log_steps(reference_run), f"kill seed {SEED}"


@pytest.mark.parametrize("torn", ["half_written_tmp", "between_renames"])
def test_resume_recovers_from_torn_checkpoint_writes(torn, tiny_dataset, reference_run, tmp_path):
    from musiclatent.training.loop import train

    run = tmp_path / "run"
    train(tiny_dataset, "debug", run, max_steps=20, progress=False)
    ckpt = run / "checkpoint"
    if torn == "half_written_tmp":  # killed while writing the step-30 checkpoint
        tmp = shutil.copytree(ckpt, run / "checkpoint.tmp")
        data = (tmp / "model.safetensors").read_bytes()
        (tmp / "model.safetensors").write_bytes(data[: len(data) // 3])
        (tmp / "state.json").unlink()
    else:  # killed after checkpoint -> checkpoint.old, before checkpoint.tmp -> checkpoint
        os.replace(ckpt, run / "checkpoint.old")
        shutil.copytree(run / "checkpoint.old", run / "checkpoint.tmp")
    assert assert_valid_checkpoint(run) == 20
    train(tiny_dataset, "debug", run, max_steps=STEPS, resume=True, progress=False)
    assert sorted(p.name for p in run.glob("checkpoint*")) == ["checkpoint"]
    assert_same_weights(run, reference_run)
    assert log_steps(run) == log_steps(reference_run)
