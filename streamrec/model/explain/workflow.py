"""``streamrec explain``: a checkpoint's attention over the held-out prefixes of its data.

The data are those ``evaluate`` judges the checkpoint on (the held-out side of the split;
with ``--split none``, every session of a log), read in batches of windows as the model
scores them, with progress on long runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from streamrec.config import Settings
from streamrec.model.data.examples import PrefixExamples
from streamrec.model.evaluation.workflow import held_out, model_and_data
from streamrec.model.explain.attention import AttentionReader, attention_reader
from streamrec.model.explain.claims import check_claims
from streamrec.model.explain.profile import ALL, MIN_LENGTH, AttentionProfile
from streamrec.model.runtime import configure_torch
from streamrec.progress import ProgressBoard

BATCH_SIZE = 2048


@dataclass
class Explanation:
    """A model's attention profile, the verdicts on the claims and what it was measured on."""

    profile: AttentionProfile
    claims: list[dict[str, Any]]
    about: dict[str, Any]  # model, architecture, what the weights are, data, counts, seconds

    def to_json(self) -> dict[str, Any]:
        """Everything as plain values: ``about``'s fields, ``claims`` and ``groups``
        (behaviour -> length bucket -> figures)."""
        return {**self.about, "claims": self.claims, "groups": self.profile.summaries()}


def profile_attention(
    reader: AttentionReader,
    examples: PrefixExamples,
    labels: list[str | None],
    max_len: int,
    board: ProgressBoard | None = None,
    batch_size: int = BATCH_SIZE,
) -> AttentionProfile:
    """Read ``reader``'s attention on every example (``labels``: a behaviour per session,
    None for unlabelled ones) and aggregate it."""
    profile = AttentionProfile(max_len)
    task = board.add("attention", len(examples)) if board is not None else None
    # prefixes too short to say anything are counted by the profile, never read
    order = np.flatnonzero(examples.lengths >= MIN_LENGTH)
    profile.n_too_short = len(examples) - len(order)
    names = np.asarray([label or ALL for label in labels], dtype=object)
    for start in range(0, len(order), batch_size):
        batch = examples.subset(order[start : start + batch_size])
        weights = reader(torch.from_numpy(np.ascontiguousarray(batch.windows)))
        profile.add(
            weights.float().cpu().numpy(),
            batch.lengths,
            list(names[batch.session_index]),
            truncated=batch.position > batch.lengths,
        )
        if board is not None and task is not None:
            board.update(task, profile.n_too_short + start + len(batch))
    if board is not None and task is not None:
        board.update(task, len(examples))
    return profile


def explain_model(
    settings: Settings, model_path: Path, board: ProgressBoard | None = None
) -> Explanation:
    """Load the checkpoint at ``model_path`` (``NoAttention`` unless it has attention over
    prefix positions), profile its attention on its held-out prefixes, test the claims."""
    configure_torch(settings.threads, "cpu")
    started = time.perf_counter()
    model, meta, data = model_and_data(settings, model_path, purpose="explain")
    reader = attention_reader(model)
    examples = held_out(settings, data)
    if not len(examples):
        raise ValueError("no prefixes to explain: the split holds nothing out")
    profile = profile_attention(reader, examples, data.corpus.behaviors, settings.max_len, board)
    about = {
        "model": str(model_path),
        "architecture": meta.architecture,
        "weights": reader.weights_are,
        "trained_with": {"split": meta.split, "seed": meta.seed, "source": meta.source},
        "source": data.corpus.source,
        "split": settings.split,
        "seed": settings.seed,
        "max_len": settings.max_len,
        "n_prefixes": len(examples),
        "n_too_short": profile.n_too_short,
        "min_length": MIN_LENGTH,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return Explanation(profile, check_claims(profile), about)
