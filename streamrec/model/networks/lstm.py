"""The seed's session LSTM with attention pooling, plus an exact fast path for training.

Two ways to start the LSTM on a left-padded window (``ModelConfig.window_start``):

``padding`` (the seed): the LSTM runs over the padding steps too. Because the padding
embedding is zero, the state it reaches after ``k`` padding steps is the same for every
example, but it depends on ``k``, so the state at every click changes when the next click
shortens the padding: no per-session state can be carried from one click to the next.

``zero``: the LSTM starts from the zero state at the window's first click (padding steps are
skipped; attention already ignores them). The state after a click then depends only on the
clicks, so a consumer can carry it forward one step per click (``networks.incremental``) and get
exactly the model's function. Full windows (25 clicks) are computed identically by both.

The fast path (``forward_bucketed``) runs the LSTM only over the real items of each group of
equal-length prefixes, starting from the matching start state (padding states are computed
once). In eval mode it gives the same logits as ``forward`` (a test checks it to 1e-5); in
train mode the only difference is that inter-layer dropout is not applied to padding steps,
which carry no information.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from streamrec.config import WINDOW_STARTS


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters (the seed's defaults)."""

    n_items: int = 5_000
    embed_dim: int = 64
    hidden_size: int = 128
    num_layers: int = 2
    dropout: float = 0.3
    window_start: str = "zero"  # "padding": the seed's (no incremental scoring), see above

    def to_dict(self) -> dict[str, float | int | str]:
        """Plain dict for checkpoints."""
        return asdict(self)

    def validate(self) -> None:
        """Raise ValueError on impossible values."""
        if self.n_items < 1 or self.embed_dim < 1 or self.hidden_size < 1 or self.num_layers < 1:
            raise ValueError(f"model sizes must be positive: {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1): {self.dropout}")
        if self.window_start not in WINDOW_STARTS:
            raise ValueError(
                f"window_start must be one of {', '.join(WINDOW_STARTS)}: {self.window_start!r}"
            )


class SessionLSTMRecommender(nn.Module):
    """Embedding -> multi-layer LSTM -> masked attention pooling -> linear over the catalog.

    Inputs are left-padded windows of item ids shifted by one (0 is padding).
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        config = config or ModelConfig()
        config.validate()
        self.config = config
        self.n_items = config.n_items
        self.hidden_size = config.hidden_size
        self.item_embedding = nn.Embedding(config.n_items + 1, config.embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(
            config.embed_dim,
            config.hidden_size,
            config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.attention_vector = nn.Parameter(torch.randn(config.hidden_size))
        self.attention_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.hidden_size, config.n_items)
        self._padding_cache: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def zero_start(self) -> bool:
        """True when the LSTM starts from the zero state at each window's first click."""
        return self.config.window_start == "zero"

    def forward(self, x: torch.Tensor, project: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: (batch, max_len) left-padded ids -> (logits, attention weights by position);
        ``project=False``: the session vectors before the output layer instead of logits.

        ``padding`` models: the seed's computation, the LSTM over all ``max_len`` steps.
        ``zero`` models: one pass over right-aligned windows (clicks first, padding after,
        where it cannot reach the clicks' states), weights mapped back to the input positions.
        """
        mask = x != 0
        if not self.zero_start:
            embedded = self.dropout(self.item_embedding(x))
            lstm_out, _ = self.lstm(embedded)
            return self._pool_and_project(lstm_out, mask, project)
        max_len = x.shape[1]
        n_pad = max_len - mask.sum(dim=1, keepdim=True)
        positions = torch.arange(max_len, device=x.device).unsqueeze(0)
        to_clicks_first = (positions + n_pad) % max_len
        lstm_out, _ = self.lstm(self.dropout(self.item_embedding(x.gather(1, to_clicks_first))))
        logits, weights = self._pool_and_project(lstm_out, mask.gather(1, to_clicks_first), project)
        return logits, weights.gather(1, (positions - n_pad) % max_len)

    def _pool_and_project(
        self, lstm_out: torch.Tensor, mask: torch.Tensor, project: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not project:
            context, weights = self.pool_context(lstm_out, self.attention_scores(lstm_out), mask)
            return self.dropout(context), weights
        return self.pool(lstm_out, self.attention_scores(lstm_out), mask)

    # -- the step/pool API: what a scorer that carries state between clicks needs ----------
    def step(
        self,
        items: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor],
        lengths: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Run the LSTM over ``items`` (B, T) model ids from ``state`` ((h, c), each
        (layers, B, hidden)). ``lengths`` (B,) on the CPU: rows shorter than T end early
        (their final state is taken at their own end; outputs past it are zero).
        Returns the top layer's outputs (B, T, hidden) and the final state."""
        embedded = self.dropout(self.item_embedding(items))
        if lengths is None:
            out, final = self.lstm(embedded, state)
            return out, final
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        packed_out, final = self.lstm(packed, state)
        out, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=items.shape[1])
        return out, final

    def attention_scores(self, outputs: torch.Tensor) -> torch.Tensor:
        """Unnormalised attention score of each position's LSTM output: (..., hidden) -> (...).
        A position's score depends on its own output only, so it can be cached with it."""
        projected = torch.tanh(self.attention_proj(outputs))
        return (projected * self.attention_vector).sum(dim=-1)

    def pool(
        self, outputs: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention pooling of ``outputs`` (B, T, hidden) with ``scores`` (B, T) over the
        positions where ``mask`` (B, T) is true, then the output layer: (logits, weights)."""
        context, weights = self.pool_context(outputs, scores, mask)
        return self.output(self.dropout(context)), weights

    def pool_context(
        self, outputs: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``pool`` before the output layer: (context (B, hidden), weights)."""
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
        # a window with no known click (a stream's click on an item the model does not know
        # yet is padding) pools nothing rather than NaN
        weights = weights.nan_to_num(0.0)
        return torch.bmm(weights.unsqueeze(1), outputs).squeeze(1), weights

    def output_table(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The output layer as item embeddings (n_items, hidden) and biases (n_items,)."""
        return self.output.weight, self.output.bias

    def train(self, mode: bool = True) -> SessionLSTMRecommender:
        """Switch mode. Weights change only in training (or by ``load_state_dict``), so the
        cached padding states are dropped when training starts, not on every ``eval()``."""
        if mode:
            self._padding_cache = None
        return super().train(mode)

    def load_state_dict(self, *args: Any, **kwargs: Any) -> Any:
        """Load weights (and drop cached padding states)."""
        self._padding_cache = None
        return super().load_state_dict(*args, **kwargs)

    def padding_states(self, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
        """LSTM (h, c) per layer after k = 0..max_len padding steps: shapes (max_len+1, L, H).

        Padding embeddings are zero, so these states are shared by every example. Eval mode
        only (inter-layer dropout is not applied); cached until the weights or mode change.
        """
        cache = self._padding_cache
        if cache is not None and cache[0].shape[0] > max_len:
            return cache
        layers, hidden = self.config.num_layers, self.hidden_size
        ref = self.output.weight
        h = [ref.new_zeros(hidden) for _ in range(layers)]
        c = [ref.new_zeros(hidden) for _ in range(layers)]
        hs, cs = [torch.stack(h)], [torch.stack(c)]
        with torch.no_grad():
            for _ in range(max_len):
                layer_input: torch.Tensor | None = None
                for layer in range(layers):
                    gates = getattr(self.lstm, f"weight_hh_l{layer}") @ h[layer]
                    gates = gates + getattr(self.lstm, f"bias_ih_l{layer}")
                    gates = gates + getattr(self.lstm, f"bias_hh_l{layer}")
                    if layer_input is not None:
                        gates = gates + getattr(self.lstm, f"weight_ih_l{layer}") @ layer_input
                    i, f, g, o = gates.chunk(4)
                    c[layer] = torch.sigmoid(f) * c[layer] + torch.sigmoid(i) * torch.tanh(g)
                    h[layer] = torch.sigmoid(o) * torch.tanh(c[layer])
                    layer_input = h[layer]
                hs.append(torch.stack(h))
                cs.append(torch.stack(c))
        states = (torch.stack(hs), torch.stack(cs))
        if not self.training:
            self._padding_cache = states
        return states

    def _initial_state(
        self, n_pad: int, batch: int, max_len: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(h0, c0), each (layers, batch, hidden): the state after ``n_pad`` padding steps."""
        if self.zero_start:
            shape = (self.config.num_layers, batch, self.hidden_size)
            return self.output.weight.new_zeros(shape), self.output.weight.new_zeros(shape)
        if self.training:
            # Differentiable: run the LSTM itself over the padding (dropout as in ``forward``).
            ref = self.output.weight
            shape = (self.config.num_layers, 1, self.hidden_size)
            h, c = ref.new_zeros(shape), ref.new_zeros(shape)
            if n_pad > 0:
                zeros = ref.new_zeros((1, n_pad, self.config.embed_dim))
                _, (h, c) = self.lstm(zeros)
            return h.expand(-1, batch, -1).contiguous(), c.expand(-1, batch, -1).contiguous()
        pad_h, pad_c = self.padding_states(max_len)
        return (
            pad_h[n_pad].unsqueeze(1).expand(-1, batch, -1).contiguous(),
            pad_c[n_pad].unsqueeze(1).expand(-1, batch, -1).contiguous(),
        )

    def forward_bucketed(
        self, windows: torch.Tensor, lengths: torch.Tensor, project: bool = True
    ) -> torch.Tensor:
        """Logits for left-padded ``windows`` (B, T) whose real lengths are ``lengths`` (B,)
        (``project=False``: the session vectors before the output layer).

        Same function as ``forward`` (to float rounding in eval mode) at a fraction of the LSTM
        work: each group of equal-length prefixes runs only over its real items, starting from
        the state the padding leads to. Lengths must be >= 1.
        """
        batch, max_len = windows.shape
        groups = torch.unique(lengths).tolist()
        logits: torch.Tensor | None = None
        for length in groups:
            if not 1 <= length <= max_len:
                raise ValueError(f"prefix lengths must be in 1..{max_len}, got {length}")
            rows = (lengths == length).nonzero(as_tuple=True)[0] if len(groups) > 1 else None
            items = (
                windows[:, max_len - length :]
                if rows is None
                else windows[rows, max_len - length :]
            )
            h0, c0 = self._initial_state(max_len - length, items.shape[0], max_len)
            lstm_out, _ = self.lstm(self.dropout(self.item_embedding(items)), (h0, c0))
            mask = torch.ones(items.shape, dtype=torch.bool, device=items.device)
            group_logits, _ = self._pool_and_project(lstm_out, mask, project)
            if rows is None:
                return group_logits
            if logits is None:
                logits = group_logits.new_empty((batch, group_logits.shape[1]))
            logits[rows] = group_logits
        assert logits is not None
        return logits


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
