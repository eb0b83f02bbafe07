"""Attention over prefix positions, read from a trained model of any architecture that has it.

A reader maps left-padded windows of model ids (B, T) to weights (B, T): zero at padding,
each row summing to 1 over the window's clicks.

- ``lstm-attn``: the softmax attention pooling over the LSTM's outputs (what the case study
  plots).
- ``narm``: the local encoder's weights ``alpha_j`` over the GRU's states. NARM does not
  normalise them and they may be negative, so a click's share is ``|alpha_j| / sum |alpha|``.
  The session representation also holds the last state ``h_t`` directly, outside attention.
- ``sasrec``: the last block's attention at the window's last click (the output that scores
  the next item) over that click and the earlier ones, averaged over heads.

Architectures without attention over positions (gru4rec, vsknn, hybrid, markov,
popularity) are refused with ``NoAttention``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from streamrec.model.networks.lstm import SessionLSTMRecommender
from streamrec.model.networks.narm import NarmNetwork
from streamrec.model.networks.sasrec import SasRecNetwork
from streamrec.model.zoo.base import SessionModel

SUPPORTED = ("lstm-attn", "narm", "sasrec")


class NoAttention(ValueError):
    """The model has no attention over prefix positions to explain."""


@dataclass(frozen=True)
class AttentionReader:
    """How to read one model's attention, and what the weights are."""

    architecture: str
    weights_are: str  # one line for the report
    read: Callable[[torch.Tensor], torch.Tensor]  # windows (B, T) -> weights (B, T)

    @torch.no_grad()
    def __call__(self, windows: torch.Tensor) -> torch.Tensor:
        """Weights (B, T) of left-padded ``windows`` (B, T): zero at padding, rows sum to 1."""
        return self.read(windows)


def attention_reader(model: SessionModel) -> AttentionReader:
    """The reader for ``model`` (``NoAttention`` for architectures without attention)."""
    network = getattr(model, "network", None)
    if isinstance(network, SessionLSTMRecommender):
        return AttentionReader(
            "lstm-attn",
            "softmax attention pooling over the LSTM outputs",
            lambda windows: network.eval()(windows)[1],
        )
    if isinstance(network, NarmNetwork):
        return AttentionReader(
            "narm",
            "|alpha_j| / sum |alpha| of the local encoder (NARM's weights are not normalised)",
            lambda windows: _narm_shares(network.eval(), windows),
        )
    if isinstance(network, SasRecNetwork):
        return AttentionReader(
            "sasrec",
            "last block's attention at the last click, mean over heads",
            network.eval().last_click_attention,
        )
    raise NoAttention(
        f"{model.architecture} models have no attention over prefix positions; explain "
        f"supports {', '.join(SUPPORTED)}"
    )


def _narm_shares(network: NarmNetwork, windows: torch.Tensor) -> torch.Tensor:
    alpha, _ = network.attention(windows)
    magnitude = alpha.abs()
    shares = magnitude / magnitude.sum(dim=1, keepdim=True).clamp(min=torch.finfo(alpha.dtype).tiny)
    width = windows.shape[1] - shares.shape[1]  # NARM trims windows to their longest click run
    return F.pad(shares, (width, 0)) if width > 0 else shares
