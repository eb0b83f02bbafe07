"""GRU4Rec (Hidasi et al., ICLR 2016; Hidasi & Karatzoglou, CIKM 2018): a GRU over a
session's clicks whose hidden state scores every item by a dot product with its output
embedding plus a bias.

The defaults of ``Gru4RecConfig`` are the authors' best published RSC15 (YOOCHOOSE) setting
for cross-entropy with shared embeddings (``paramfiles/rsc15_xe_shared_100_best.py`` of
their official PyTorch port): one GRU layer of 100 units, the input embedding tied to the
output one (``constrained_embedding``), batch 32, Adagrad with momentum 0.2 and learning
rate 0.2, hidden dropout 0.4, 2048 popularity^0.5-sampled negatives with a logQ correction
of 1.0, 10 epochs.

The state after a window is the GRU run from zero over the window's clicks (left padding is
skipped): GRU4Rec itself scores with the state after the whole session, but StreamRec keeps
at most ``max_len`` clicks of a session online, so offline scoring uses the same window and
online equals offline.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

LOSSES = ("cross-entropy", "bpr-max")


@dataclass(frozen=True)
class Gru4RecConfig:
    """Hyper-parameters of the network and of its training (the authors' names)."""

    n_items: int
    layers: tuple[int, ...] = (100,)
    loss: str = "cross-entropy"
    constrained_embedding: bool = True  # input embedding = output embedding (Wy)
    embedding: int = 0  # > 0: a separate input embedding of this size (unconstrained)
    dropout_p_embed: float = 0.0
    dropout_p_hidden: float = 0.4
    learning_rate: float = 0.2
    momentum: float = 0.2
    batch_size: int = 32
    n_sample: int = 2048
    sample_alpha: float = 0.5
    logq: float = 1.0  # cross-entropy: subtract logq * log(sampling probability)
    bpreg: float = 0.0  # bpr-max: score regularisation
    elu_param: float = 0.0  # bpr-max: ELU on the scores when > 0
    epochs: int = 10
    seed: int = 42

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(int(n) for n in self.layers))

    def validate(self) -> None:
        """Raise ``ValueError`` on a setting the method does not define."""
        problems = []
        if self.n_items < 1:
            problems.append("n_items must be positive")
        if not self.layers or min(self.layers) < 1:
            problems.append("layers must be one or more positive sizes")
        if self.loss not in LOSSES:
            problems.append(f"loss must be one of {', '.join(LOSSES)}")
        if not self.constrained_embedding and self.embedding < 1:
            problems.append(
                "an unconstrained model needs embedding > 0 (one-hot input is not supported)"
            )
        for name in ("dropout_p_embed", "dropout_p_hidden"):
            if not 0.0 <= getattr(self, name) < 1.0:
                problems.append(f"{name} must be in [0, 1)")
        if self.learning_rate <= 0 or self.momentum < 0:
            problems.append("learning_rate must be positive and momentum non-negative")
        if self.batch_size < 1 or self.n_sample < 0 or self.epochs < 1:
            problems.append("batch_size and epochs must be positive, n_sample non-negative")
        if self.sample_alpha < 0 or self.logq < 0 or self.bpreg < 0 or self.elu_param < 0:
            problems.append("sample_alpha, logq, bpreg and elu_param must be non-negative")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as a checkpoint stores them."""
        out = asdict(self)
        out["layers"] = list(self.layers)
        return out


def _glorot_blocks(weight: torch.Tensor, blocks: int, generator: torch.Generator) -> None:
    """Uniform Glorot init of each of ``blocks`` row blocks (the GRU's gates) separately."""
    rows = weight.shape[0] // blocks
    for b in range(blocks):
        block = weight[b * rows : (b + 1) * rows]
        sigma = math.sqrt(6.0 / (block.shape[0] + block.shape[1]))
        block.uniform_(-sigma, sigma, generator=generator)


class Gru4RecNetwork(nn.Module):
    """Item embeddings, a stack of GRU cells and the output layer (``Wy``, ``By``)."""

    def __init__(self, config: Gru4RecConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.n_items = config.n_items
        self.layers = config.layers
        top = config.layers[-1]
        self.item_out = nn.Embedding(config.n_items, top, sparse=True)  # Wy
        self.item_bias = nn.Embedding(config.n_items, 1, sparse=True)  # By
        self.item_in = (
            None
            if config.constrained_embedding
            else nn.Embedding(config.n_items, config.embedding, sparse=True)
        )
        n_input = top if config.constrained_embedding else config.embedding
        sizes = (n_input, *config.layers)
        self.cells = nn.ModuleList(
            nn.GRUCell(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)
        )
        self.drop_embed = nn.Dropout(config.dropout_p_embed)
        self.drop_hidden = nn.Dropout(config.dropout_p_hidden)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The authors' initialisation: uniform Glorot per gate block, zero biases."""
        generator = torch.Generator().manual_seed(self.config.seed)
        embeddings = [self.item_out.weight] + ([self.item_in.weight] if self.item_in else [])
        for weight in embeddings:
            _glorot_blocks(weight, 1, generator)
        self.item_bias.weight.zero_()
        for cell in self.cells:
            assert isinstance(cell, nn.GRUCell)
            _glorot_blocks(cell.weight_ih, 3, generator)
            _glorot_blocks(cell.weight_hh, 3, generator)
            cell.bias_ih.zero_()
            cell.bias_hh.zero_()

    @property
    def state_size(self) -> int:
        """Numbers in a session's state (every layer's hidden vector)."""
        return sum(self.layers)

    def zero_state(self, rows: int, device: torch.device | None = None) -> torch.Tensor:
        """The state before a session's first click: (rows, state_size) zeros."""
        return torch.zeros(rows, self.state_size, device=device or self.item_out.weight.device)

    def embed(self, items: torch.Tensor) -> torch.Tensor:
        """Input vectors of dense item ids."""
        table = self.item_out if self.item_in is None else self.item_in
        return self.drop_embed(table(items))

    def step(self, inputs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """One click per row: the new state (rows, state_size). In training mode the dropped
        out output of each layer is what it carries on, as in the authors' code."""
        parts = state.split(list(self.layers), dim=1)
        new = []
        x = inputs
        for cell, h in zip(self.cells, parts):
            x = self.drop_hidden(cell(x, h))
            new.append(x)
        return torch.cat(new, dim=1)

    def top(self, state: torch.Tensor) -> torch.Tensor:
        """The top layer's part of a state."""
        return state[:, -self.layers[-1] :]

    def score_all(self, state: torch.Tensor) -> torch.Tensor:
        """Scores (rows, n_items) of every item."""
        return self.top(state) @ self.item_out.weight.T + self.item_bias.weight.T

    def window_states(self, windows: torch.Tensor) -> torch.Tensor:
        """States after left-padded windows of model ids (0 = padding), the GRU run from zero
        over each window's clicks only."""
        state = self.zero_state(windows.shape[0], windows.device)
        items = (windows - 1).clamp(min=0)
        for t in range(windows.shape[1]):
            active = windows[:, t] > 0
            if not bool(active.any()):
                continue
            stepped = self.step(self.embed(items[:, t]), state)
            state = torch.where(active[:, None], stepped, state)
        return state

    def window_scores(self, windows: torch.Tensor) -> torch.Tensor:
        """Scores (B, n_items) of left-padded windows of model ids (``NetworkScorer``)."""
        return self.score_all(self.window_states(windows))

    def window_vectors(self, windows: torch.Tensor) -> torch.Tensor:
        """Session vectors (B, top): ``window_scores`` is their product with
        ``output_table`` (``EmbeddingScoring``)."""
        return self.top(self.window_states(windows))

    def output_table(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The output item embeddings (n_items, top) and biases (n_items,)."""
        return self.item_out.weight, self.item_bias.weight[:, 0]


def tied_scores(
    network: Gru4RecNetwork, inputs: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Input vectors of ``inputs`` and output vectors and biases of ``targets`` (one sparse
    lookup in the shared table when the embedding is constrained)."""
    if network.item_in is None:
        both = F.embedding(torch.cat([inputs, targets]), network.item_out.weight, sparse=True)
        embedded = network.drop_embed(both[: len(inputs)])
        out = both[len(inputs) :]
    else:
        embedded = network.embed(inputs)
        out = network.item_out(targets)
    return embedded, out, network.item_bias(targets).squeeze(1)
