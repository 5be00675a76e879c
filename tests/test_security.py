"""Checkpoints, datasets and indexes load without executing code.

A malicious pickle whose payload would create a marker file is disguised as
each file a user might receive; loading must refuse it and the marker must
not exist. A final static check keeps the library free of pickle loaders.
"""

from __future__ import annotations

import ast
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from musiclatent.training.checkpoint import CheckpointError
from musiclatent.generation.facade import MusicLatent

REPO = Path(__file__).resolve().parents[1]
LIBRARY = [REPO / "musiclatent", REPO / "demo"]


class Payload:
    """Unpickling this runs ``exec``, which writes the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",)


def write_payload(path: Path, marker: Path, fmt: str) -> None:
    if fmt == "torch-zip":
        torch.save({"weight": Payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(Payload(marker), protocol=int(fmt.split("-")[1])))


FORMATS = ["pickle-0", "pickle-2", "pickle-5", "torch-zip"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_payload_really_runs_when_unpickled(fmt, tmp_path):
    """Control: the payload is live, so 'no marker' below means 'refused', not 'harmless'."""
    marker = tmp_path / "ran"
    write_payload(tmp_path / "evil.bin", marker, fmt)
    if fmt == "torch-zip":
        torch.load(tmp_path / "evil.bin", weights_only=False)
    else:
        pickle.loads((tmp_path / "evil.bin").read_bytes())
    assert marker.read_text() == "code ran"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("victim", ["model.safetensors", "extras.safetensors"])
def test_pickle_disguised_as_model_file_is_refused(victim, fmt, debug_model_dir, tmp_path):
    folder = shutil.copytree(debug_model_dir, tmp_path / "model")
    marker = tmp_path / "pwned"
    write_payload(folder / victim, marker, fmt)
    with pytest.raises(CheckpointError, match="pickle|not a valid safetensors"):
        MusicLatent.from_checkpoint(folder)
    assert not marker.exists()


@pytest.mark.parametrize("victim", ["model.safetensors", "optimizer.safetensors"])
def test_pickle_in_training_checkpoint_is_refused_on_resume(victim, debug_run, tiny_dataset, tmp_path):
    from musiclatent.training.loop import train

    run = shutil.copytree(debug_run, tmp_path / "run")
    marker = tmp_path / "pwned"
    write_payload(run / "checkpoint" / victim, marker, "pickle-2")
    with pytest.raises(CheckpointError, match="pickle"):
        train(tiny_dataset, "debug", run, resume=True, max_steps=45, progress=False)
    assert not marker.exists()


def test_object_array_in_dataset_is_refused(tiny_dataset, tmp_path):
    from musiclatent.data.dataset import load_dataset

    data = shutil.copytree(tiny_dataset, tmp_path / "data")
    marker = tmp_path / "pwned"
    with np.load(data / "phrases.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["tokens"] = np.array([Payload(marker)], dtype=object)
    np.savez(data / "phrases.npz", **arrays)
    with pytest.raises(ValueError, match="allow_pickle"):
        load_dataset(data)
    assert not marker.exists()


def test_object_array_in_latent_index_is_refused(tmp_path):
    from musiclatent.latent.index import INDEX_VERSION, LATENTS_FILE, META_FILE, read_index

    marker = tmp_path / "pwned"
    (tmp_path / META_FILE).write_text(json.dumps({"version": INDEX_VERSION}))
    np.save(tmp_path / LATENTS_FILE, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        read_index(tmp_path)
    assert not marker.exists()


# --------------------------------------------------------------------------- mismatched checkpoints

def _edit_config(folder: Path, **model_changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["model"].update(model_changes)
    (folder / "config.json").write_text(json.dumps(config))


def test_tensors_that_do_not_match_the_config_give_a_clear_error(debug_model_dir, tmp_path):
    folder = shutil.copytree(debug_model_dir, tmp_path / "model")
    z_dim = json.loads((folder / "config.json").read_text())["model"]["z_dim"]
    _edit_config(folder, z_dim=z_dim * 2)
    with pytest.raises(CheckpointError, match=r"does not match its config: .*shape mismatch .*vs config"):
        MusicLatent.from_checkpoint(folder)


def test_huge_config_is_refused_before_anything_is_allocated(debug_model_dir, tmp_path, monkeypatch):
    """A config that asks for a 16k-wide model with small weights fails on the weightless shell."""
    import musiclatent.generation.facade as gen

    folder = shutil.copytree(debug_model_dir, tmp_path / "model")
    _edit_config(folder, enc_hidden=16384, dec_hidden=16384)
    built = []
    real_build = gen.build_vae

    def watch(config):
        built.append(torch.empty(0).device.type)  # the default device while building
        return real_build(config)

    monkeypatch.setattr(gen, "build_vae", watch)
    with pytest.raises(CheckpointError, match="shape mismatch"):
        MusicLatent.from_checkpoint(folder)
    assert built == ["meta"]


def test_missing_and_unexpected_tensors_are_named(debug_model_dir, tmp_path):
    folder = shutil.copytree(debug_model_dir, tmp_path / "model")
    tensors = load_file(str(folder / "model.safetensors"))
    dropped = sorted(tensors)[0]
    tensors["surprise.weight"] = tensors.pop(dropped)
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match="missing") as err:
        MusicLatent.from_checkpoint(folder)
    assert dropped in str(err.value) and "surprise.weight" in str(err.value)


@pytest.mark.parametrize("config", ['{"model": {"z_dim": "many"}}', "{not json", '{"train": {}}'],
                         ids=["bad-value", "not-json", "no-model"])
def test_broken_config_gives_a_checkpoint_error(config, debug_model_dir, tmp_path):
    folder = shutil.copytree(debug_model_dir, tmp_path / "model")
    (folder / "config.json").write_text(config)
    with pytest.raises(CheckpointError):
        MusicLatent.from_checkpoint(folder)


def test_truncated_weights_give_a_checkpoint_error(debug_model_dir, tmp_path):
    folder = shutil.copytree(debug_model_dir, tmp_path / "model")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        MusicLatent.from_checkpoint(folder)


# --------------------------------------------------------------------------- static check

def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _name(node: ast.AST) -> str:
    """Dotted name of a call's target, e.g. ``torch.load``."""
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "?"


def pickle_problems(source: str, filename: str = "<source>") -> list[str]:
    """Ways a module could unpickle untrusted data."""
    problems = []
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            for mod in mods:
                if mod and mod.split(".")[0] in ("pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve",
                                                 "marshal"):
                    problems.append(f"{filename}:{node.lineno} imports {mod}")
    for call in _calls(tree):
        name = _name(call.func)
        kwargs = {k.arg: k.value for k in call.keywords}
        if name.endswith("torch.load"):
            wo = kwargs.get("weights_only")
            if not (isinstance(wo, ast.Constant) and wo.value is True):
                problems.append(f"{filename}:{call.lineno} calls {name} without weights_only=True")
        ap = kwargs.get("allow_pickle")
        if ap is not None and not (isinstance(ap, ast.Constant) and ap.value is False):
            problems.append(f"{filename}:{call.lineno} passes allow_pickle={ast.unparse(ap)}")
        force = kwargs.get("forceSource")
        forced = isinstance(force, ast.Constant) and force.value is True
        if name.endswith("converter.parse") or (name.endswith("converter.parseFile") and not forced):
            problems.append(f"{filename}:{call.lineno} calls {name}, which may load music21's pickle cache")
    return problems


def test_static_check_catches_pickle_loaders():
    bad = ("import pickle\nimport torch, numpy as np\ntorch.load(p)\ntorch.load(p, weights_only=False)\n"
           "np.load(p, allow_pickle=True)\nfrom music21 import converter\nconverter.parse(text)\n")
    assert len(pickle_problems(bad)) == 5
    good = "torch.load(p, weights_only=True)\nnp.load(p, allow_pickle=False)\nconverter.parseData(t)\n"
    assert pickle_problems(good) == []


def test_library_never_unpickles():
    files = [f for root in LIBRARY for f in sorted(root.rglob("*.py"))]
    assert len(files) > 10
    problems = [p for f in files for p in pickle_problems(f.read_text(), str(f.relative_to(REPO)))]
    assert problems == []


# --------------------------------------------------------------------------- score text is data, never a path or URL

def test_score_text_that_names_a_file_is_not_opened(tmp_path):
    """music21's ``parse`` opens a string that is an existing path; ours parses it as text."""
    from musiclatent.midi.io import MusicReadError, read_melodies
    from tests import fuzz_cases as fc

    secret = tmp_path / "<score-partwise>"  # a legal file name that the sniffer takes for MusicXML
    secret.write_text(fc.MUSICXML.replace("Melody", "SECRET"))
    with pytest.raises(MusicReadError):
        read_melodies("upload.xml", data=str(secret).encode())


def test_score_text_that_looks_like_a_url_is_not_fetched(monkeypatch):
    from music21 import converter

    from musiclatent.midi.io import read_melodies
    from tests import fuzz_cases as fc

    fetched = []
    monkeypatch.setattr(converter, "parseURL", lambda url, *a, **k: fetched.append(url))
    book = "http://127.0.0.1:9/tune.abc\n" + fc.ABC_TUNE  # an ABC book whose header is a URL
    read_melodies("book.abc", data=book.encode())
    assert fetched == []


def test_mxl_reading_leaves_no_pickle_in_music21_scratch_folder():
    """music21's parseFile caches every score as a pickle (and loads it back) unless told not to."""
    from music21 import environment

    from musiclatent.midi.io import read_melodies
    from tests import fuzz_cases as fc

    scratch = Path(environment.Environment().getRootTempDir())
    before = set(scratch.glob("*.p*"))
    notes = read_melodies("score.mxl", data=fc.mxl())[0][1].notes  # C E G(half) | A(half) G(half)
    assert notes.tolist() == [[60, 0, 4], [64, 4, 8], [67, 8, 16], [69, 16, 24], [67, 24, 32]]
    assert set(scratch.glob("*.p*")) - before == set()
