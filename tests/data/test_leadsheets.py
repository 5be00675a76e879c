"""Lead sheets in prepare: chords per half bar in phrases.npz, coverage in the manifest, the bundled corpora."""

import io
import json
import tarfile

import numpy as np
import pytest

from musiclatent.cli.main import main as cli_main
from musiclatent.data import leadsheets
from musiclatent.data.dataset import load_dataset
from musiclatent.data.leadsheets import LEADSHEET_CORPORA, unpack_corpus
from musiclatent.data.prepare import merge_shards, prepare
from musiclatent.representations.chords import chord_name

from tests.leadsheet_xml import leadsheet, simple_song

PROGRESSION = ["C", "A:minor", "F", "G:dominant"]
NAMES = ["C", "Am", "F", "G7"]


def junk_song() -> str:
    return leadsheet([["C:pedal", (60, 8), "D:Italian", (62, 8)], ["G", (67, 8), "E:Tristan", (64, 8)],
                      ["C:pedal", (60, 8), (62, 8)], [(64, 8), (65, 8)]])


def no_chords_song() -> str:
    return leadsheet([[(60 + k, 4) for k in range(4)] for _ in range(4)])


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    root = tmp_path_factory.mktemp("sheets")
    (root / "jazz").mkdir()
    (root / "jazz" / "good.xml").write_text(simple_song(PROGRESSION, bars=4))
    (root / "jazz" / "plain.xml").write_text(no_chords_song())
    (root / "jazz" / "junk.xml").write_text(junk_song())
    return root


def test_prepare_stores_a_chord_per_half_bar(sheets, tmp_path):
    manifest = prepare([str(sheets)], tmp_path / "ds", bars=2, workers=1, progress=False)
    with np.load(tmp_path / "ds" / "phrases.npz") as z:
        tokens, chords, piece = z["tokens"], z["chords"], z["piece"]
    assert chords.dtype == np.uint8 and chords.shape == (len(tokens), 4)
    names = [p["source"] for p in manifest["pieces"]]
    good = piece == names.index("jazz/good.xml")
    assert good.sum() == 2                                         # bars 0-1, 1-2 (2-3 repeats 0-1)
    assert [chord_name(c) for c in chords[good][0]] == NAMES
    assert [chord_name(c) for c in chords[good][1]] == NAMES[2:] + NAMES[:2]
    assert not chords[piece == names.index("jazz/plain.xml")].any()    # no symbols: no chord
    assert not chords[piece == names.index("jazz/junk.xml")].any()     # mostly unreadable: not trusted, kept
    cov = manifest["chord_coverage"]["jazz"]
    assert cov["phrases"] == len(tokens) and cov["phrases_with_chords"] == 2
    assert cov["half_bars_with_chord"] == pytest.approx(8 / (4 * len(tokens)), abs=1e-4)
    assert cov["chord_tone_share"] == pytest.approx(1.0)           # the song walks over chord tones
    assert manifest["pieces_by_chord_source"] == {"chord symbols": 2}
    good_meta = manifest["pieces"][names.index("jazz/good.xml")]["chords"]
    assert good_meta["symbols"] == 8 and good_meta["chord_tone_share"] == 1.0
    data = load_dataset(tmp_path / "ds")
    assert (data.chords == chords).all() and data.validation().chords.shape[1] == 4


def test_lead_sheet_corpora_skip_mostly_unreadable_chords(sheets, tmp_path):
    prepare([str(sheets)], tmp_path / "ds", bars=2, workers=1, progress=False)
    shards = sorted((tmp_path / "ds" / "shards").glob("*.npz"))
    _, manifest = merge_shards(shards, 2, [], require_chords=True)
    skipped = {s["path"]: s["reason"] for s in manifest["files_skipped"]}
    reason = skipped["jazz/junk.xml"]
    assert "mostly unreadable" in reason and "4 of 5" in reason and "'Cpedal'" in reason
    assert {p["source"] for p in manifest["pieces"]} == {"jazz/good.xml", "jazz/plain.xml"}


def test_a_dataset_without_chords_loads_with_zeros(tmp_path):
    n, steps = 5, 32
    np.savez(tmp_path / "phrases.npz", tokens=np.ones((n, steps), np.uint8), piece=np.arange(n, dtype=np.int32),
             bar=np.zeros(n, np.int32), style=np.zeros(n, np.int16), split=np.zeros(n, np.uint8))
    (tmp_path / "manifest.json").write_text(json.dumps({"style_names": ["folk"]}))
    data = load_dataset(tmp_path)
    assert data.chords.shape == (n, 4) and data.chords.dtype == np.uint8 and not data.chords.any()
    assert data.subset(np.arange(n) < 2).chords.shape == (2, 4)


def _tiny_archive(folder, name, files: dict[str, str]):
    with tarfile.open(folder / f"{name}.tar.xz", "w:xz") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_prepare_corpus_chord_melody_from_its_archive(tmp_path, monkeypatch, capsys):
    _tiny_archive(tmp_path, "chord-melody", {"LICENSE": "MIT", "good/c.xml": simple_song(PROGRESSION, bars=3),
                                             "junk/c.xml": junk_song(), "good/c_transposed.xml": "not read"})
    monkeypatch.setattr(leadsheets, "LEADSHEET_DIR", tmp_path)
    out = tmp_path / "ds"
    code = cli_main(["prepare", "--corpus", "chord-melody", "--bars", "2", "--workers", "1", "--quiet",
                     "--out", str(out)])
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["style_names"] == ["jazz-pop"] and manifest["styles"] == {"jazz-pop": 2}
    assert [p["source"] for p in manifest["pieces"]] == ["chord-melody/good/c.xml"]
    assert manifest["files_skipped"][0]["path"] == "chord-melody/junk/c.xml"
    assert "MIT" in manifest["licence"] and "shiehn/chord-melody-dataset" in manifest["source"]
    assert "2 phrases with a chord" in capsys.readouterr().out
    stamp = out / "corpus" / "chord-melody.unpacked.json"
    assert stamp.is_file() and (out / "corpus" / "chord-melody" / "good" / "c.xml").is_file()
    mtime = stamp.stat().st_mtime_ns
    unpack_corpus("chord-melody", out / "corpus")                  # unpacked once
    assert stamp.stat().st_mtime_ns == mtime


def test_unpack_refuses_paths_outside_the_cache(tmp_path, monkeypatch):
    with tarfile.open(tmp_path / "openewld.tar.xz", "w:xz") as tar:
        info = tarfile.TarInfo("openewld/../../evil.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    monkeypatch.setattr(leadsheets, "LEADSHEET_DIR", tmp_path)
    with pytest.raises(ValueError, match="unexpected member"):
        unpack_corpus("openewld", tmp_path / "cache")
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("name, pattern, count", [("openewld", ".mxl", 502), ("chord-melody", "/c.xml", 444)])
def test_the_bundled_archives_hold_the_corpora_and_their_licences(name, pattern, count):
    corpus = LEADSHEET_CORPORA[name]
    assert corpus.archive.stat().st_size < 2_000_000                # small enough to ship
    assert (corpus.archive.parent / f"LICENSE-{name}").read_text().startswith("MIT License")
    with tarfile.open(corpus.archive, "r:xz") as tar:
        names = tar.getnames()
    assert f"{name}/LICENSE" in names
    assert sum(n.endswith(pattern) for n in names) == count
    assert all(n == name or n.startswith(f"{name}/") for n in names)
