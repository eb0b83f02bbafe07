"""NARM (Li et al., "Neural Attentive Session-based Recommendation", CIKM 2017): a GRU over
a session's clicks read two ways, then scored against every item with a bilinear decoder.

- global encoder: the last hidden state ``h_t`` (the user's sequential behaviour);
- local encoder: ``sum_j alpha_j h_j`` with ``alpha_j = v^T sigmoid(A1 h_t + A2 h_j)`` over
  the window's hidden states (the session's main purpose; the paper's weights are not
  normalised by a softmax);
- the session representation ``c = [h_t; local]`` scores item ``i`` as ``emb_i^T B c``.

The defaults of ``NarmConfig`` are the paper's: embedding 50, hidden 100, dropout 0.25
between the embedding and the GRU and 0.5 before the decoder, Adam at 1e-3, batch 512.

As with StreamRec's other recurrent models, a window's GRU runs from zero at its first
click and skips the left padding, so a window's scores do not depend on its padding and the
online path (the same window) equals the offline one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


@dataclass(frozen=True)
class NarmConfig:
    """Hyper-parameters of the network and of its training."""

    n_items: int
    embedding: int = 50
    hidden: int = 100
    dropout_embed: float = 0.25
    dropout_context: float = 0.5
    learning_rate: float = 1e-3
    batch_size: int = 512
    epochs: int = 20  # within the paper's ~10-30; a few CPU minutes on YOOCHOOSE-100k
    seed: int = 42

    def validate(self) -> None:
        """Raise ``ValueError`` on a setting the method does not define."""
        problems = []
        if self.n_items < 1 or self.embedding < 1 or self.hidden < 1:
            problems.append("n_items, embedding and hidden must be positive")
        for name in ("dropout_embed", "dropout_context"):
            if not 0.0 <= getattr(self, name) < 1.0:
                problems.append(f"{name} must be in [0, 1)")
        if self.learning_rate <= 0 or self.batch_size < 1 or self.epochs < 1:
            problems.append("learning_rate, batch_size and epochs must be positive")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as a checkpoint stores them."""
        return asdict(self)


class NarmNetwork(nn.Module):
    """Item embeddings, the GRU, the attention (``A1``, ``A2``, ``v``) and the decoder ``B``."""

    def __init__(self, config: NarmConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.n_items = config.n_items
        hidden = config.hidden
        # model ids: row 0 is padding, item i (dense) is row i + 1
        self.item_emb = nn.Embedding(config.n_items + 1, config.embedding, padding_idx=0)
        self.gru = nn.GRU(config.embedding, hidden, batch_first=True)
        self.a1 = nn.Linear(hidden, hidden, bias=False)  # applied to h_t
        self.a2 = nn.Linear(hidden, hidden, bias=False)  # applied to every h_j
        self.v = nn.Linear(hidden, 1, bias=False)
        self.bilinear = nn.Linear(2 * hidden, config.embedding, bias=False)  # B
        self.drop_embed = nn.Dropout(config.dropout_embed)
        self.drop_context = nn.Dropout(config.dropout_context)

    def hidden_states(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """GRU states (B, L, hidden) of left-padded windows, trimmed to their longest click
        run (L), each row's states right-aligned with zeros where it has padding, and the
        mask (B, L) of real clicks. Every row's GRU starts from zero at its first click."""
        lengths = (windows > 0).sum(dim=1)
        width = max(int(lengths.max()), 1)
        windows = windows[:, -width:]
        mask = windows > 0
        embedded = self.drop_embed(self.item_emb(windows))
        if bool(mask.all()):
            states, _ = self.gru(embedded)
            return states, mask
        # left padding -> right padding, so the packed GRU starts at each first click
        shift = (width - lengths).clamp(max=width - 1)
        columns = torch.arange(width, device=windows.device)
        gather = ((columns[None, :] + shift[:, None]) % width)[:, :, None]
        right = embedded.gather(1, gather.expand(-1, -1, embedded.shape[2]))
        packed = pack_padded_sequence(
            right, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        out, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=width)
        # right padding -> left padding again (the inverse rotation)
        back = ((columns[None, :] - shift[:, None]) % width)[:, :, None]
        states = out.gather(1, back.expand(-1, -1, out.shape[2]))
        return states * mask[:, :, None].to(states.dtype), mask

    def attention(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The local encoder's weights ``alpha`` (B, L) over the hidden states (B, L, hidden)
        of left-padded windows, both as ``hidden_states`` aligns them (zero at padding).
        The weights are the paper's: not normalised, and of either sign."""
        states, mask = self.hidden_states(windows)
        last = states[:, -1, :]  # h_t: windows end at their last click
        energy = torch.sigmoid(self.a1(last)[:, None, :] + self.a2(states))
        return self.v(energy).squeeze(2) * mask.to(states.dtype), states

    def session_representation(self, windows: torch.Tensor) -> torch.Tensor:
        """``c = [h_t; sum_j alpha_j h_j]`` (B, 2 * hidden) of left-padded windows."""
        alpha, states = self.attention(windows)
        local = (alpha[:, :, None] * states).sum(dim=1)
        return torch.cat([states[:, -1, :], local], dim=1)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Scores (B, n_items) of every item: ``emb_items @ B @ c``."""
        return self.window_vectors(windows) @ self.item_emb.weight[1:].T

    def window_vectors(self, windows: torch.Tensor) -> torch.Tensor:
        """Session vectors ``B @ c`` (B, embedding) (``EmbeddingScoring``)."""
        return self.bilinear(self.drop_context(self.session_representation(windows)))

    def output_table(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The item embeddings (n_items, embedding) by dense id; no bias."""
        return self.item_emb.weight[1:], None

    def window_scores(self, windows: torch.Tensor) -> torch.Tensor:
        """Scores (B, n_items) of left-padded windows of model ids (``NetworkScorer``)."""
        return self(windows)
