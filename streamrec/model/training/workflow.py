"""``streamrec train``: any architecture of the zoo, with its checkpoint, history and curves."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from streamrec.config import Settings
from streamrec.model.checkpoint import CheckpointMeta, save_checkpoint
from streamrec.model.data.corpus import SessionCorpus
from streamrec.model.data.loading import prepare_data
from streamrec.model.runtime import configure_torch
from streamrec.model.training.plots import plot_training_curves
from streamrec.model.training.trainer import EpochRecord
from streamrec.model.zoo import architecture
from streamrec.model.zoo.base import TrainingRun
from streamrec.progress import ProgressBoard


@dataclass
class TrainResult:
    """What ``train_model`` produced."""

    checkpoint: Path
    history_path: Path
    plot_path: Path
    history: list[EpochRecord]
    n_parameters: int


def train_model(
    settings: Settings,
    out: Path,
    console: Console | None = None,
    corpus: SessionCorpus | None = None,
    show_progress: bool = True,
) -> TrainResult:
    """Train ``settings.architecture``; write checkpoint, JSON history and PNG curves.

    ``out`` is the checkpoint path; history and plot are written beside it.
    """
    console = console or Console(stderr=True, soft_wrap=True)
    device = configure_torch(settings.threads, settings.device)
    data = prepare_data(settings, corpus)
    entry = architecture(settings.architecture)
    console.print(
        f"training {entry.name} on {data.corpus.source}: {len(data.train):,} train / "
        f"{len(data.val):,} validation examples, split={settings.split}, device={device}, "
        f"threads={torch.get_num_threads()}"
    )
    with ProgressBoard(console, enabled=show_progress, transient=True) as board:
        outcome = entry.train(TrainingRun(settings, data, device, board))
    model, history = outcome.model, outcome.history
    final = asdict(history[-1])
    meta = CheckpointMeta(
        architecture=entry.name,
        config=model.config(),
        n_items=model.n_items,
        split=settings.split,
        seed=settings.seed,
        source=data.corpus.source,
        max_len=settings.max_len,
        metrics={k: final[k] for k in ("hit_at_10", "hit_at_20", "mrr_at_20", "val_loss")},
        recipe=outcome.recipe,
        item_ids=None if data.corpus.item_ids is None else [int(i) for i in data.corpus.item_ids],
    )
    save_checkpoint(out, model.state(), meta)
    history_path = out.with_suffix(".history.json")
    history_path.write_text(
        _json_without_nan(
            {
                "architecture": entry.name,
                "source": data.corpus.source,
                "split": settings.split,
                "seed": settings.seed,
                "n_parameters": model.n_parameters(),
                "n_train": len(data.train),
                "n_val": len(data.val),
                "threads": torch.get_num_threads(),
                "device": str(device),
                "recipe": outcome.recipe,
                "epochs": [asdict(r) for r in history],
            },
            indent=2,
        )
    )
    plot_path = out.with_suffix(".curves.png")
    plot_training_curves(
        history,
        plot_path,
        title=f"{out.name}: {entry.name} on {data.corpus.source}, split={settings.split}, "
        f"{len(data.train):,} train / {len(data.val):,} validation examples",
    )
    return TrainResult(out, history_path, plot_path, history, model.n_parameters())


def _json_without_nan(value: Any, indent: int = 2) -> str:
    """JSON text with NaN (no validation data) written as null, which JSON allows."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return json.dumps(clean(value), indent=indent)
