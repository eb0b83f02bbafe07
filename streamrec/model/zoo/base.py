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
from typing import Any, Protocol, TypeVar

import torch

from streamrec.config import Settings
from streamrec.model.data.loading import PreparedData
from streamrec.model.scoring import (
    EmbeddingNetworkScorer,
    NetworkScorer,
    Scorer,
    StreamingScorer,
    WindowRecomputer,
)
from streamrec.model.training.trainer import EpochRecord
from streamrec.model.zoo.updates import LearnerStart, StreamLearner
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
LearnerFactory = Callable[[LearnerStart], StreamLearner]


@dataclass(frozen=True)
class Architecture:
    """One entry of the model zoo. ``learner`` builds its ``StreamLearner`` (None: it cannot
    update from the stream yet); ``update_kind`` says how it updates (``exact`` or
    ``fine-tune``, ``zoo.updates.UPDATE_KINDS``)."""

    name: str
    summary: str  # one line for --help and the docs, naming the source paper
    train: Callable[[TrainingRun], TrainOutcome]
    load: Loader  # (config, state, n_items, device) -> model
    learner: LearnerFactory | None = None
    update_kind: str | None = None


class NetworkModel:
    """What every neural ``SessionModel`` shares: its network on a device, the network's
    config and weights as the checkpoint's, its size. Subclasses add the architecture name
    and how it scores."""

    def __init__(self, network: Any, device: torch.device) -> None:
        self.network = network.to(device).eval()
        self.device = device

    @property
    def n_items(self) -> int:
        """Catalog size."""
        return int(self.network.n_items)

    def config(self) -> dict[str, Any]:
        """The network's hyper-parameters."""
        return dict(self.network.config.to_dict())

    def state(self) -> dict[str, Any]:
        """The network's weights."""
        return dict(self.network.state_dict())

    def n_parameters(self) -> int:
        """Trainable weights."""
        return sum(p.numel() for p in self.network.parameters() if p.requires_grad)

    def scorer(self) -> Scorer:
        """The network's ``window_scores`` over each prefix's window (``NetworkScorer``)."""
        if hasattr(self.network, "window_vectors"):
            return EmbeddingNetworkScorer(self.network, self.device)
        return NetworkScorer(self.network, self.device)

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """Window recomputation, exact by construction (architectures that can carry state
        from click to click override this)."""
        return WindowRecomputer(self.scorer(), max_len)


class NetworkConfig(Protocol):
    """A network's hyper-parameters: they know the catalog size and check themselves."""

    @property
    def n_items(self) -> int:
        """Catalog size."""
        ...

    def validate(self) -> None:
        """Raise ``ValueError`` on impossible values."""
        ...


def rebuild_network(
    config_type: Callable[..., NetworkConfig],
    network_type: Callable[[Any], torch.nn.Module],
    config: dict[str, Any],
    state: dict[str, Any],
    n_items: int,
) -> torch.nn.Module:
    """A network rebuilt from a checkpoint's config and weights, checked against the catalog
    size (``ValueError``/``RuntimeError`` when they disagree)."""
    network_config = config_type(**config)
    network_config.validate()
    if network_config.n_items != n_items:
        raise ValueError(f"catalog size {n_items} disagrees with its config")
    network = network_type(network_config)
    network.load_state_dict(state)
    return network


C = TypeVar("C", bound=NetworkConfig)
# Settings fields a neural architecture's own defaults give way to when they are set (non-zero)
RECIPE_OVERRIDES = ("epochs", "batch_size", "learning_rate")


def configure(config_type: Callable[..., C], settings: Settings, n_items: int) -> C:
    """An architecture's default hyper-parameters for ``n_items`` items and the run's seed,
    with ``--epochs``, ``--batch-size`` and ``--learning-rate`` where they are set."""
    changes: dict[str, Any] = {"n_items": n_items, "seed": settings.seed}
    changes.update({k: getattr(settings, k) for k in RECIPE_OVERRIDES if getattr(settings, k)})
    config = config_type(**changes)
    config.validate()
    return config


def network_loader(
    config_type: Callable[..., NetworkConfig],
    network_type: Callable[[Any], torch.nn.Module],
    model_type: Callable[[Any, torch.device], SessionModel],
) -> Loader:
    """An architecture's ``load``: rebuild its network from a checkpoint and wrap it."""

    def load(
        config: dict[str, Any], state: dict[str, Any], n_items: int, device: torch.device
    ) -> SessionModel:
        network = rebuild_network(config_type, network_type, config, state, n_items)
        return model_type(network, device)

    return load
