"""`musiclatent prepare`: real multi-track files with corrupt ones mixed in."""

import hashlib
import json
import shutil

import numpy as np
import pytest

from musiclatent.cli.main import main as cli_main
from musiclatent.data.dataset import load_dataset
from musiclatent.data.prepare import piece_split, prepare
from musiclatent.midi.io import MusicReadError, read_melody
from musiclatent.representations.pianoroll import notes_to_tokens

from tests.conftest import make_song

BAD_FILES = {
    "truncated.mid": lambda good: good[: len(good) // 3],
    "zero_ticks_per_beat.mid": lambda good: good[:12] + b"\x00\x00" + good[14:],
    "empty.mid": lambda good: b"",
    "not_music.mid": lambda good: b"hello, this is a text file\n" * 20,
    "broken.abc": lambda good: b"X:1\nT:broken\nM:4/4\nK:C\n|: [[[ ((( }}} abc |]\n\x01\x02",
    "picture.mid": lambda good: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
}


def drums_only(path):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    dr = pretty_midi.Instrument(0, is_drum=True, name="Drums")
    for i in range(32):
        dr.notes.append(pretty_midi.Note(100, 36, i * 0.25, i * 0.25 + 0.1))
    pm.instruments.append(dr)
    pm.write(str(path))


def no_notes(path):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    pm.instruments.append(pretty_midi.Instrument(0, name="silent"))
    pm.write(str(path))


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    (root / "pop").mkdir()
    (root / "folk").mkdir()
    for i in range(3):
        make_song(root / "pop" / f"song{i}.mid", bars=12, seed=i)
        make_song(root / "folk" / f"tune{i}.mid", bars=10, seed=10 + i, ts=(2, 4))
    good = (root / "pop" / "song0.mid").read_bytes()
    for name, fn in BAD_FILES.items():
        (root / "pop" / name).write_bytes(fn(good))
    drums_only(root / "folk" / "drums_only.mid")
    no_notes(root / "folk" / "no_notes.mid")
    (root / "folk" / "huge.mid").write_bytes(b"MThd" + b"\x00" * (6 * 1024 * 1024))
    return root


@pytest.mark.parametrize("name", sorted(BAD_FILES) + ["drums_only.mid", "no_notes.mid", "huge.mid"])
def test_bad_input_gets_a_reason(mixed_folder, name):
    path = next(mixed_folder.rglob(name))
    with pytest.raises(MusicReadError) as err:
        read_melody(path)
    assert len(str(err.value)) > 5


def test_prepare_mixed_folder(mixed_folder, tmp_path):
    manifest = prepare([str(mixed_folder)], tmp_path / "ds", bars=2, workers=2, progress=False)
    skipped = {s["path"]: s["reason"] for s in manifest["files_skipped"]}
    bad = set(BAD_FILES) | {"drums_only.mid", "no_notes.mid", "huge.mid"}
    assert {p.split("/")[-1].split("#")[0] for p in skipped} == bad
    assert "drum" in skipped["folk/drums_only.mid"] and "large" in skipped["folk/huge.mid"]
    assert manifest["files_ok"] == 6                       # no good file lost
    assert set(manifest["styles"]) == {"pop", "folk"} and all(v > 0 for v in manifest["styles"].values())
    assert manifest["steps"] == 32 and manifest["bars"] == 2 and manifest["steps_per_quarter"] == 4
    assert len(manifest["tracks"]) == 6 and all("reason" in t for t in manifest["tracks"].values())
    data = load_dataset(tmp_path / "ds")
    assert data.tokens.dtype == np.uint8 and data.tokens.shape == (manifest["phrases"], 32)
    assert len({t.tobytes() for t in data.tokens}) == len(data.tokens)  # exact duplicates dropped
    # the split is by piece: no piece has phrases on both sides
    for pid in np.unique(data.piece):
        assert len(np.unique(data.split[data.piece == pid])) == 1
        src = manifest["pieces"][pid]["source"]
        assert int(data.split[data.piece == pid][0]) == piece_split(src)


def _digest(folder):
    h = hashlib.sha256()
    with np.load(folder / "phrases.npz") as z:
        for k in sorted(z.files):
            h.update(k.encode() + z[k].tobytes())
    return h.hexdigest()


def test_deterministic_and_resumable(song_folder, tmp_path):
    prepare([str(song_folder)], tmp_path / "a", bars=2, workers=1, progress=False)
    prepare([str(song_folder)], tmp_path / "b", bars=2, workers=2, progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    # simulate an interrupted run: some shards missing, a stray temporary file, no manifest
    shards = sorted((tmp_path / "b" / "shards").glob("*.npz"))
    shards[0].unlink()
    (tmp_path / "b" / "shards" / "00001-junk.npz.tmp.npz").write_bytes(b"partial")
    (tmp_path / "b" / "manifest.json").unlink()
    prepare([str(song_folder)], tmp_path / "b", bars=2, workers=1, progress=False)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert len(list((tmp_path / "b" / "shards").glob("0*-*[0-9a-f].npz"))) == len(shards)


def test_cli_exit_codes(mixed_folder, tmp_path, capsys):
    assert cli_main(["prepare", str(mixed_folder / "pop"), "--out", str(tmp_path / "ok"), "--quiet"]) == 0
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    shutil.copy(mixed_folder / "pop" / "empty.mid", only_bad / "empty.mid")
    assert cli_main(["prepare", str(only_bad), "--out", str(tmp_path / "none"), "--quiet"]) == 1
    assert "no phrase was written" in capsys.readouterr().err
    assert cli_main(["prepare", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    manifest = json.loads((tmp_path / "none" / "manifest.json").read_text())
    assert manifest["phrases"] == 0 and manifest["files_skipped"][0]["reason"] == "empty file"


def test_piece_split_holds_out_a_tenth_half_of_it_test():
    """The rule is a pure function of the piece id: about 5% validation and 5% test, never by window."""
    codes = np.array([piece_split(f"book.abc#{i}") for i in range(4000)])
    assert set(np.unique(codes)) == {0, 1, 2}
    assert 0.035 < (codes == 1).mean() < 0.065 and 0.035 < (codes == 2).mean() < 0.065
    assert [piece_split(f"book.abc#{i}") for i in range(50)] == codes[:50].tolist()


@pytest.mark.parametrize("meter", [(3, 4), (6, 8), (9, 8)], ids=lambda m: f"{m[0]}-{m[1]}")
def test_all_meters_keeps_triple_and_compound_tunes_with_windows_on_their_bar_lines(tmp_path, meter):
    """Duple-only by default (the bundled models' data); --all-meters keeps the tune, cuts windows
    that start on its own bar lines, whole bars apart, and counts phrases per meter."""
    src = tmp_path / "in" / "waltz"
    src.mkdir(parents=True)
    notes = make_song(src / "t.mid", bars=12, ts=meter, seed=7, durations=(2, 4))
    plain = prepare([str(tmp_path / "in")], tmp_path / "duple", bars=2, progress=False)
    assert plain["phrases"] == 0 and "--all-meters" in plain["files_skipped"][0]["reason"]
    manifest = prepare([str(tmp_path / "in")], tmp_path / "all", bars=2, progress=False, all_meters=True)
    bar = meter[0] * 16 // meter[1]
    assert manifest["phrases"] > 0 and manifest["meters"] == {f"{meter[0]}/{meter[1]}": manifest["phrases"]}
    data = load_dataset(tmp_path / "all")
    hop = bar * -(-16 // bar)
    starts = data.bar * bar
    assert np.all(starts % hop == 0)
    for tok, s in zip(data.tokens, starts):   # each window is the song's stream from that bar line
        assert tok.tolist() == notes_to_tokens(notes - np.array([0, s, s]), 32).tolist()


AABB = """X:1
T:AABB in eight bars, sixteen as played
M:4/4
L:1/4
K:C
|: C D E F | G A B c | d c B A | G F E D :|
|: E G c e | d B G B | c e g e | c4 :|
"""


def test_repeats_are_expanded_by_default_and_never_share_shards_with_a_written_build(tmp_path):
    """8 written bars give 5 windows of 4 bars; the 16 played bars 13, of which 11 differ
    (a window of the whole A or B section comes twice)."""
    (tmp_path / "in" / "reels").mkdir(parents=True)
    (tmp_path / "in" / "reels" / "tune.abc").write_text(AABB)
    out = tmp_path / "ds"
    written = prepare([str(tmp_path / "in")], out, bars=4, progress=False, expand_repeats=False)
    assert written["phrases"] == 5 and written["expand_repeats"] is False and written["repeats"] == {}
    played = prepare([str(tmp_path / "in")], out, bars=4, progress=False)       # same folder: no shard reused
    assert played["phrases"] == 11 and played["duplicates_dropped"] == 2
    assert played["expand_repeats"] is True and played["repeats"] == {"expanded": 1}
    assert len(list((out / "shards").glob("*.npz"))) == 2
    assert cli_main(["prepare", str(tmp_path / "in"), "--out", str(out), "--bars", "4", "--workers", "1",
                     "--quiet", "--no-expand-repeats"]) == 0
    assert json.loads((out / "manifest.json").read_text())["phrases"] == 5
