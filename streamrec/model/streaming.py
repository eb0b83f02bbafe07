"""A checkpoint of any architecture as a ``StreamingScorer``.

``incremental``: state carried from click to click where the architecture allows it exactly
(``lstm-attn`` trained with ``window_start='zero'``, ``gru4rec``); ``full``: recompute every
window with the offline scoring path; ``auto`` (the default): ``incremental`` on CPU and
``full`` on CUDA. On a GPU, batched recomputation is both faster (one large kernel launch per
batch instead of per-session bookkeeping on the CPU) and exact: it is the offline scoring
path itself, while the incremental scorer's different kernel shapes drift by about 1e-3 in
the logits there. Each architecture decides what ``incremental`` means (``model.zoo``).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import torch

from streamrec.config import SCORING_MODES
from streamrec.model.checkpoint import CheckpointMeta
from streamrec.model.retrieval.scorer import (
    DEFAULT_CANDIDATES,
    RetrievalStreamingScorer,
    VectorSource,
    retrieval_scorer,
)
from streamrec.model.scoring import StreamingScorer
from streamrec.model.zoo import load_model


def resolve_scoring(scoring: str, device: torch.device) -> str:
    """The scoring mode ``scoring`` means on ``device``: ``auto`` picks ``full`` on CUDA and
    ``incremental`` elsewhere; an explicit mode is kept."""
    if scoring not in SCORING_MODES:
        raise ValueError(f"scoring must be auto, incremental or full, got {scoring!r}")
    if scoring != "auto":
        return scoring
    return "full" if device.type == "cuda" else "incremental"


def full_precision_on_cuda(device: torch.device) -> None:
    """Serve float32 as float32 on CUDA: TF32 matrix products (allowed by default for
    convolutions, and by some builds for matmuls) round inputs to 10 mantissa bits, which
    moves logits by about 1e-3 and can reorder near-tied items."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def load_streaming_scorer(
    path: Path,
    scoring: str = "auto",
    cache_bytes: int = 256 << 20,
    device: str | torch.device = "cpu",
    retrieval: str = "exact",
    candidates: int = DEFAULT_CANDIDATES,
    ann_probes: int = 0,
) -> tuple[StreamingScorer, CheckpointMeta]:
    """The checkpoint at ``path`` ready to score a click stream, and its metadata.
    ``retrieval='ann'``: two-stage (``model.retrieval``), the session vector from the
    incremental scorer's cached state where it offers them (lstm-attn), else recomputed,
    with the index kept beside the checkpoint and ``ann_probes`` of its lists scanned per
    click (0: by catalog size) (``ValueError`` for a model
    without session vectors)."""
    device = torch.device(device)
    mode = resolve_scoring(scoring, device)
    full_precision_on_cuda(device)
    model, meta = load_model(path, device=device)
    if retrieval == "ann":
        ranked = retrieval_scorer(model.scorer(), candidates, path, ann_probes)
        streaming = model.streaming_scorer(meta.max_len, mode, cache_bytes)
        source = cast(VectorSource, streaming) if hasattr(streaming, "vectors_requests") else None
        return RetrievalStreamingScorer(ranked, meta.max_len, source), meta
    return model.streaming_scorer(meta.max_len, mode, cache_bytes), meta
