"""A sampled softmax for large catalogs: in-batch targets plus shared popularity negatives,
corrected by the log of each column's sampling probability (``--loss sampled``).

A full-catalog cross-entropy costs a (batch x n_items) product per step, which at a million
items is most of an epoch. Here each row's logits cover only the batch's own targets (every
row's target is a negative for the others, as in two-tower retrieval: Yi et al., RecSys
2019) and ``n_sample`` items drawn once per batch by training popularity ** ``alpha`` (as
GRU4Rec does: Hidasi & Karatzoglou, CIKM 2018). Popular items appear as negatives far more
often than uniform sampling would put them there, which biases scores against them;
subtracting ``log q`` (each column item's sampling probability) from its logit removes that
bias in expectation (the logQ correction). A column holding a row's own target item
elsewhere (an accidental hit) is masked out of that row.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

N_SAMPLE = 2048  # negatives shared by a batch
ALPHA = 0.5  # popularity exponent of the sampling distribution
CACHE = 1 << 20  # negatives drawn at once (one searchsorted call per ~500 batches)


class PopularitySampler:
    """Negatives by training popularity ** ``alpha``, and each item's log probability."""

    def __init__(
        self,
        targets: np.ndarray,
        n_items: int,
        n_sample: int = N_SAMPLE,
        alpha: float = ALPHA,
        seed: int = 42,
    ) -> None:
        """``targets``: the training targets (dense ids; negative ones are ignored)."""
        counts = np.bincount(targets[targets >= 0], minlength=n_items).astype(np.float64)
        weights = (counts + 1.0) ** alpha  # +1: an item never clicked can still be drawn
        probs = weights / weights.sum()
        self.n_sample = min(n_sample, n_items)
        self.log_q = torch.from_numpy(np.log(probs)).float()
        self._cdf = np.cumsum(probs)
        self._rng = np.random.default_rng(seed)
        self._cache = np.empty(0, dtype=np.int64)

    def draw(self) -> torch.Tensor:
        """``n_sample`` item ids (with replacement), shared by one batch."""
        if len(self._cache) < self.n_sample:
            u = self._rng.random(max(CACHE, self.n_sample)) * self._cdf[-1]
            self._cache = np.minimum(np.searchsorted(self._cdf, u), len(self._cdf) - 1)
        drawn, self._cache = self._cache[: self.n_sample], self._cache[self.n_sample :]
        return torch.from_numpy(drawn)


def sampled_softmax_loss(
    vectors: torch.Tensor,
    targets: torch.Tensor,
    table: tuple[torch.Tensor, torch.Tensor | None],
    sampler: PopularitySampler,
) -> torch.Tensor:
    """Mean cross-entropy of ``vectors`` (B, d) against their ``targets`` (B,) among the
    batch's targets and the sampler's negatives, logQ-corrected. ``table``: the output item
    embeddings (n_items, d) and biases (n_items,) or None."""
    weight, bias = table
    device = vectors.device
    columns = torch.cat([targets, sampler.draw().to(device)])
    logits = vectors @ weight[columns].T
    if bias is not None:
        logits = logits + bias[columns]
    logits = logits - sampler.log_q.to(device)[columns]
    rows = torch.arange(len(targets), device=device)
    accidental = columns.unsqueeze(0) == targets.unsqueeze(1)
    accidental[rows, rows] = False  # the row's own target column is its label
    logits = logits.masked_fill(accidental, float("-inf"))
    return F.cross_entropy(logits, rows)


def sampler_for(
    loss: str, targets: np.ndarray, n_items: int, seed: int
) -> PopularitySampler | None:
    """The sampler ``--loss`` asks for: None for ``full``."""
    if loss == "full":
        return None
    if loss != "sampled":
        raise ValueError(f"loss must be full or sampled, got {loss!r}")
    return PopularitySampler(targets, n_items, seed=seed)
