"""Where the web app's files come from and go to.

* :class:`OutputStore` gives every request its own output folder under one
  root and deletes old ones, so results never pile up.
* :class:`ExampleSongs` maps the bundled example tunes (``demo/examples``) to
  paths by a fixed table: a name picked in the page is looked up, never joined
  onto a path.
* :func:`load_song` turns an upload (or an example pick) into a melody, judging
  the file by its content; everything a user can get wrong becomes an
  :class:`InputError` with a readable message.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import uuid
import zipfile
from pathlib import Path

from musiclatent.constants import MAX_FILE_BYTES
from musiclatent.midi.io import MUSIC_EXTENSIONS, MusicReadError, read_song
from musiclatent.generation.songs import count
from musiclatent.midi.melody import Melody
from musiclatent.representations.chords import NO_CHORD

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"  # shipped in the wheel as package data
AUTO_TRACK = "auto"
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()'+,:#-]+")


class InputError(ValueError):
    """Something the user gave cannot be used; ``str(err)`` says what and why."""


def plain(text: str, limit: int = 60) -> str:
    """User-supplied text (file or track names) made safe to show in Markdown."""
    text = _UNSAFE.sub("_", str(text)).replace("'", "’").strip() or "unnamed"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- output folders

def default_root() -> Path:
    """A fresh folder for this app inside Gradio's upload/cache folder (served as-is, not copied)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()) / "musiclatent" / uuid.uuid4().hex[:12]


class OutputStore:
    """Per-request output folders under one root; only the newest ``keep`` survive.

    Parameters
    ----------
    root : Path, optional
        The app's output root (created); default :func:`default_root`.
    keep : int
        How many request folders to keep; older ones are deleted when a new
        one is made. Keep it well above the queue's concurrency limit so a
        folder is never deleted while its request is still being served.
    max_age_s : float
        Folders older than this are deleted too, whatever their number.
    """

    def __init__(self, root: Path | None = None, keep: int = 64, max_age_s: float = 3600.0):
        self.root = Path(root) if root is not None else default_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.keep = max(1, int(keep))
        self.max_age_s = float(max_age_s)
        self._lock = threading.Lock()
        self._count = 0

    def new(self, kind: str) -> Path:
        """Make the folder for one request, e.g. ``root/000007-generate-1a2b3c``."""
        with self._lock:
            self._count += 1
            folder = self.root / f"{self._count:06d}-{kind}-{uuid.uuid4().hex[:6]}"
            folder.mkdir()
            self._prune()
        return folder

    def folders(self) -> list[Path]:
        """Request folders, oldest first."""
        return sorted(p for p in self.root.iterdir() if p.is_dir())

    def _prune(self) -> None:
        folders = self.folders()
        now = time.time()
        for i, folder in enumerate(folders):
            too_many = i < len(folders) - self.keep
            too_old = now - folder.stat().st_mtime > self.max_age_s
            if too_many or too_old:
                shutil.rmtree(folder, ignore_errors=True)

    def owns(self, path: str | os.PathLike) -> bool:
        """True if ``path`` lies inside one of this store's request folders."""
        try:
            rel = Path(path).resolve().relative_to(self.root.resolve())
        except ValueError:
            return False
        return len(rel.parts) >= 2

    def cleanup(self) -> None:
        """Delete the whole root (at shutdown)."""
        shutil.rmtree(self.root, ignore_errors=True)


def zip_files(paths: list[Path], dest: Path) -> Path:
    """Pack files (by their base names) into the zip ``dest``."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in paths:
            zf.write(p, arcname=Path(p).name)
    return dest


# --------------------------------------------------------------------------- example songs

class ExampleSongs:
    """The bundled example tunes, by file name, with readable titles.

    Parameters
    ----------
    folder : Path
        Where the example files are; only files with a music extension count.
    """

    def __init__(self, folder: Path = EXAMPLES_DIR):
        self.folder = Path(folder)
        files = sorted(self.folder.glob("*")) if self.folder.is_dir() else []
        self._paths = {p.name: p for p in files if p.is_file() and p.suffix.lower() in MUSIC_EXTENSIONS}

    @staticmethod
    def title(name: str) -> str:
        """'ally_croakers_favorite_reel.mid' -> 'Ally Croakers Favorite Reel'."""
        return " ".join(w.capitalize() for w in Path(name).stem.split("_"))

    @property
    def names(self) -> list[str]:
        return list(self._paths)

    def choices(self) -> list[tuple[str, str]]:
        """(title, name) pairs for a dropdown, with an empty first choice."""
        return [("(none)", "")] + [(self.title(n), n) for n in self._paths]

    def path(self, name: str) -> Path:
        """The file of an example; unknown names are an :class:`InputError`."""
        if name not in self._paths:
            raise InputError(f"unknown example {plain(name)!r}; pick one from the list")
        return self._paths[name]


# --------------------------------------------------------------------------- songs

def parse_track(track) -> int | None:
    """Track choice from the page: ``"auto"``/empty -> None, ``"2"`` -> 2."""
    if track in (None, "", AUTO_TRACK):
        return None
    if isinstance(track, int) or str(track).isdigit():
        return int(track)
    raise InputError(f"track must be {AUTO_TRACK!r} or a track number, not {plain(track)!r}")


def read_song_bytes(upload: str | None, example: str | None, examples: ExampleSongs,
                    which: str = "Song") -> tuple[bytes, str, str]:
    """The bytes of an upload (which wins) or of an example.

    Returns ``(data, display name, extension hint)``; the display name is
    sanitized and the extension is only a hint for the format sniffer.
    """
    if upload:
        src = Path(upload)
        label = plain(src.name)
        try:
            size = src.stat().st_size
            if size > MAX_FILE_BYTES:
                raise InputError(f"{which}: {label} is {size / 1e6:.1f} MB; files up to "
                                 f"{MAX_FILE_BYTES / 1e6:.0f} MB are accepted")
            with open(src, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError:
            raise InputError(f"{which}: the upload could not be read; please upload it again") from None
    elif example:
        src = examples.path(example)
        label = examples.title(example)
        data = src.read_bytes()
    else:
        raise InputError(f"{which}: upload a file (MIDI, ABC or MusicXML) or pick an example")
    ext = src.suffix.lower() if src.suffix.lower() in MUSIC_EXTENSIONS else ""
    return data, label, ext


def load_song(upload: str | None, example: str | None, track, examples: ExampleSongs,
              which: str = "Song") -> tuple[Melody, str]:
    """Read the melody of an upload or example with its chords (``melody.chords``, when it has
    some: chord symbols, a score's other parts or MIDI accompaniment; none when every chord read
    is 'no chord'); returns ``(melody, display name)``.

    Raises
    ------
    InputError
        For anything wrong with the input: no file, too large, not music,
        no notes, drums only, unparsable ABC/MusicXML, unknown track.
    """
    data, label, ext = read_song_bytes(upload, example, examples, which)
    try:
        # the name only hints the format; data is given, so nothing is opened
        melody = read_song(Path("upload" + ext), track=parse_track(track), data=data)
    except MusicReadError as err:
        raise InputError(f"{which}: {label} cannot be used: {err}") from None
    if melody.chords is not None and not (melody.chords[:, 1] != NO_CHORD).any():
        melody.chords = None          # a drone or a drum-like part: nothing a chord track could carry
    return melody, label


def describe_song(melody: Melody, label: str, which: str = "Song") -> str:
    """One Markdown line: which track became the melody, and why, plus its shape."""
    t = melody.track or {}
    reason = str(t.get("reason", ""))
    reason = "chosen by you" if reason.startswith("forced") else reason
    key = f" · {plain(melody.key)}" if melody.key else ""
    played = " as played (repeats written out)" if t.get("repeats") == "expanded" else ""
    return (f"**{which}** ({label}): melody from track {t.get('index', 0)} "
            f"“{plain(t.get('name', ''))}” ({plain(reason, 120)}) · {song_meter(melody)}, {melody.qpm:.0f} qpm · "
            f"{count(len(melody.bars), 'bar')}{played}{key} · {count(len(melody.notes), 'note')}")


def song_meter(melody: Melody) -> str:
    """A song's meter as the page shows it: '3/4', '6/8 (inferred from the notes)', '3/4 (as you set it)'."""
    num, den = melody.time_signature
    info = (melody.track or {}).get("meter") or {}
    how = " (inferred from the notes)" if "inferred" in info else " (as you set it)" if "forced" in info else ""
    return f"{num}/{den}{how}"


def track_choices(melody: Melody | None) -> list[tuple[str, str]]:
    """Dropdown choices for the melody track: automatic, then every track."""
    names = (melody.track or {}).get("candidates", []) if melody is not None else []
    return [("automatic", AUTO_TRACK)] + [(f"{i}: {plain(n, 40)}", str(i)) for i, n in enumerate(names)]
