"""Songs as one note stream: phrases joined so that a note held across a phrase
boundary stays one note.

A song's phrases are consecutive windows of one token stream, so the stream is
read whole: ``tokens_to_notes(phrases.reshape(-1))``. A phrase that opens with
holds continues the note sounding at the end of the phrase before it. That is
what the model learnt: a training window that starts inside a held note starts
with holds (the note's onset lies before the window).

Read alone, a phrase cannot say whether its last note ends at the boundary or
goes on, so where the model rewrites a song (reconstruction, a morph, restyle,
vary) the boundaries follow the input: :func:`held_into` reads, per phrase of
the input, how long a note held from the phrase before goes on, and
:func:`seal` makes the output's stream end that note where the input's ended
(a rest token in place of one of the phrase's opening holds). Every export (MIDI, WAV, piano roll)
reads the same stream through :func:`stream_notes`.
"""

from __future__ import annotations

import numpy as np

from musiclatent.constants import HOLD, REST
from musiclatent.representations.pianoroll import canonicalize_tokens, empty_notes, tokens_to_notes

__all__ = ["stream_tokens", "stream_notes", "held_into", "seal", "model_phrases"]


def stream_tokens(segments) -> np.ndarray:
    """Segments of tokens (each (T,) or (n, T)), in play order -> one stream (steps,) int64."""
    parts = [np.asarray(s, dtype=np.int64).reshape(-1) for s in segments]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def stream_notes(segments) -> np.ndarray:
    """The notes of segments played one after another, read as one stream.

    Parameters
    ----------
    segments : list of np.ndarray, each (T,) or (n, T), int
        Tokens; an array (n, T) of phrases is one segment.

    Returns
    -------
    np.ndarray, shape (m, 3), int32: ``(pitch, start, end)`` in steps from the
    first segment's start. A note held across a boundary is one note.
    """
    flat = stream_tokens(segments)
    return tokens_to_notes(flat) if flat.size else empty_notes()


def held_into(phrases: np.ndarray) -> np.ndarray:
    """For each phrase of a stream, how many of its first steps a note from the phrase before fills.

    Parameters
    ----------
    phrases : np.ndarray, shape (n, T), int
        Consecutive phrases of one stream.

    Returns
    -------
    np.ndarray, shape (n,), int64 in ``[0, T]``: 0 where the phrase opens
    without a held note (always for the first), ``T`` where one lasts through it.
    """
    phrases = np.asarray(phrases)
    n, steps = phrases.shape
    out = np.zeros(n, np.int64)
    notes = stream_notes([phrases])
    for i in range(1, n):
        b = i * steps
        over = notes[(notes[:, 1] < b) & (notes[:, 2] > b)]
        if len(over):
            out[i] = min(int(over[0, 2]) - b, steps)
    return out


def seal(phrases: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Make a stream of output phrases end held notes where the input's ended.

    A phrase window cannot say where a note held in from the phrase before
    ends: a training window drops that note and opens with holds up to its own
    first event. So where an output phrase opens with holds, the held note ends
    where the input's did.

    Parameters
    ----------
    phrases : np.ndarray, shape (n, T), int
        Output phrases, played one after another.
    held : np.ndarray, shape (n,), int
        Per phrase: :func:`held_into` of the input phrase it stands for (a
        phrase keeps its value wherever it is placed).

    Returns
    -------
    np.ndarray, shape (n, T), int64: a copy where a phrase whose opening holds
    reach past ``held`` steps has a rest at step ``held`` (at 0 when no note
    was held in). The notes of each phrase read alone are unchanged.
    """
    out = np.array(phrases, dtype=np.int64, copy=True)
    held = np.asarray(held, np.int64).reshape(-1)
    if len(held) != len(out):
        raise ValueError(f"{len(held)} held lengths for {len(out)} phrases")
    steps = out.shape[1] if out.ndim == 2 else 0
    for i, h in enumerate(held.tolist()):
        if h < steps and (out[i, :h + 1] == HOLD).all():     # the opening holds reach past h
            out[i, h] = REST
    return out


def model_phrases(phrases: np.ndarray) -> np.ndarray:
    """Phrases of a stream as the model saw them in training: each window read alone.

    A phrase that opens with a rest (the previous note ended on the boundary)
    opens with a hold instead, as every training window does. (n, T) -> (n, T) int64.
    """
    phrases = np.asarray(phrases, dtype=np.int64)
    return canonicalize_tokens(phrases) if phrases.size else phrases
