"""A checkpoint of any architecture as a ``StreamingScorer``.

``incremental`` (the default): state carried from click to click where the architecture
allows it exactly (``lstm-attn`` trained with ``window_start='zero'``); ``full``: recompute
every window with the offline scoring path. Each architecture decides (``model.zoo``).
"""

from __future__ import annotations

from pathlib import Path

import torch

from streamrec.model.checkpoint import CheckpointMeta
from streamrec.model.scoring import StreamingScorer
from streamrec.model.zoo import load_model


def load_streaming_scorer(
    path: Path,
    scoring: str = "incremental",
    cache_bytes: int = 256 << 20,
    device: str | torch.device = "cpu",
) -> tuple[StreamingScorer, CheckpointMeta]:
    """The checkpoint at ``path`` ready to score a click stream, and its metadata."""
    model, meta = load_model(path, device=device)
    return model.streaming_scorer(meta.max_len, scoring, cache_bytes), meta
