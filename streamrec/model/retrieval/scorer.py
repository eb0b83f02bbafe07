"""Two-stage scoring behind the scoring contract (``model.scoring``).

The session vector of each window (the network's ``window_vectors``) goes to the IVF index
over the output item embeddings (``retrieval.index``), which returns ``candidates`` items;
those are re-scored exactly against the output table and the top-K served. Offline
(``RetrievalScorer.top_k``) and online (``RetrievalStreamingScorer.top_k_requests``) run
this one computation with the same index, so online equals offline with retrieval on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, cast

import numpy as np
import torch

from streamrec.config import ConfigError
from streamrec.model.evaluation.ranking import TOP_K, tail_ties
from streamrec.model.retrieval.index import IvfIndex, index_path, load_or_build
from streamrec.model.scoring import (
    CacheCounters,
    PrefixBatch,
    Scorer,
    ScoreRequest,
    TopK,
    WindowBatch,
)

DEFAULT_CANDIDATES = 200
NPROBE = 16


class EmbeddingScorer(Protocol):
    """An offline scorer whose scores are session vectors times an output table."""

    def vectors(self, batch: PrefixBatch) -> torch.Tensor:
        """Session vectors (B, d) of the batch's windows."""
        ...

    def output_table(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Item embeddings (n_items, d) and biases (n_items,) or None."""
        ...


class CandidateRanker:
    """Top-K of session vectors among their ANN candidates, re-scored exactly."""

    def __init__(self, scorer: EmbeddingScorer, index: IvfIndex, candidates: int) -> None:
        weight, bias = scorer.output_table()
        self.weight = weight.detach()
        self.bias = None if bias is None else bias.detach()
        self.index = index
        self.candidates = min(candidates, len(self.weight))

    @property
    def n_items(self) -> int:
        """Catalog size."""
        return len(self.weight)

    @torch.no_grad()
    def candidate_scores(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Candidate ids (B, K) and their exact scores (B, K), ``-inf`` for an empty slot."""
        found = self.index.search(vectors.detach().cpu().numpy().astype(np.float32),
                                  self.candidates)  # fmt: skip
        ids = torch.from_numpy(found).to(self.weight.device)
        safe = ids.clamp(min=0)
        scores = torch.bmm(self.weight[safe], vectors.unsqueeze(2)).squeeze(2)
        if self.bias is not None:
            scores = scores + self.bias[safe]
        return safe, scores.masked_fill(ids < 0, float("-inf"))

    def top_k(self, vectors: torch.Tensor, k: int) -> TopK:
        """The best ``k`` candidates of each row; ties counted among the candidates."""
        ids, scores = self.candidate_scores(vectors)
        top, where = scores.topk(k, dim=1)
        return TopK(ids.gather(1, where), top, tail_ties(scores, top))


class RetrievalScorer:
    """An offline ``RetrievingScorer``: a neural model's windows, ranked among candidates."""

    def __init__(self, base: EmbeddingScorer, ranker: CandidateRanker) -> None:
        self.base = base
        self.ranker = ranker

    def top_k(self, batch: PrefixBatch, k: int) -> TopK:
        """The top-``k`` among each window's candidates."""
        return self.ranker.top_k(self.base.vectors(batch), k)

    @torch.no_grad()
    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Scores (B, n_items): each row's candidates' exact scores, ``-inf`` elsewhere."""
        ids, scores = self.ranker.candidate_scores(self.base.vectors(batch))
        full = torch.full((len(ids), self.ranker.n_items), float("-inf"), device=scores.device)
        return full.scatter_(1, ids, scores)


class RetrievalStreamingScorer:
    """The online face: every window's session vector recomputed, ranked among candidates."""

    def __init__(self, scorer: RetrievalScorer, max_len: int) -> None:
        self.scorer = scorer
        self.max_len = max_len

    @property
    def mode(self) -> str:
        """'ann': full window recomputation, then retrieval."""
        return "ann"

    def _batch(self, requests: Sequence[ScoreRequest]) -> WindowBatch:
        return WindowBatch.from_windows([r.window for r in requests], self.max_len)

    def top_k_requests(self, requests: Sequence[ScoreRequest], k: int) -> TopK:
        """The top-``k`` among each request's candidates."""
        return self.scorer.top_k(self._batch(requests), k)

    def score_requests(self, requests: Sequence[ScoreRequest]) -> torch.Tensor:
        """Scores (len(requests), n_items), ``-inf`` outside the candidates."""
        return self.scorer.score(self._batch(requests))

    def cache_counters(self) -> CacheCounters | None:
        """Stateless: None."""
        return None

    def cached_sessions(self) -> int:
        """Stateless: 0."""
        return 0


def retrieval_scorer(
    base: object, candidates: int, checkpoint: Path | None, nprobe: int = NPROBE
) -> RetrievalScorer:
    """``base`` (a neural model's offline scorer) behind an ANN index over its output
    table, kept beside ``checkpoint`` when given. ``ConfigError`` when ``base`` has no
    session vectors (count and neighbourhood models score otherwise)."""
    if not (hasattr(base, "vectors") and hasattr(base, "output_table")):
        raise ConfigError(
            "--retrieval ann needs a neural model (lstm-attn, gru4rec, narm, sasrec) whose "
            "scores are session vectors times item embeddings; use --retrieval exact"
        )
    weight, bias = base.output_table()
    index = load_or_build(
        weight.detach().cpu().numpy(),
        None if bias is None else bias.detach().cpu().numpy(),
        index_path(checkpoint) if checkpoint is not None else None,
        nprobe,
    )
    return RetrievalScorer(base, CandidateRanker(base, index, candidates))


@torch.no_grad()
def recall_against_exact(
    ranked: RetrievalScorer, batches: Sequence[PrefixBatch], k: int = TOP_K
) -> float:
    """The share of the exact top-``k`` items that the two-stage top-``k`` also lists, over
    every row of ``batches`` (recall@k of retrieval against exact scoring)."""
    found = total = 0
    for batch in batches:
        approx = ranked.top_k(batch, k).items
        exact = cast(Scorer, ranked.base).score(batch).topk(k, dim=1).indices
        found += int((exact.unsqueeze(2) == approx.unsqueeze(1)).any(dim=2).sum())
        total += exact.numel()
    return found / max(total, 1)
