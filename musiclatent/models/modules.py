"""Encoder and decoders of the recurrent VAE.

Every module takes plain arguments; :func:`musiclatent.models.builders.build_vae`
turns a ``ModelConfig`` into modules. Teacher-forced passes are single fused
``nn.LSTM`` calls; step-by-step decoding carries the LSTM state (no prefix is
ever recomputed).

Shapes: B batch, T steps, U bars, S steps per bar, C classes (130 for melodies).
The representation's facts (steps per bar, where pitch classes start) come in as
plain arguments from the builder; nothing here imports a melody constant.
"""

from __future__ import annotations

import torch
from torch import nn

N_PITCHES = 128  # MIDI pitches an interval head spreads over


class BiLSTMEncoder(nn.Module):
    """Tokens (B, T) + style vectors (B, Ds) -> (mu, logvar), each (B, Z)."""

    def __init__(self, n_classes: int, embed_dim: int, hidden: int, layers: int, z_dim: int, style_dim: int,
                 pos_dim: int = 0, steps_per_bar: int = 16):
        super().__init__()
        self.embed = nn.Embedding(n_classes, embed_dim)
        self.steps_per_bar = steps_per_bar
        self.pos = nn.Embedding(steps_per_bar, pos_dim) if pos_dim else None
        self.lstm = nn.LSTM(embed_dim + style_dim + pos_dim, hidden, num_layers=layers, batch_first=True,
                            bidirectional=True)
        self.to_stats = nn.Linear(2 * hidden, 2 * z_dim)

    def forward(self, tokens: torch.Tensor, style_vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.embed(tokens)
        parts = [x, style_vec[:, None, :].expand(-1, x.shape[1], -1)]
        if self.pos is not None:
            steps = torch.arange(x.shape[1], device=x.device) % self.steps_per_bar
            parts.append(self.pos(steps)[None].expand(x.shape[0], -1, -1))
        x = torch.cat(parts, dim=-1)
        _, (h, _) = self.lstm(x)
        last = torch.cat([h[-2], h[-1]], dim=-1)  # final forward and backward states of the top layer
        mu, logvar = self.to_stats(last.float()).chunk(2, dim=-1)
        return mu, logvar


def _init_state(linear: nn.Linear, x: torch.Tensor, layers: int, hidden: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Map (N, D) to LSTM (h, c), each (layers, N, hidden)."""
    hc = torch.tanh(linear(x)).view(x.shape[0], 2, layers, hidden)
    return hc[:, 0].transpose(0, 1).contiguous(), hc[:, 1].transpose(0, 1).contiguous()


def last_pitches(prev_tokens: torch.Tensor, n_classes: int, pitch_offset: int) -> torch.Tensor:
    """MIDI pitch of the latest note-on among prev_tokens[:, :t + 1] for every step t, -1 before the
    first; (N, T) -> (N, T) int64. Class ``pitch_offset + p`` is pitch p; the start id (n_classes)
    is not a note."""
    on = (prev_tokens >= pitch_offset) & (prev_tokens < n_classes)
    steps = torch.arange(prev_tokens.shape[1], device=prev_tokens.device).expand_as(prev_tokens)
    latest = torch.where(on, steps, torch.full_like(steps, -1)).cummax(dim=1).values
    pitch = prev_tokens.gather(1, latest.clamp(min=0)) - pitch_offset
    return torch.where(latest >= 0, pitch, torch.full_like(pitch, -1))


def interval_logits(rel: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """Spread logits over intervals onto absolute pitches: rel (..., 2K + 1) for intervals -K..K
    from ``last`` (...) (-1: no previous note) -> (..., 128); pitches further than K, or with no
    previous note, get 0."""
    k = (rel.shape[-1] - 1) // 2
    d = torch.arange(N_PITCHES, device=rel.device) - last[..., None] + k         # (..., 128)
    ok = (d >= 0) & (d <= 2 * k) & (last[..., None] >= 0)
    return torch.where(ok, rel.gather(-1, d.clamp(0, 2 * k)), torch.zeros((), dtype=rel.dtype, device=rel.device))


def add_interval_logits(logits: torch.Tensor, rel: torch.Tensor, last: torch.Tensor,
                        pitch_offset: int) -> torch.Tensor:
    """logits (..., C) with the note-on classes (pitch_offset + 0..127) raised by :func:`interval_logits`."""
    lo, hi = pitch_offset, pitch_offset + N_PITCHES
    on = logits[..., lo:hi] + interval_logits(rel, last)
    return torch.cat([logits[..., :lo], on, logits[..., hi:]], dim=-1)


def add_tone_logits(logits: torch.Tensor, gate: torch.Tensor, tones: torch.Tensor, pitch_offset: int) -> torch.Tensor:
    """logits (..., C) with every note-on class raised by the chord-tone head: gate (..., 2) weighs
    the sounding chord's root and tones, tones (..., 2, 12) their pitch-class indicators; a pitch
    gets the bias of its pitch class, in every octave."""
    bias = (gate[..., None] * tones.to(gate.dtype)).sum(-2)                      # (..., 12)
    bias = bias.tile((1,) * (bias.ndim - 1) + (11,))[..., :N_PITCHES]
    lo, hi = pitch_offset, pitch_offset + N_PITCHES
    return torch.cat([logits[..., :lo], logits[..., lo:hi] + bias, logits[..., hi:]], dim=-1)


class LSTMDecoder(nn.Module):
    """Autoregressive LSTM over tokens, conditioned on a vector at every step.

    The flat decoder uses it once over the whole phrase; the hierarchical
    decoder uses it per bar with the bar's conductor embedding as condition.

    With ``interval_range`` K > 0 a second head scores the interval from the latest note
    (-K..K semitones) and adds it to the absolute pitch logits: melodic intervals are shared by
    every key, so the model need not learn them once per absolute pitch. The output is still one
    softmax over the same classes, so likelihoods stay comparable.

    With ``tone_head`` a third head weighs the sounding chord's root and chord tones (a per-step
    input, :func:`add_tone_logits`): the decoder can lean on the harmony by pitch class, in any key,
    without learning each chord's pitches through its embedding. It starts at zero.
    """

    def __init__(self, n_classes: int, embed_dim: int, cond_dim: int, hidden: int, layers: int, dropout: float = 0.0,
                 pos_dim: int = 0, interval_range: int = 0, steps_per_bar: int = 16, pitch_offset: int = 2,
                 extra_dim: int = 0, tone_head: bool = False):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.extra_dim = extra_dim   # a per-step input after the others (a chord embedding); zeros when absent
        self.steps_per_bar, self.pitch_offset = steps_per_bar, pitch_offset
        self.embed = nn.Embedding(n_classes + 1, embed_dim)  # last id = start-of-sequence
        self.start_id = n_classes
        # optional learned embedding of the step's position in its bar (rhythm is learned far sooner)
        self.pos = nn.Embedding(steps_per_bar, pos_dim) if pos_dim else None
        self.init = nn.Linear(cond_dim, 2 * layers * hidden)
        self.lstm = nn.LSTM(embed_dim + cond_dim + pos_dim + extra_dim, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        # Zaremba et al.'s recipe: dropout on the non-recurrent connections, i.e. the token embedding in,
        # between layers (above) and the top layer out. Training only; sampling runs in eval mode.
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_classes)
        self.interval = nn.Linear(hidden, 2 * interval_range + 1) if interval_range else None
        self.tones = nn.Linear(hidden, 2) if tone_head else None
        if self.tones is not None:
            nn.init.zeros_(self.tones.weight)
            nn.init.zeros_(self.tones.bias)

    def initial_state(self, cond: torch.Tensor):
        return _init_state(self.init, cond, self.layers, self.hidden)

    def forward(self, prev_tokens: torch.Tensor, cond: torch.Tensor, extra: torch.Tensor | None = None,
                tones: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced pass: prev_tokens (N, T) (start id allowed), cond (N, D), extra (N, T, De)
        or None, tones (N, T, 2, 12) for the chord-tone head or None -> logits (N, T, C)."""
        x = self.drop(self.embed(prev_tokens))
        parts = [x, cond[:, None, :].expand(-1, x.shape[1], -1)]
        if self.pos is not None:
            steps = torch.arange(x.shape[1], device=x.device) % self.steps_per_bar
            parts.append(self.pos(steps)[None].expand(x.shape[0], -1, -1))
        if self.extra_dim:
            parts.append(extra.to(x.dtype) if extra is not None else x.new_zeros(*x.shape[:2], self.extra_dim))
        y, _ = self.lstm(torch.cat(parts, dim=-1), self.initial_state(cond))
        y = self.drop(y)
        logits = self.out(y)
        if self.interval is not None:
            last = last_pitches(prev_tokens, self.start_id, self.pitch_offset)
            logits = add_interval_logits(logits, self.interval(y), last, self.pitch_offset)
        if self.tones is not None and tones is not None:
            logits = add_tone_logits(logits, self.tones(y), tones, self.pitch_offset)
        return logits

    def stepper(self) -> "CachedStepper":
        """Cached-state decoding, one step at a time (see :class:`CachedStepper`)."""
        return CachedStepper(self)


class CachedStepper:
    """Step-by-step decoding of an :class:`LSTMDecoder` with cached LSTM state.

    Same numbers as the decoder's teacher-forced pass, but built for one step at a
    time: the first layer's input gates for every token, every step-in-bar and the
    condition are precomputed, so a step costs one matmul per layer plus the output
    projection and never recomputes the prefix. Use under ``torch.no_grad()``.
    """

    def __init__(self, core: LSTMDecoder):
        lstm = core.lstm
        e = core.embed.embedding_dim
        p = core.pos.embedding_dim if core.pos is not None else 0
        w0 = lstm.weight_ih_l0
        x = core.extra_dim
        w_tok, self.w_cond, w_pos, self.w_extra = w0.split([e, w0.shape[1] - e - p - x, p, x], dim=1)
        self.tok_gates = core.embed.weight @ w_tok.T                          # (C + 1, 4H)
        self.pos_gates = core.pos.weight @ w_pos.T if p else None             # (S, 4H)
        self.bias0 = lstm.bias_ih_l0 + lstm.bias_hh_l0
        self.w_hh0 = lstm.weight_hh_l0.T.contiguous()
        self.upper = [tuple(getattr(lstm, f"{name}_l{k}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                      for k in range(1, lstm.num_layers)]
        self.out_w, self.out_b = core.out.weight.T.contiguous(), core.out.bias
        self.core = core

    def start(self, cond: torch.Tensor, extra: torch.Tensor | None = None, tones: torch.Tensor | None = None):
        """cond (N, D), extra (N, T, De) or None, tones (N, T, 2, 12) or None -> state: per-layer h
        and c (N, H) lists, the condition's input gates (N, 4H), the latest pitch (N,) (-1: none
        yet), the per-step extra input's gates (N, T, 4H) or None and the tones."""
        h, c = self.core.initial_state(cond)
        last = torch.full((cond.shape[0],), -1, dtype=torch.long, device=cond.device)
        extra_gates = extra.to(self.w_extra.dtype) @ self.w_extra.T if extra is not None and self.core.extra_dim else None
        tones = tones if self.core.tones is not None else None
        return (list(h.unbind(0)), list(c.unbind(0)), torch.addmm(self.bias0, cond, self.w_cond.T), last, extra_gates,
                tones)

    def step(self, prev_token: torch.Tensor, position: int, state):
        """prev_token (N,), the step's index in the phrase -> (logits (N, C), new state)."""
        h, c, cond_gates, last, extra_gates, tones = state
        offset = self.core.pitch_offset
        on = (prev_token >= offset) & (prev_token < self.core.start_id)
        last = torch.where(on, prev_token - offset, last)
        g = self.tok_gates[prev_token] + cond_gates
        if extra_gates is not None:
            g = g + extra_gates[:, position]
        if self.pos_gates is not None:
            g = g + self.pos_gates[position % self.core.steps_per_bar]
        i, f, gg, o = torch.addmm(g, h[0], self.w_hh0).chunk(4, dim=1)
        c_new = [torch.sigmoid(f) * c[0] + torch.sigmoid(i) * torch.tanh(gg)]
        h_new = [torch.sigmoid(o) * torch.tanh(c_new[0])]
        for k, weights in enumerate(self.upper, start=1):
            hk, ck = torch.lstm_cell(h_new[-1], (h[k], c[k]), *weights)
            h_new.append(hk)
            c_new.append(ck)
        logits = torch.addmm(self.out_b, h_new[-1], self.out_w)
        if self.core.interval is not None:
            logits = add_interval_logits(logits, self.core.interval(h_new[-1]), last, self.core.pitch_offset)
        if tones is not None:
            logits = add_tone_logits(logits, self.core.tones(h_new[-1]), tones[:, position], self.core.pitch_offset)
        return logits, (h_new, c_new, cond_gates, last, extra_gates, tones)


def _pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


class FlatDecoder(nn.Module):
    """z (B, Z) + style (B, Ds) -> logits (B, T, C): MusicVAE's flat LSTM decoder."""

    def __init__(self, n_classes: int, embed_dim: int, z_dim: int, style_dim: int, hidden: int, layers: int,
                 steps: int, dropout: float = 0.0, pos_dim: int = 0, interval_range: int = 0,
                 steps_per_bar: int = 16, pitch_offset: int = 2, extra_dim: int = 0, tone_head: bool = False):
        super().__init__()
        self.steps = steps
        self.core = LSTMDecoder(n_classes, embed_dim, z_dim + style_dim, hidden, layers, dropout, pos_dim,
                                interval_range, steps_per_bar, pitch_offset, extra_dim, tone_head)

    def forward(self, z, style_vec, targets, extra=None, tones=None):
        """Teacher-forced logits for targets (B, T): inputs are targets shifted right; extra (B, T, De)
        is a per-step input (the chords) and tones (B, T, 2, 12) the chord-tone head's, or None."""
        cond = torch.cat([z, style_vec], dim=-1)
        prev = torch.cat([torch.full_like(targets[:, :1], self.core.start_id), targets[:, :-1]], dim=1)
        return self.core(prev, cond, extra, tones)

    @torch.no_grad()
    def sample(self, z, style_vec, temperature: float = 0.0, generator=None, extra=None, tones=None):
        """Decode step by step, fed with its own outputs -> tokens (B, T) int64."""
        cond = torch.cat([z, style_vec], dim=-1)
        stepper = self.core.stepper()
        state = stepper.start(cond, extra, tones)
        tok = torch.full((z.shape[0],), self.core.start_id, dtype=torch.long, device=z.device)
        out = []
        for t in range(self.steps):
            logits, state = stepper.step(tok, t, state)
            tok = _pick(logits, temperature, generator)
            out.append(tok)
        return torch.stack(out, dim=1)


class HierDecoder(nn.Module):
    """MusicVAE's hierdec: a conductor LSTM emits one embedding per bar; a
    bottom LSTM decodes each bar from its embedding (state reset every bar).
    """

    def __init__(self, n_classes: int, embed_dim: int, z_dim: int, style_dim: int, hidden: int, layers: int,
                 conductor_hidden: int, conductor_layers: int, conductor_dim: int, bars: int, steps_per_bar: int,
                 dropout: float = 0.0, pos_dim: int = 0, interval_range: int = 0, pitch_offset: int = 2):
        super().__init__()
        self.bars, self.steps_per_bar = bars, steps_per_bar
        self.cond_hidden, self.cond_layers = conductor_hidden, conductor_layers
        self.cond_init = nn.Linear(z_dim + style_dim, 2 * conductor_layers * conductor_hidden)
        self.conductor = nn.LSTM(z_dim + style_dim, conductor_hidden, num_layers=conductor_layers, batch_first=True)
        self.to_bar = nn.Linear(conductor_hidden, conductor_dim)
        self.core = LSTMDecoder(n_classes, embed_dim, conductor_dim + style_dim, hidden, layers, dropout, pos_dim,
                                interval_range, steps_per_bar, pitch_offset)

    def bar_embeddings(self, z, style_vec) -> torch.Tensor:
        """(B, Z), (B, Ds) -> per-bar conditions (B, U, conductor_dim + Ds)."""
        cz = torch.cat([z, style_vec], dim=-1)
        state = _init_state(self.cond_init, cz, self.cond_layers, self.cond_hidden)
        y, _ = self.conductor(cz[:, None, :].expand(-1, self.bars, -1).contiguous(), state)
        bars = torch.tanh(self.to_bar(y))
        return torch.cat([bars, style_vec[:, None, :].expand(-1, self.bars, -1)], dim=-1)

    def forward(self, z, style_vec, targets):
        """Teacher-forced logits for targets (B, T=U*S), one fused LSTM call over all bars."""
        b = targets.shape[0]
        conds = self.bar_embeddings(z, style_vec)                       # (B, U, D)
        prev = torch.cat([torch.full_like(targets[:, :1], self.core.start_id), targets[:, :-1]], dim=1)
        prev = prev.reshape(b * self.bars, self.steps_per_bar)          # bar k starts from bar k-1's last token
        logits = self.core(prev, conds.reshape(b * self.bars, -1))      # (B*U, S, C)
        return logits.reshape(b, self.bars * self.steps_per_bar, -1)

    @torch.no_grad()
    def sample(self, z, style_vec, temperature: float = 0.0, generator=None):
        conds = self.bar_embeddings(z, style_vec)
        stepper = self.core.stepper()
        tok = torch.full((z.shape[0],), self.core.start_id, dtype=torch.long, device=z.device)
        out = []
        for u in range(self.bars):
            state = stepper.start(conds[:, u])                          # the bottom LSTM restarts every bar
            for t in range(self.steps_per_bar):
                logits, state = stepper.step(tok, t, state)
                tok = _pick(logits, temperature, generator)
                out.append(tok)
        return torch.stack(out, dim=1)
