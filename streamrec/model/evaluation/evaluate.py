"""Vectorised offline evaluation: full ranking over the catalog, overall and per behaviour.

No per-example Python loop: each batch is scored in one call, ranks come from
``metrics.ranks_from_scores``, and ``GroupedTotals`` accumulates them. Nothing here knows
about training; the trainer passes an ``on_batch`` hook when it wants a validation loss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from streamrec.model.data.examples import PrefixExamples
from streamrec.model.evaluation.ranking import (
    TOP_K,
    GroupedTotals,
    ranks_from_scores,
    ranks_from_top_k,
)
from streamrec.model.networks.lstm import SessionLSTMRecommender
from streamrec.model.scoring import PrefixBatch, RetrievingScorer, Scorer

BatchHook = Callable[[torch.Tensor, torch.Tensor], None]
MIN_GROUP_SIZE = 64  # average rows per prefix length for the grouped pass to pay off


class ModelScorer:
    """A trained network as a ``Scorer`` (eval mode, no grad)."""

    def __init__(self, model: SessionLSTMRecommender, device: torch.device | str = "cpu") -> None:
        self.model = model.to(device).eval()
        self.device = torch.device(device)

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Logits (B, n_items) for the batch's windows."""
        return score_windows(self.model, batch.windows, batch.lengths, self.device)

    def vectors(self, batch: PrefixBatch) -> torch.Tensor:
        """Session vectors (B, hidden) for the batch's windows (``EmbeddingScorer``)."""
        return score_windows(self.model, batch.windows, batch.lengths, self.device, False)

    def output_table(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The output layer as item embeddings and biases."""
        return self.model.output_table()


@torch.no_grad()
def score_windows(
    model: SessionLSTMRecommender,
    windows: np.ndarray,
    lengths: np.ndarray,
    device: torch.device | str = "cpu",
    project: bool = True,
) -> torch.Tensor:
    """Logits for left-padded windows: the one scoring path, offline and online.

    Both computations below are the trained model's function (a test holds them to 1e-5);
    which is faster depends on the batch: one padded pass over all 25 steps, or one pass per
    group of equal prefix lengths over the real items only. Grouping wins when groups are
    large (offline evaluation visits examples in length order), the padded pass when a batch
    mixes many lengths in small numbers (online batches). ``project=False``: the session
    vectors before the output layer (``window_vectors``, two-stage retrieval).
    """
    was_training = model.training
    model.eval()
    w = torch.from_numpy(np.ascontiguousarray(windows)).to(device)
    if np.unique(lengths).size * MIN_GROUP_SIZE <= len(lengths):
        n = torch.from_numpy(np.ascontiguousarray(lengths)).to(device)
        logits = model.forward_bucketed(w, n, project)
    else:
        logits, _ = model(w, project)
    model.train(was_training)
    return logits


def evaluate(
    scorer: Scorer,
    examples: PrefixExamples,
    session_labels: Sequence[str | None],
    batch_size: int = 1024,
    on_batch: BatchHook | None = None,
) -> GroupedTotals:
    """Rank every example's target among all items; totals overall and per session label.

    Examples are visited in length order so a model scorer runs one LSTM call per batch.
    A scorer that retrieves candidates (``RetrievingScorer``) is ranked from its top-K, as
    the consumer ranks it online; ``on_batch`` then gets the top-K scores.
    """
    totals = GroupedTotals()
    order = np.argsort(examples.lengths, kind="stable")
    labels = np.asarray(session_labels, dtype=object)
    for start in range(0, len(order), batch_size):
        batch = examples.subset(order[start : start + batch_size])
        if isinstance(scorer, RetrievingScorer):  # ranks among the candidates, as online
            top = scorer.top_k(batch, TOP_K)
            scores = top.scores
            targets = torch.from_numpy(batch.targets).to(scores.device)
            ranks = ranks_from_top_k(top.items, top.scores, top.ties, targets)
        else:
            scores = scorer.score(batch)
            targets = torch.from_numpy(batch.targets).to(scores.device)
            ranks = ranks_from_scores(scores, targets)
        if on_batch is not None:
            on_batch(scores, targets)
        totals.add(ranks, list(labels[batch.session_index]) if len(labels) else [None] * len(batch))
    return totals
