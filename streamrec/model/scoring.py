"""The scoring contract: what every model and baseline offers, offline and online.

Two faces of one contract, both returning full-catalog scores (higher is better; ranks are
computed by ``evaluation.ranking`` with ties against the target):

- ``Scorer.score(batch)``: offline, a batch of prefixes (``PrefixBatch``: left-padded
  windows of model ids with their lengths, and where each prefix comes from). Offline
  evaluation, the baselines and the trained networks implement it.
- ``StreamingScorer.score_requests(requests)``: online, one request per click being scored
  (``ScoreRequest``: the session's key and its window of dense item ids after the click). A
  streaming scorer may carry per-session state between calls (``IncrementalScorer``), but it
  must return what the offline path returns for the same windows. ``WindowRecomputer``
  turns any offline ``Scorer`` into a streaming one by recomputing every window.

Two-stage retrieval (``model.retrieval``) sits behind the same contract: a scorer that
retrieves offers ``top_k`` (offline) and ``top_k_requests`` (online), and ``scorer_top_k`` /
``streaming_top_k`` are how every caller asks any scorer for its top-K, so the consumer and
the offline evaluation rank alike whether a model scores the whole catalog or candidates.

Item ids: *dense* ids are ``0..n_items-1`` (the catalog's); *model* ids are dense + 1, with
0 as padding, and appear only inside left-padded windows (``data.examples``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast, runtime_checkable

import numpy as np
import torch

from streamrec.model.data.examples import left_pad_window
from streamrec.model.evaluation.ranking import tail_ties

NO_SOURCE = -1  # session_index / position of a prefix that is not from a corpus (online)


class PrefixBatch(Protocol):
    """Prefixes to score: ``windows`` (B, max_len) left-padded model ids, ``lengths`` (B,)
    real clicks per window, ``session_index`` and ``position`` (B,) where each prefix comes
    from in its corpus (``NO_SOURCE`` online). ``PrefixExamples`` is one."""

    windows: np.ndarray
    lengths: np.ndarray
    session_index: np.ndarray
    position: np.ndarray

    def __len__(self) -> int: ...


class Scorer(Protocol):
    """Offline face: full-catalog scores for a batch of prefixes."""

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Scores (B, n_items); higher is better."""
        ...


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    """Score session ``key`` whose window (dense ids, oldest first, 1..max_len of them) is
    ``window``, i.e. its clicks up to and including the one being scored."""

    key: str
    window: tuple[int, ...]


@dataclass
class CacheCounters:
    """How a stateful streaming scorer served its requests: by reason, and evictions.

    Reasons: ``hit`` (steps from cached state), ``new`` (no entry for the session), ``stale``
    (an entry for another window: another consumer served the session, a click was missed,
    the window slid)."""

    by_reason: dict[str, int] = field(default_factory=dict)
    evictions: int = 0

    def count(self, reason: str) -> None:
        """Add one request served for ``reason``."""
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    def take(self) -> CacheCounters:
        """These counts, and start again from zero (for exporting deltas)."""
        taken = CacheCounters(dict(self.by_reason), self.evictions)
        self.by_reason.clear()
        self.evictions = 0
        return taken


class StreamingScorer(Protocol):
    """Online face: full-catalog scores for the clicks of a batch, in stream order (a
    session may appear several times, its clicks in order)."""

    @property
    def mode(self) -> str:
        """How windows are scored, for logs and metrics (e.g. 'incremental', 'full')."""
        ...

    def score_requests(self, requests: Sequence[ScoreRequest]) -> torch.Tensor:
        """Scores (len(requests), n_items)."""
        ...

    def cache_counters(self) -> CacheCounters | None:
        """Counters since the last call (stateful scorers), or None (stateless ones)."""
        ...

    def cached_sessions(self) -> int:
        """Sessions whose state is cached now (0 for stateless scorers)."""
        ...


@dataclass
class WindowBatch:
    """A ``PrefixBatch`` built from online windows (no corpus position)."""

    windows: np.ndarray
    lengths: np.ndarray
    session_index: np.ndarray
    position: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def from_windows(cls, windows: Sequence[Sequence[int]], max_len: int) -> WindowBatch:
        """Left-pad windows of dense ids into model-id rows."""
        padded = np.stack([left_pad_window(w, max_len) for w in windows])
        lengths = np.fromiter((min(len(w), max_len) for w in windows), np.int64, len(windows))
        unknown = np.full(len(windows), NO_SOURCE, dtype=np.int64)
        return cls(padded, lengths, unknown, unknown.copy())


class WindowScoring(Protocol):
    """A network that scores left-padded windows of model ids: (B, T) -> (B, n_items)."""

    def window_scores(self, windows: torch.Tensor) -> torch.Tensor:
        """Full-catalog scores of each window's next click."""
        ...


class NetworkScorer:
    """An offline ``Scorer`` for any network with ``window_scores``, in eval mode, no grad."""

    def __init__(self, network: torch.nn.Module, device: torch.device | str = "cpu") -> None:
        self.network = network.to(device).eval()
        self.device = torch.device(device)

    @torch.no_grad()
    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Scores (B, n_items) for the batch's windows."""
        windows = torch.from_numpy(np.asarray(batch.windows, dtype=np.int64)).to(self.device)
        return cast(WindowScoring, self.network).window_scores(windows)


class EmbeddingNetworkScorer(NetworkScorer):
    """A ``NetworkScorer`` whose network's scores are session vectors times an output table
    (``window_vectors``, ``output_table``): what two-stage retrieval needs."""

    @torch.no_grad()
    def vectors(self, batch: PrefixBatch) -> torch.Tensor:
        """Session vectors (B, d) of the batch's windows."""
        windows = torch.from_numpy(np.asarray(batch.windows, dtype=np.int64)).to(self.device)
        return cast(EmbeddingScoring, self.network).window_vectors(windows)

    def output_table(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Item embeddings (n_items, d) and biases (n_items,) or None."""
        return cast(EmbeddingScoring, self.network).output_table()


class EmbeddingScoring(Protocol):
    """A network whose ``window_scores`` are ``window_vectors @ table.T + bias``."""

    def window_vectors(self, windows: torch.Tensor) -> torch.Tensor:
        """Session vectors (B, d) of left-padded windows of model ids."""
        ...

    def output_table(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Item embeddings (n_items, d) and biases (n_items,) or None."""
        ...


class WindowRecomputer:
    """A ``StreamingScorer`` that recomputes every window with an offline ``Scorer``."""

    def __init__(self, scorer: Scorer, max_len: int) -> None:
        self.scorer = scorer
        self.max_len = max_len

    @property
    def mode(self) -> str:
        """Always 'full': every window is recomputed."""
        return "full"

    def score_requests(self, requests: Sequence[ScoreRequest]) -> torch.Tensor:
        """Scores of each request's whole window."""
        batch = WindowBatch.from_windows([r.window for r in requests], self.max_len)
        return self.scorer.score(batch)

    def cache_counters(self) -> CacheCounters | None:
        """Stateless: None."""
        return None

    def cached_sessions(self) -> int:
        """Stateless: 0."""
        return 0


@dataclass(frozen=True)
class TopK:
    """A top-K per row: ``items`` (B, k) dense ids and ``scores`` (B, k), best first, and
    ``ties`` (B,): how many items outside the list score exactly its k-th score."""

    items: torch.Tensor
    scores: torch.Tensor
    ties: torch.Tensor


def exact_top_k(scores: torch.Tensor, k: int) -> TopK:
    """The top-``k`` of full-catalog scores (B, n_items), with their tail ties."""
    top, items = scores.topk(k, dim=1)
    return TopK(items, top, tail_ties(scores, top))


@runtime_checkable
class RetrievingScorer(Protocol):
    """A ``Scorer`` that ranks retrieved candidates instead of the whole catalog."""

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Scores (B, n_items): the candidates' scores, ``-inf`` elsewhere."""
        ...

    def top_k(self, batch: PrefixBatch, k: int) -> TopK:
        """The top-``k`` among each row's candidates."""
        ...


@runtime_checkable
class RetrievingStreamingScorer(Protocol):
    """A ``StreamingScorer`` that ranks retrieved candidates."""

    def top_k_requests(self, requests: Sequence[ScoreRequest], k: int) -> TopK:
        """The top-``k`` among each request's candidates."""
        ...


def scorer_top_k(scorer: Scorer, batch: PrefixBatch, k: int) -> TopK:
    """Any offline scorer's top-``k``: its candidates' when it retrieves, else the catalog's."""
    if isinstance(scorer, RetrievingScorer):
        return scorer.top_k(batch, k)
    return exact_top_k(scorer.score(batch), k)


def streaming_top_k(scorer: StreamingScorer, requests: Sequence[ScoreRequest], k: int) -> TopK:
    """Any streaming scorer's top-``k``, as ``scorer_top_k`` offline."""
    if isinstance(scorer, RetrievingStreamingScorer):
        return scorer.top_k_requests(requests, k)
    return exact_top_k(scorer.score_requests(requests), k)
