"""Prepared phrase datasets in memory, batches and augmentation.

Disk I/O lives in :func:`load_dataset` only; batching and augmentation are
pure tensor functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from musiclatent.constants import AUGMENT_MAX_PITCH, AUGMENT_MIN_PITCH, STYLE_ANY
from musiclatent.representations import MELODY
from musiclatent.representations.chords import STEPS_PER_HALF_BAR, transpose_chords
from musiclatent.representations.drums import mix_layers


@dataclass
class PhraseSet:
    """Phrases of one dataset.

    tokens : (N, T) uint8 (int16 for drums) ; style : (N,) int64 model style ids (0 = any) ;
    piece : (N,) int32 ; bar : (N,) int32 ; split : (N,) uint8 (1 = validation, 2 = test) ;
    chords : (N, C) uint8, the chord id of every half bar (:mod:`musiclatent.representations.chords`;
    0 = no chord), all zeros (N, T // 8) when the dataset has none.
    """

    tokens: np.ndarray
    style: np.ndarray
    piece: np.ndarray
    bar: np.ndarray
    split: np.ndarray
    style_names: tuple[str, ...]  # model styles, "any" first
    manifest: dict
    chords: np.ndarray | None = None

    def __post_init__(self):
        if self.chords is None:   # no chord on any half bar (8 steps)
            self.chords = np.zeros((len(self.tokens), self.tokens.shape[1] // STEPS_PER_HALF_BAR), np.uint8)

    @property
    def steps(self) -> int:
        return int(self.tokens.shape[1])

    def subset(self, mask: np.ndarray) -> "PhraseSet":
        return PhraseSet(self.tokens[mask], self.style[mask], self.piece[mask], self.bar[mask], self.split[mask],
                         self.style_names, self.manifest, self.chords[mask])

    def train(self) -> "PhraseSet":
        return self.subset(self.split == 0)

    def validation(self) -> "PhraseSet":
        return self.subset(self.split == 1)

    def __len__(self) -> int:
        return len(self.tokens)


def load_dataset(path: str | Path) -> PhraseSet:
    """Read ``phrases.npz`` + ``manifest.json`` from a prepared folder."""
    path = Path(path)
    mpath, ppath = path / "manifest.json", path / "phrases.npz"
    if not mpath.exists() or not ppath.exists():
        raise FileNotFoundError(f"{path} is not a prepared dataset (run `musiclatent prepare ... --out {path}`)")
    manifest = json.loads(mpath.read_text())
    with np.load(ppath, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    names = (STYLE_ANY,) + tuple(manifest["style_names"])
    tokens = arrays["tokens"]
    if tokens.dtype == np.uint16:       # drum tokens (< 512); torch indexes int16 but not uint16
        tokens = tokens.astype(np.int16)
    chords = arrays.get("chords")
    return PhraseSet(tokens, arrays["style"].astype(np.int64) + 1, arrays["piece"], arrays["bar"],
                     arrays["split"], names, manifest, chords)


def transpose_tokens(tokens: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift every row by a random number of semitones in [-max_shift, max_shift].

    The shift of each row is drawn among those that keep its notes inside
    [AUGMENT_MIN_PITCH, AUGMENT_MAX_PITCH] (rows already outside stay put).

    tokens : (B, T) int64 -> (B, T) int64
    """
    if max_shift <= 0:
        return tokens
    is_note = tokens >= MELODY.pitch_offset
    pitch = tokens - MELODY.pitch_offset
    big, small = torch.tensor(10_000), torch.tensor(-10_000)
    lo = torch.where(is_note, pitch, big).min(1).values
    hi = torch.where(is_note, pitch, small).max(1).values
    down = torch.clamp(lo - AUGMENT_MIN_PITCH, min=0, max=max_shift)
    up = torch.clamp(AUGMENT_MAX_PITCH - hi, min=0, max=max_shift)
    u = torch.rand(tokens.shape[0], generator=generator)
    shift = (-down + torch.floor(u * (down + up + 1)).long()).clamp(max=up)
    shift = torch.where(is_note.any(1), shift, torch.zeros_like(shift))
    return torch.where(is_note, tokens + shift[:, None], tokens)


def random_chord_batch(tokens: torch.Tensor, style: torch.Tensor, chords: torch.Tensor, batch_size: int,
                       generator: torch.Generator, augment: int = 0, style_dropout: float = 0.0,
                       chord_dropout: float = 0.0, free_key: int = 0, chord_share: float = 0.0,
                       free_key_share: float = 1.0, free_key_cells: int = 0
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A training batch for a chord model: tokens (B, T), style ids (B,), chord ids (B, K) and the
    tokens the encoder reads (B, T).

    Each row is transposed with its chords (the same shift); ``chord_dropout`` of the rows get
    "no chord" everywhere, so the model still samples without chords. With ``free_key`` K, the
    encoder reads every row that has chords moved by a further random shift of up to K semitones:
    the latent then cannot tell the decoder the key, which must come from the chords; with
    ``free_key_share`` < 1 only that share of them is moved, so the decoder also learns to keep a
    latent that agrees with its chords (a reconstruction) and to move one that does not (a sample).
    ``free_key_cells`` C > 0 moves every C steps of such a row by its own shift (C = 8: each half
    bar), so the latent keeps the rhythm and the contour within a half bar but not the harmony.
    ``chord_share`` > 0 draws that share of the rows from the phrases that have chords.
    """
    has_chords = (chords > 0).any(1)
    if chord_share > 0 and has_chords.any() and not has_chords.all():
        weight = torch.where(has_chords, chord_share / has_chords.sum(), (1 - chord_share) / (~has_chords).sum())
        idx = torch.multinomial(weight.double(), batch_size, replacement=True, generator=generator)
    else:
        idx = torch.randint(0, tokens.shape[0], (batch_size,), generator=generator)
    x, s, c = tokens[idx].long(), style[idx].long(), chords[idx].long()
    if style_dropout > 0:
        s = torch.where(torch.rand(batch_size, generator=generator) < style_dropout, torch.zeros_like(s), s)
    moved = transpose_tokens(x, augment, generator)
    is_note = x >= MELODY.pitch_offset
    shift = torch.where(is_note.any(1), (moved - x).masked_fill(~is_note, -99).max(1).values, torch.zeros(len(x)).long())
    c = torch.from_numpy(transpose_chords(c.numpy(), shift.numpy()[:, None]))
    if chord_dropout > 0:
        c = torch.where((torch.rand(batch_size, generator=generator) < chord_dropout)[:, None], torch.zeros_like(c), c)
    enc = moved
    if free_key > 0:
        has = (c > 0).any(1) & (torch.rand(batch_size, generator=generator) < free_key_share)
        if free_key_cells:
            cells = moved.reshape(-1, free_key_cells)           # (B * T / C, C): each cell its own shift
            shifted = transpose_tokens(cells, free_key, generator).reshape(moved.shape)
        else:
            shifted = transpose_tokens(moved, free_key, generator)
        enc = torch.where(has[:, None], shifted, moved)
    return moved, s, c, enc


def same_style_partners(idx: torch.Tensor, style: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """For rows ``idx`` (B,) of a dataset with styles ``style`` (N,), a random row (B,) of the same
    style for each (possibly the row itself)."""
    order = torch.argsort(style, stable=True)
    counts = torch.bincount(style.long(), minlength=int(style.max()) + 1)
    starts = torch.cumsum(counts, 0) - counts
    s = style[idx].long()
    pick = (torch.rand(len(idx), generator=generator) * counts[s]).long().clamp(max=counts[s] - 1)
    return order[starts[s] + pick]


def random_batch(tokens: torch.Tensor, style: torch.Tensor, batch_size: int, generator: torch.Generator,
                 augment: int = 0, style_dropout: float = 0.0,
                 layer_mix: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw a training batch: (B, T) int64 tokens and (B,) int64 style ids.

    ``style_dropout`` replaces that share of style ids with 0 ("any"), so the
    unconditioned style is learned too. ``layer_mix`` (drum tokens only) plays that share of the
    rows' kick, snare and toms under the cymbals of another groove of the same style
    (:func:`musiclatent.representations.drums.mix_layers`): new grooves made of real parts, so the
    latent learns to carry each layer rather than to name a training groove.
    """
    idx = torch.randint(0, tokens.shape[0], (batch_size,), generator=generator)
    x = tokens[idx].long()
    s = style[idx].long()
    if layer_mix > 0:
        other = tokens[same_style_partners(idx, style, generator)].long()
        mixed = torch.rand(batch_size, generator=generator) < layer_mix
        x = torch.where(mixed[:, None], mix_layers(x, other), x)
    if style_dropout > 0:
        s = torch.where(torch.rand(batch_size, generator=generator) < style_dropout, torch.zeros_like(s), s)
    return transpose_tokens(x, augment, generator), s
