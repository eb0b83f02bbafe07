"""The model zoo: every architecture StreamRec trains, evaluates and serves, by name."""

from __future__ import annotations

from pathlib import Path

import torch

from streamrec.model.checkpoint import CheckpointError, CheckpointMeta, read_checkpoint
from streamrec.model.zoo.base import Architecture, SessionModel
from streamrec.model.zoo.counts import MARKOV, POPULARITY
from streamrec.model.zoo.gru4rec import GRU4REC
from streamrec.model.zoo.hybrid import HYBRID
from streamrec.model.zoo.lstm_attn import LSTM_ATTN
from streamrec.model.zoo.narm import NARM
from streamrec.model.zoo.recency import RECENT_MARKOV, RECENT_POPULARITY
from streamrec.model.zoo.sasrec import SASREC
from streamrec.model.zoo.updates import LearnerStart, StreamLearner
from streamrec.model.zoo.vsknn import VSKNN

ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        LSTM_ATTN, GRU4REC, NARM, SASREC, VSKNN, HYBRID, MARKOV, POPULARITY,
        RECENT_POPULARITY, RECENT_MARKOV,
    )
}  # fmt: skip


def architecture(name: str) -> Architecture:
    """The zoo entry called ``name`` (``ValueError`` naming the choices otherwise)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def updatable() -> list[str]:
    """The architectures that can learn from the stream (they have a ``StreamLearner``)."""
    return [name for name, a in ARCHITECTURES.items() if a.learner is not None]


def learner_for(name: str, start: LearnerStart) -> StreamLearner:
    """Architecture ``name``'s learner, starting from ``start`` (``ValueError`` naming the
    architectures that can update when ``name`` cannot)."""
    entry = architecture(name)
    if entry.learner is None:
        raise ValueError(
            f"{name} cannot learn from the stream yet; these can: {', '.join(updatable())}"
        )
    return entry.learner(start)


def load_model(
    path: Path, expect_n_items: int | None = None, device: str | torch.device = "cpu"
) -> tuple[SessionModel, CheckpointMeta]:
    """The model stored at ``path`` (any architecture), checked, and its metadata."""
    state, meta = read_checkpoint(path, expect_n_items)
    if meta.architecture not in ARCHITECTURES:
        raise CheckpointError(
            f"{path} holds a {meta.architecture!r} model, which this StreamRec does not know"
        )
    try:
        model = ARCHITECTURES[meta.architecture].load(
            meta.config, state, meta.n_items, torch.device(device)
        )
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"{path}: its {meta.architecture} state does not load ({exc})"
        ) from None
    return model, meta
