"""SASRec (Kang & McAuley, ICDM 2018): a causal self-attention encoder over a session's
clicks whose output at a click scores every item by a dot product with the item embeddings
(input and output embeddings tied, as in the paper).

The network follows the paper: item embeddings scaled by sqrt(hidden) plus learned
positional embeddings, ``blocks`` self-attention blocks (causal multi-head attention and a
point-wise two-layer feed-forward network, each behind a layer norm with a residual
connection and dropout; pre-norm as in the authors' code) and a final layer norm.

Alignment. Windows reach the network left-padded (model ids, 0 = padding). Positions are
counted from each window's first real click, padding keys are masked out of the attention
and padding inputs are zeroed, so a click's output depends only on the real clicks up to it
and on nothing else: not on padding, not on later clicks. Training on every position of a
window therefore sees exactly what offline scoring of each prefix's window computes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from streamrec.model.training.sampled import PopularitySampler, sampled_softmax_loss


@dataclass(frozen=True)
class SasRecConfig:
    """Hyper-parameters of the network and of its training."""

    n_items: int
    max_len: int = 25
    hidden: int = 64
    blocks: int = 2
    heads: int = 1
    dropout: float = 0.2
    learning_rate: float = 2e-3
    batch_size: int = 64
    epochs: int = 10
    weight_decay: float = 0.0
    seed: int = 42

    def validate(self) -> None:
        """Raise ``ValueError`` on a setting the method does not define."""
        problems = []
        if self.n_items < 1 or self.max_len < 1:
            problems.append("n_items and max_len must be positive")
        if self.hidden < 1 or self.blocks < 1 or self.heads < 1:
            problems.append("hidden, blocks and heads must be positive")
        elif self.hidden % self.heads:
            problems.append("hidden must be a multiple of heads")
        if not 0.0 <= self.dropout < 1.0:
            problems.append("dropout must be in [0, 1)")
        if self.learning_rate <= 0 or self.weight_decay < 0:
            problems.append("learning_rate must be positive and weight_decay non-negative")
        if self.batch_size < 1 or self.epochs < 1:
            problems.append("batch_size and epochs must be positive")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as a checkpoint stores them."""
        return asdict(self)


class CausalSelfAttention(nn.Module):
    """Multi-head scaled dot-product attention under a boolean mask (True = may attend)."""

    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)
        self.drop = nn.Dropout(dropout)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, H) -> (B, heads, T, H / heads)."""
        rows, steps, hidden = x.shape
        return x.view(rows, steps, self.heads, hidden // self.heads).transpose(1, 2)

    def weights(
        self, queries: torch.Tensor, keys: torch.Tensor, allowed: torch.Tensor
    ) -> torch.Tensor:
        """Attention weights (B, heads, T, T) of each query over the keys (before dropout):
        row ``t`` of a head sums to 1 over the keys ``allowed`` (B, T, T) for query ``t``."""
        q, k = self._split(self.query(queries)), self._split(self.key(keys))
        logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        logits = logits.masked_fill(~allowed[:, None], float("-inf"))
        return torch.softmax(logits, dim=-1)

    def forward(
        self, queries: torch.Tensor, keys: torch.Tensor, allowed: torch.Tensor
    ) -> torch.Tensor:
        """Attend from ``queries`` (B, T, H) over ``keys`` (B, T, H); ``allowed`` (B, T, T)."""
        rows, steps, hidden = queries.shape
        weights = self.drop(self.weights(queries, keys, allowed))
        mixed = (weights @ self._split(self.value(keys))).transpose(1, 2)
        return self.out(mixed.reshape(rows, steps, hidden))


class SasRecBlock(nn.Module):
    """One self-attention block: attention, then the point-wise feed-forward network."""

    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.attn_norm = nn.LayerNorm(hidden)
        self.attention = CausalSelfAttention(hidden, heads, dropout)
        self.ffn_norm = nn.LayerNorm(hidden)
        self.ffn = nn.Sequential(
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """The block's output (B, T, H); queries are normalised, keys are not (as the
        authors' code does)."""
        x = x + self.drop(self.attention(self.attn_norm(x), x, allowed))
        return x + self.drop(self.ffn(self.ffn_norm(x)))


class SasRecNetwork(nn.Module):
    """Item and positional embeddings, the attention blocks and the final layer norm."""

    def __init__(self, config: SasRecConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.n_items = config.n_items
        self.items = nn.Embedding(config.n_items + 1, config.hidden, padding_idx=0)  # model ids
        self.positions = nn.Embedding(config.max_len, config.hidden)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            SasRecBlock(config.hidden, config.heads, config.dropout) for _ in range(config.blocks)
        )
        self.final_norm = nn.LayerNorm(config.hidden)
        generator = torch.Generator().manual_seed(config.seed)
        with torch.no_grad():
            for table in (self.items.weight, self.positions.weight):
                table.normal_(0.0, config.hidden**-0.5, generator=generator)
            self.items.weight[0].zero_()

    def _inputs(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The first block's input (B, T, H), the real-click mask (B, T) and the attention
        mask (B, T, T) of left-padded windows, trimmed to the last ``max_len`` positions."""
        windows = windows[:, -self.config.max_len :]
        steps = windows.shape[1]
        real = windows > 0
        first = steps - real.sum(dim=1, keepdim=True)  # index of each window's first click
        slots = torch.arange(steps, device=windows.device)[None, :]
        position = (slots - first).clamp(min=0)
        x = self.items(windows) * math.sqrt(self.config.hidden) + self.positions(position)
        x = self.drop(x) * real[..., None]
        causal = torch.ones(steps, steps, dtype=torch.bool, device=windows.device).tril()
        allowed = causal[None] & real[:, None, :]
        allowed = allowed | torch.eye(steps, dtype=torch.bool, device=windows.device)[None]
        return x, real, allowed

    def encode(self, windows: torch.Tensor) -> torch.Tensor:
        """Hidden vectors (B, T, H) of left-padded windows (B, T) of model ids; padding rows
        hold values that no real position depends on."""
        x, real, allowed = self._inputs(windows)
        for block in self.blocks:
            x = block(x, allowed) * real[..., None]
        return self.final_norm(x)

    def last_click_attention(self, windows: torch.Tensor) -> torch.Tensor:
        """How the last block's attention at each window's last click spreads over the
        window's positions, averaged over heads: (B, T) for left-padded windows (B, T), zero
        at padding, each row summing to 1 (the click that scores the next item attends to
        itself and every earlier click of the window)."""
        x, real, allowed = self._inputs(windows)
        *earlier, last = self.blocks
        for block in earlier:
            x = block(x, allowed) * real[..., None]
        assert isinstance(last, SasRecBlock)
        weights = last.attention.weights(last.attn_norm(x), x, allowed)[:, :, -1, :].mean(dim=1)
        width = windows.shape[1] - weights.shape[1]  # positions trimmed off the front
        return F.pad(weights, (width, 0)) if width > 0 else weights

    def score_all(self, hidden: torch.Tensor) -> torch.Tensor:
        """Scores (..., n_items) of every item (dense ids) for hidden vectors (..., H)."""
        return hidden @ self.items.weight[1:].T

    def window_scores(self, windows: torch.Tensor) -> torch.Tensor:
        """Scores (B, n_items) at each left-padded window's last click (``NetworkScorer``)."""
        return self.score_all(self.window_vectors(windows))

    def window_vectors(self, windows: torch.Tensor) -> torch.Tensor:
        """Session vectors (B, H): the last click's hidden vector (``EmbeddingScoring``)."""
        return self.encode(windows)[:, -1]

    def output_table(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The item embeddings (n_items, H) by dense id; no bias."""
        return self.items.weight[1:], None


def sequence_loss(
    network: SasRecNetwork,
    windows: torch.Tensor,
    targets: torch.Tensor,
    sampler: PopularitySampler | None = None,
) -> torch.Tensor:
    """Mean full-catalog cross-entropy over the positions whose target (dense id) is not
    negative (with a ``sampler``: the sampled softmax over those positions)."""
    hidden = network.encode(windows)
    keep = targets >= 0
    if sampler is not None:
        return sampled_softmax_loss(hidden[keep], targets[keep], network.output_table(), sampler)
    return F.cross_entropy(network.score_all(hidden[keep]), targets[keep])
