"""The bundled lead-sheet corpora: melodies with chord symbols, shipped compressed in ``data/leadsheets/``.

==============  ==========  ============================================================
``--corpus``    style       what
==============  ==========  ============================================================
openewld        standards   OpenEWLD: 502 public-domain Wikifonia lead sheets (``.mxl``)
chord-melody    jazz-pop    Chord Melody Dataset: 444 OCR-scanned lead sheets (``c.xml``)
==============  ==========  ============================================================

``prepare --corpus NAME`` unpacks the archive into a cache folder (``<out>/corpus/``; only
once, checked by the archive's size and hash) and reads it like any folder of scores; the
piece id is the path inside the archive (``chord-melody/all_of_me/c.xml``), so the split
(:func:`musiclatent.data.prepare.piece_split`) does not depend on where the cache is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

LEADSHEET_DIR = Path(__file__).resolve().parents[2] / "data" / "leadsheets"


@dataclass(frozen=True)
class LeadSheetCorpus:
    """One bundled lead-sheet collection."""

    name: str      # the --corpus name and the archive's top folder
    style: str     # the style its pieces get
    pattern: str   # the score files inside it
    source: str
    licence: str
    credit: str

    @property
    def archive(self) -> Path:
        return LEADSHEET_DIR / f"{self.name}.tar.xz"


LEADSHEET_CORPORA = {
    "openewld": LeadSheetCorpus(
        "openewld", "standards", "*.mxl",
        source="OpenEWLD (00sapo/OpenEWLD @ ec03cbd8, folder dataset/): the public-domain subset of the "
               "Wikifonia lead sheets, popular songs and standards mostly from 1890-1940",
        licence="public-domain scores; repository under the MIT licence (data/leadsheets/LICENSE-openewld)",
        credit="OpenEWLD, copyright (c) 2018 00sapo, from the Enhanced Wikifonia Leadsheet Dataset"),
    "chord-melody": LeadSheetCorpus(
        "chord-melody", "jazz-pop", "c.xml",
        source="Chord Melody Dataset (shiehn/chord-melody-dataset @ 044eb170): jazz standards, pop and oldies "
               "lead sheets scanned by OCR, 4/4, two chord symbols per bar; the C-major/C-minor copy of each song",
        licence="MIT (data/leadsheets/LICENSE-chord-melody)",
        credit="Chord Melody Dataset, copyright (c) 2017 Steve Hiehn"),
}


def _fingerprint(archive: Path) -> str:
    h = hashlib.sha1()
    with open(archive, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def unpack_corpus(name: str, cache: str | os.PathLike) -> Path:
    """Unpack a bundled lead-sheet corpus into ``cache`` (once) and return the folder holding it.

    The archive's regular files are written only below ``cache`` (links and absolute or ``..``
    paths are refused); a ``.unpacked.json`` stamp with the archive's hash makes later calls free.
    """
    corpus = LEADSHEET_CORPORA[name]
    if not corpus.archive.is_file():
        raise FileNotFoundError(f"{corpus.archive} is missing (the bundled {name} corpus)")
    cache = Path(cache)
    stamp = cache / f"{name}.unpacked.json"
    digest = _fingerprint(corpus.archive)
    if stamp.is_file() and json.loads(stamp.read_text()).get("sha1") == digest and (cache / name).is_dir():
        return cache / name
    shutil.rmtree(cache / name, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    root = cache.resolve()
    with tarfile.open(corpus.archive, "r:xz") as tar:
        for member in tar:
            target = (root / member.name).resolve()
            if not (member.isdir() or member.isfile()) or root not in target.parents \
                    or not (member.name == name or member.name.startswith(name + "/")):
                raise ValueError(f"{corpus.archive}: unexpected member {member.name!r}")
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    stamp.write_text(json.dumps({"archive": corpus.archive.name, "sha1": digest}))
    return cache / name


def leadsheet_files(name: str, cache: str | os.PathLike) -> list[tuple[Path, str, str]]:
    """``(file, piece id, style)`` of every score of a bundled corpus, sorted by piece id."""
    corpus = LEADSHEET_CORPORA[name]
    folder = unpack_corpus(name, cache)
    files = sorted(folder.rglob(corpus.pattern))
    return [(f, str(f.relative_to(folder.parent).as_posix()), corpus.style) for f in files]


def leadsheet_credit(name: str) -> dict:
    """Manifest fields naming a bundled corpus's source, licence and credit ({} for another corpus)."""
    corpus = LEADSHEET_CORPORA.get(name or "")
    if corpus is None:
        return {}
    return {"source": corpus.source, "licence": corpus.licence, "credit": corpus.credit}
