"""A checkpoint as a ``StreamingScorer``: incremental where the network allows it, else full.

``incremental`` (the default): one LSTM step per click from the session's cached state
(``networks.incremental``); exact for models trained with ``window_start='zero'``.
``full``: recompute every window with the offline scoring path (``evaluation.evaluate``).
Models trained with ``window_start='padding'`` (the seed's) are always recomputed: their
state at every click depends on the padding length, so it cannot be carried forward.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from streamrec.model.checkpoint import CheckpointMeta, load_checkpoint
from streamrec.model.evaluation.evaluate import ModelScorer
from streamrec.model.networks.incremental import IncrementalScorer
from streamrec.model.scoring import StreamingScorer, WindowRecomputer

log = logging.getLogger("streamrec.model")


def load_streaming_scorer(
    path: Path,
    scoring: str = "incremental",
    cache_bytes: int = 256 << 20,
    device: str | torch.device = "cpu",
) -> tuple[StreamingScorer, CheckpointMeta]:
    """The checkpoint at ``path`` ready to score a click stream, and its metadata."""
    model, meta = load_checkpoint(path, device=device)
    if scoring == "incremental" and model.zero_start:
        return IncrementalScorer(model, meta.max_len, cache_bytes, device), meta
    if scoring == "incremental":
        log.warning(
            "%s was trained with window_start='padding': its state at each click depends on "
            "the padding, so every window is recomputed (train with --window-start zero for "
            "incremental scoring)",
            path,
        )
    return WindowRecomputer(ModelScorer(model, device), meta.max_len), meta
