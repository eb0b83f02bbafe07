"""What every architecture of the model zoo provides: a trained ``SessionModel`` and how to
train and load one.

A ``SessionModel`` is scored through the scoring contract (``model.scoring``): ``scorer()``
offline, ``streaming_scorer()`` online (incremental where the architecture allows it exactly,
else window recomputation). Its ``config()`` and ``state()`` (tensors and plain values only)
are what a checkpoint stores; the architecture's ``load`` rebuilds it from them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from streamrec.config import Settings
from streamrec.model.data.loading import PreparedData
from streamrec.model.scoring import Scorer, StreamingScorer
from streamrec.model.training.trainer import EpochRecord
from streamrec.progress import ProgressBoard


class SessionModel(Protocol):
    """A trained model of any architecture."""

    @property
    def architecture(self) -> str:
        """The registry name (e.g. ``lstm-attn``, ``markov``)."""
        ...

    @property
    def n_items(self) -> int:
        """Catalog size (dense ids ``0..n_items-1``)."""
        ...

    def config(self) -> dict[str, Any]:
        """Hyper-parameters, as a checkpoint stores them."""
        ...

    def state(self) -> dict[str, Any]:
        """Learned state (tensors and plain values), as a checkpoint stores it."""
        ...

    def n_parameters(self) -> int:
        """Learned numbers (weights, or table entries for count models)."""
        ...

    def scorer(self) -> Scorer:
        """Offline scoring of prefix batches."""
        ...

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """Online scoring of a click stream (``scoring``: 'incremental' or 'full')."""
        ...


@dataclass
class TrainingRun:
    """What an architecture's training gets: settings, data, device, a progress display."""

    settings: Settings
    data: PreparedData
    device: torch.device
    board: ProgressBoard


@dataclass
class TrainOutcome:
    """A trained model, its per-epoch history (one record for models fitted in one pass) and
    the recipe that made it."""

    model: SessionModel
    history: list[EpochRecord]
    recipe: dict[str, Any]


Loader = Callable[[dict[str, Any], dict[str, Any], int, torch.device], SessionModel]


@dataclass(frozen=True)
class Architecture:
    """One entry of the model zoo."""

    name: str
    summary: str  # one line for --help and the README, naming the source paper
    train: Callable[[TrainingRun], TrainOutcome]
    load: Loader  # (config, state, n_items, device) -> model
