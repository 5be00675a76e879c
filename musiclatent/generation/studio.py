"""Song-level operations shared by the CLI and the web app.

Each function takes a loaded :class:`MusicLatent` and in-memory melodies, and
returns a :class:`Result`: named token segments plus the tempo, meter,
program and velocity to export them with. Writing files is
:func:`write_result`'s job (the only disk I/O here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from musiclatent.constants import DEFAULT_PROGRAM, DEFAULT_QPM, DEFAULT_TIME_SIGNATURE, DEFAULT_VELOCITY
from musiclatent.generation.form import (check_form, default_continuation_form, default_form, form_continuation,
                                         form_pieces)
from musiclatent.generation.respect import respect_input
from musiclatent.generation.songs import align_index, export_meter, morph_layout, song_phrases
from musiclatent.generation.stream import model_phrases, held_into, seal, stream_notes, stream_tokens
from musiclatent.midi.melody import Melody

if TYPE_CHECKING:  # the facade imports torch; the app starts without it
    from musiclatent.generation.facade import MusicLatent


@dataclass
class Result:
    """Named segments of phrase tokens, each (n, T), in play order, plus export settings.

    ``main`` names the segment list that forms the headline file (e.g. the
    morph); ``files`` maps file stems to lists of segment names.
    """

    segments: dict[str, np.ndarray]
    files: dict[str, list[str]]
    qpm: float = DEFAULT_QPM
    time_signature: tuple[int, int] = DEFAULT_TIME_SIGNATURE
    program: int = DEFAULT_PROGRAM
    velocity: int = DEFAULT_VELOCITY
    notes: list[str] = field(default_factory=list)
    chords: dict[str, np.ndarray] = field(default_factory=dict)   # file stem -> chord id per half bar (c,)
    chord_program: int = 0                                          # General MIDI program of the chord track

    def tokens(self, stem: str) -> list[np.ndarray]:
        return [self.segments[name] for name in self.files[stem]]

    def stream(self, stem: str) -> np.ndarray:
        """A file's segments as one token stream (steps,): what every export of it reads."""
        return stream_tokens(self.tokens(stem))

    def file_notes(self, stem: str) -> np.ndarray:
        """A file's notes (n, 3) in steps, read as one stream: the notes of its MIDI, WAV and picture."""
        return stream_notes(self.tokens(stem))


def _export_settings(mel: Melody | None, qpm, program, velocity, time_signature=None):
    if mel is None:
        return (float(qpm or DEFAULT_QPM), tuple(time_signature or DEFAULT_TIME_SIGNATURE),
                int(DEFAULT_PROGRAM if program is None else program), int(velocity or DEFAULT_VELOCITY))
    ts = export_meter(mel)
    return (float(qpm or mel.qpm), tuple(time_signature or ts), int(mel.program if program is None else program),
            int(velocity or mel.velocity))


def sample(ml: MusicLatent, n: int = 4, bars: int | None = None, style=None, temperature: float = 0.5,
           seed: int | None = 0, attributes: dict | None = None, qpm: float | None = None,
           program: int | None = None, velocity: int | None = None,
           time_signature: tuple[int, int] | None = None, chords=None, chords_per_bar: int = 1,
           chord_program: int = 0, form: str | None = None) -> Result:
    """n melodies of ``bars`` bars. Longer than the model's phrase, a piece has form
    (:mod:`musiclatent.generation.form`: ``form`` letters such as AABB, by default
    :func:`~musiclatent.generation.form.default_form`) when its sections fit in the model's phrase
    and the model does not play over chords; else (or with ``form="walk"``) it is a chain of
    phrases along a latent walk (each next z = 0.8 z + 0.6 eps, in the style prior's frame
    when the model has one: :meth:`MusicLatent.walk_latents`).

    ``chords`` (a progression of chord ids, :func:`~musiclatent.representations.chords.parse_progression`)
    repeats over the bars, one chord a bar (or a half bar with ``chords_per_bar=2``); a chord model
    plays over them, and every file gets a block-chord track (``chord_program``)."""
    bars = bars or ml.bars
    k = max(1, int(np.ceil(bars / ml.bars)))
    per_half = progression_halves(chords, k * ml.bars, chords_per_bar) if chords is not None else None
    shape = piece_form(ml, bars, form, per_half is not None)
    keep = bars * ml.steps // ml.bars
    notes = [] if per_half is None or ml.takes_chords else [
        f"{ml.name} does not hear chords: the melodies ignore them; the chord track is written beside them"]
    if shape is not None:
        toks = form_pieces(ml, n, bars, shape[0], style, temperature, seed, attributes=attributes)
        notes.append(f"form {shape[0]}: {len(shape[0])} sections of {shape[1]} bars; a returning section "
                     f"repeats with a new cadence")
    else:
        rng = np.random.default_rng(seed)
        z = ml.prior_latents(n, style, temperature, rng)
        walk = ml.walk_latents(z, k - 1, 0.8, style, rng, spread=ml.prior.spread(temperature) if ml.prior else 1.0)
        zs = np.concatenate([z[:, None], walk.transpose(1, 0, 2)], 1).reshape(-1, ml.z_dim) + ml.attribute_offset(attributes)
        rows = np.tile(per_half.reshape(k, -1), (n, 1)) if per_half is not None else None
        toks = ml.decode(zs, style, temperature, seed, chords=rows).reshape(n, -1)
    segs = {f"sample_{i + 1:02d}": toks[i].reshape(1, -1)[:, :keep] for i in range(n)}
    q, ts, prog, vel = _export_settings(None, qpm, program, velocity, time_signature or ml.meter)
    return Result(segs, {name: [name] for name in segs}, q, ts, prog, vel, notes,
                  {name: per_half[:2 * bars] for name in segs} if per_half is not None else {}, chord_program)


def piece_form(ml: "MusicLatent", bars: int, form: str | None = None,
               over_chords: bool = False) -> tuple[str, int] | None:
    """(FORM, section bars) a ``bars``-bar sample takes, or None for one phrase or a latent walk:
    pieces no longer than the model's phrase, ``form="walk"``, a chord model over chords (it plays
    them phrase by phrase), or no form given and the default's sections do not fit. A form asked
    for that cannot be is a ValueError."""
    if bars <= ml.bars or (form or "").lower() == "walk":
        return None
    if over_chords and ml.takes_chords:
        if form is None:
            return None
        raise ValueError(f"{ml.name} plays over the chords phrase by phrase, along a latent walk: give no form")
    if form is not None:
        return check_form(ml, bars, form)
    try:
        return check_form(ml, bars, default_form(bars)) if default_form(bars) != "A" else None
    except ValueError:       # the default's sections do not fit this model's phrase
        return None


def progression_halves(chords, bars: int, chords_per_bar: int = 1) -> np.ndarray:
    """A progression (chord ids) repeated over ``bars`` 4/4 bars, one chord a bar (or a half bar
    with ``chords_per_bar=2``) -> the chord of every half bar, (2 * bars,) int64."""
    prog = np.asarray(chords, np.int64).reshape(-1)
    if not len(prog):
        raise ValueError("the chord progression is empty")
    if chords_per_bar not in (1, 2):
        raise ValueError(f"chords_per_bar is 1 or 2, not {chords_per_bar}")
    halves = np.repeat(prog, 2 // chords_per_bar)
    return np.resize(halves, 2 * bars)


def interpolate_songs(ml: MusicLatent, a: Melody, b: Melody, steps: int = 5, temperature: float = 0.0,
                      seed: int | None = 0, style=None, attributes: dict | None = None,
                      qpm: float | None = None, program: int | None = None, velocity: int | None = None,
                      keep_intro: bool = False) -> Result:
    """Morph song A into song B, phrase by phrase, along slerp paths between latent means.

    Files: ``morph`` (A's opening, the steps in order, B's ending), ``step_NN``
    (each step as a whole song), ``recon_a`` / ``recon_b`` (endpoint
    reconstructions). Export settings (tempo, meter, program, velocity) are A's.

    The morph starts where A's melody starts (an instrumental intro, silence in
    the melody track, is skipped) and ends where B's melody ends: B is tiled
    so that its last phrase ends on the bar line after its last note.
    ``keep_intro=True`` keeps A's intro and B's outro to the end of its last bar.
    Each output phrase ends or holds its last note at a boundary as the input
    phrase it stands for does (:mod:`musiclatent.generation.stream`).
    """
    if steps < 2:
        raise ValueError("steps must be at least 2 (the two endpoints)")
    sa = song_phrases(a, ml.steps, intro=keep_intro, meter=ml.meter)
    sb = song_phrases(b, ml.steps, intro=keep_intro, align="end", outro=keep_intro,
                      meter=ml.meter)
    ia, ib, how = align_index(len(sa.phrases), len(sb.phrases), b_ends=True)
    oa, ob = held_into(sa.phrases), held_into(sb.phrases)
    ca, cb = song_chords(ml, sa), song_chords(ml, sb)
    cpath = None
    if ca is not None or cb is not None:   # each step plays the chords of the nearer song (none: no chord)
        ca = ca if ca is not None else np.zeros((len(sa.phrases), ml.steps // 8), np.int64)
        cb = cb if cb is not None else np.zeros((len(sb.phrases), ml.steps // 8), np.int64)
        cpath = np.stack([ca[ia] if 2 * k <= steps - 1 else cb[ib] for k in range(steps)])
    path = ml.interpolate(model_phrases(sa.phrases[ia]), model_phrases(sb.phrases[ib]), steps, style=style,
                          temperature=temperature, seed=seed, attributes=attributes,
                          chords=_heard(ml, cpath))      # (steps, n, T)
    # each step's phrases end their notes like those of the nearer song
    path = np.stack([seal(path[k], oa[ia] if 2 * k <= steps - 1 else ob[ib]) for k in range(steps)])
    segs = {"a_opening": seal(sa.phrases[:1], oa[:1]), "b_ending": seal(sb.phrases[-1:], ob[-1:])}
    files = {}
    for k in range(steps):
        segs[f"step_{k + 1:02d}"] = path[k]
        files[f"step_{k + 1:02d}"] = [f"step_{k + 1:02d}"]
    layout = morph_layout(len(ia), steps)
    for k, idx in enumerate(layout):
        segs[f"morph_{k + 1:02d}"] = path[k, idx:idx + 1]
    files["morph"] = ["a_opening"] + [f"morph_{k + 1:02d}" for k in range(steps)] + ["b_ending"]
    segs["recon_a"], segs["recon_b"] = path[0], path[-1]
    files["recon_a"], files["recon_b"] = ["recon_a"], ["recon_b"]
    seg_chords = {}
    if cpath is not None:
        seg_chords = {"a_opening": ca[:1], "b_ending": cb[-1:], "recon_a": cpath[0], "recon_b": cpath[-1],
                      **{f"step_{k + 1:02d}": cpath[k] for k in range(steps)},
                      **{f"morph_{k + 1:02d}": cpath[k, idx:idx + 1] for k, idx in enumerate(layout)}}
    q, ts, prog, vel = _export_settings(a, qpm, program, velocity)
    b_notes = [r.split(", and the result keeps")[0] + ("; the morph is written in A's meter, "
               "{}/{}".format(*ts) if ", and the result keeps" in r else "") for r in sb.notes]
    notes = [how] + [f"A: {r}" for r in sa.notes] + [f"B: {r}" for r in b_notes] + _chord_remarks(ml, cpath)
    return Result(segs, files, q, ts, prog, vel, notes, _chord_files(files, seg_chords))


def _chord_remarks(ml: MusicLatent, chords) -> list[str]:
    if chords is None:
        return []
    if ml.takes_chords:
        return ["the input's chords are kept: the model plays over them and a chord track is written"]
    return [f"the input's chords are written as a chord track ({ml.name} does not hear chords)"]


def song_chords(ml: MusicLatent, song) -> np.ndarray | None:
    """The chord of every half bar of a song's phrases, (n, K) with K = T / 8, when the song was read
    with chords and the model's bars are 16-step 4/4 ones; else None."""
    from musiclatent.representations.chords import events_to_chords

    events = getattr(song.melody, "chords", None)
    if events is None or not len(events) or ml.steps_per_bar != 16:
        return None
    k = ml.steps // 8
    return events_to_chords(np.asarray(events), song.offset, len(song.phrases) * k).reshape(len(song.phrases), k)


def _heard(ml: MusicLatent, chords):
    """The chords a model decodes over: only a chord model hears them."""
    return chords if chords is not None and ml.takes_chords else None


def _chord_files(files: dict[str, list[str]], seg_chords: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each file's chord track (one id per half bar) from its segments' chords, when all have some."""
    return {stem: np.concatenate([seg_chords[n].reshape(-1) for n in names])
            for stem, names in files.items() if all(n in seg_chords for n in names)}


def _respectful(out: np.ndarray, song, keep_rests: bool, keep_register: bool) -> np.ndarray:
    """Output phrases (n, T) standing for a song's phrases: sealed like them, then made to
    rest where the song rests and sit in its register (:mod:`musiclatent.generation.respect`)."""
    return respect_input(seal(out, held_into(song.phrases)), song.phrases, keep_rests, keep_register)


def _respect_remarks(keep_rests: bool, keep_register: bool) -> list[str]:
    kept = [w for w, on in (("rests where the input rests", keep_rests),
                            ("stays in the input's register (moved by octaves)", keep_register)) if on]
    return [f"the output {' and '.join(kept)}"] if kept else []


def restyle_song(ml: MusicLatent, mel: Melody, target_style, strength: float = 1.0, source_style=None,
                 temperature: float = 0.0, seed: int | None = 0, attributes: dict | None = None,
                 qpm=None, program=None, velocity=None, keep_rests: bool = True,
                 keep_register: bool = True) -> Result:
    """Restyle every phrase of a melody; files ``original`` and ``restyled``.

    By default the restyled melody rests where the input rests and stays in its
    register; ``keep_rests=False`` / ``keep_register=False`` let the model fill
    the rests / move the line to another octave.
    """
    song = song_phrases(mel, ml.steps, meter=ml.meter)
    chords = song_chords(ml, song)
    src = source_style if source_style is not None else (mel.style if mel.style in ml.styles else None)
    out = ml.restyle(model_phrases(song.phrases), target_style, strength, source_style=src,
                     temperature=temperature, seed=seed, attributes=attributes, chords=_heard(ml, chords))
    q, ts, prog, vel = _export_settings(mel, qpm, program, velocity)
    segs = {"original": song.phrases, "restyled": _respectful(out, song, keep_rests, keep_register)}
    files = {"original": ["original"], "restyled": ["restyled"]}
    return Result(segs, files, q, ts, prog, vel,
                  song.notes + _respect_remarks(keep_rests, keep_register) + _chord_remarks(ml, chords),
                  _chord_files(files, {k: chords for k in segs} if chords is not None else {}))


def vary_song(ml: MusicLatent, mel: Melody, n: int = 4, similarity: float = 0.8, style=None,
              temperature: float = 0.0, seed: int | None = 0, qpm=None, program=None, velocity=None,
              keep_rests: bool = True, keep_register: bool = True) -> Result:
    """n variations of a melody; files ``original`` and ``variation_NN``; rests and register
    as in :func:`restyle_song`."""
    song = song_phrases(mel, ml.steps, meter=ml.meter)
    chords = song_chords(ml, song)
    out = ml.variations(model_phrases(song.phrases), n, similarity, style=style, temperature=temperature,
                        seed=seed, chords=_heard(ml, chords))
    segs = {"original": song.phrases,
            **{f"variation_{i + 1:02d}": _respectful(out[i], song, keep_rests, keep_register) for i in range(n)}}
    q, ts, prog, vel = _export_settings(mel, qpm, program, velocity)
    files = {k: [k] for k in segs}
    return Result(segs, files, q, ts, prog, vel,
                  song.notes + _respect_remarks(keep_rests, keep_register) + _chord_remarks(ml, chords),
                  _chord_files(files, {k: chords for k in segs} if chords is not None else {}))


def continue_song(ml: MusicLatent, mel: Melody, n: int = 4, similarity: float = 0.9, style=None,
                  temperature: float = 0.0, seed: int | None = 0, qpm=None, program=None, velocity=None,
                  form: str | None = None) -> Result:
    """Continue a melody by n phrases; files ``continued`` (the song then the new phrases) and
    ``continuation`` (the new phrases alone), in the input's tempo, meter and instrument.

    ``form``: one letter per new phrase, ``A`` the song's opening coming back with a new cadence
    (default B, BA, BBA, BBAA, ...: :func:`musiclatent.generation.form.form_continuation`);
    ``"walk"``: a latent walk from the song's last phrase, no phrase returning. The new phrases start
    on the bar line after the song's last note and follow its last phrase-length of music (16 bars for
    a 16-bar model)."""
    song = song_phrases(mel, ml.steps, meter=ml.meter)
    chords = song_chords(ml, song)
    more = None if chords is None else chords[np.arange(n) % len(chords)]   # the song's progression again
    played = song.phrases.reshape(-1)[:played_steps(song.phrases, ml.steps // ml.bars)]
    # the new phrases follow the song's last bar line, from its last full phrase of music
    last = played[-ml.steps:] if len(played) >= ml.steps else song.phrases[-1]
    context = model_phrases(np.stack([song.phrases[0], last]))          # the opening (A), then the last phrase
    if str(form).lower() == "walk":
        new = ml.continuation(context, n, similarity, style=style, temperature=temperature, seed=seed,
                              chords=_heard(ml, more))
    else:
        if not 0.0 <= float(similarity) <= 1.0:
            raise ValueError(f"similarity must lie in [0, 1], got {similarity}")
        form = str(form or default_continuation_form(n)).upper()
        new = form_continuation(ml, context, n, form, similarity, style, temperature, seed, chords=_heard(ml, more))
        song.notes.append(f"continued in form {form}, a letter a {ml.bars}-bar phrase (A: the song's opening "
                          "returning with a new cadence)")
    segs = {"original": played, "continuation": new}
    q, ts, prog, vel = _export_settings(mel, qpm, program, velocity)
    files = {"continued": ["original", "continuation"], "continuation": ["continuation"]}
    seg_chords = {"original": chords.reshape(-1)[:len(played) // 8], "continuation": more} if chords is not None else {}
    return Result(segs, files, q, ts, prog, vel, song.notes + _chord_remarks(ml, chords), _chord_files(files, seg_chords))


def played_steps(phrases: np.ndarray, bar: int) -> int:
    """Steps of a song's phrases (n, T) up to the bar line after its last note (all of them if silent)."""
    notes = stream_notes([phrases])
    if not len(notes):
        return int(phrases.size)
    return min(int(phrases.size), int(np.ceil(notes[:, 2].max() / bar)) * bar)


def write_result(result: Result, out_dir: str | Path, wav: bool = False, png: bool = True,
                 name: str = "musiclatent", bars_per_line: int | None = None) -> list[Path]:
    """Write every file of a result as MIDI (+ WAV, + PNG); returns the paths.

    The MIDI, the WAV and the picture of a file are made from the same notes:
    its segments read as one stream (:meth:`Result.file_notes`).
    """
    from musiclatent.generation.audio import write_wav
    from musiclatent.generation.export import notes_to_pretty_midi, write_pianoroll_png
    from musiclatent.midi.io import write_midi

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, names in result.files.items():
        pm = notes_to_pretty_midi(result.file_notes(stem), qpm=result.qpm, time_signature=result.time_signature,
                                  program=result.program, velocity=result.velocity, name=f"{name} {stem}",
                                  chords=result.chords.get(stem), chord_program=result.chord_program)
        written.append(write_midi(out_dir / f"{stem}.mid", pm))
        if wav:
            written.append(write_wav(out_dir / f"{stem}.wav", pm))
        if png:
            written.append(write_pianoroll_png(out_dir / f"{stem}.png", result.tokens(stem), labels=names,
                                               bars_per_line=bars_per_line))
    return written
