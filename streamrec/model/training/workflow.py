"""End-to-end model workflows behind ``streamrec train`` and ``streamrec evaluate``."""

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
from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender, count_parameters
from streamrec.model.runtime import configure_torch
from streamrec.model.training.plots import plot_training_curves
from streamrec.model.training.trainer import EpochRecord, TrainConfig, Trainer
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
    """Train with the seed's recipe; write checkpoint, JSON history and PNG curves.

    ``out`` is the checkpoint path; history and plot are written beside it.
    """
    console = console or Console(stderr=True, soft_wrap=True)
    device = configure_torch(settings.threads, settings.device)
    data = prepare_data(settings, corpus)
    torch.manual_seed(settings.seed)
    model = SessionLSTMRecommender(
        ModelConfig(n_items=data.corpus.n_items, window_start=settings.window_start)
    )
    recipe = TrainConfig(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        seed=settings.seed,
    )
    trainer = Trainer(model, recipe, device)
    console.print(
        f"training on {data.corpus.source}: {len(data.train):,} train / {len(data.val):,} "
        f"validation examples, split={settings.split}, {count_parameters(model):,} parameters, "
        f"device={device}, threads={torch.get_num_threads()}"
    )

    with ProgressBoard(console, enabled=show_progress, transient=True) as board:
        task = board.add(f"epoch 1/{recipe.epochs}")
        epoch_no = 1

        def on_batch(done: int, total: int, loss: float) -> None:
            board.update(task, done, total, info=f"batches, loss {loss:.3f}")

        def on_epoch(record: EpochRecord) -> None:
            nonlocal epoch_no, task
            epoch_no = record.epoch + 1
            validation = (
                f"val loss {record.val_loss:.4f}  Hit@10 {record.hit_at_10:.4f}  "
                f"Hit@20 {record.hit_at_20:.4f}  MRR@20 {record.mrr_at_20:.4f}"
                if len(data.val)
                else "no validation data (--split none: give --validation-csv for figures)"
            )
            board.note(
                f"epoch {record.epoch:2d}: train loss {record.train_loss:.4f}  {validation}  "
                f"({record.train_seconds:.1f}s train, {record.eval_seconds:.1f}s eval)"
            )
            board.done(task)
            if epoch_no <= recipe.epochs:
                task = board.add(f"epoch {epoch_no}/{recipe.epochs}")

        history = trainer.fit(data.train, data.val, data.corpus.behaviors, on_batch, on_epoch)

    final = asdict(history[-1])
    meta = CheckpointMeta(
        config=model.config,
        split=settings.split,
        seed=settings.seed,
        source=data.corpus.source,
        max_len=settings.max_len,
        metrics={k: final[k] for k in ("hit_at_10", "hit_at_20", "mrr_at_20", "val_loss")},
        recipe=recipe.to_dict(),
        item_ids=None if data.corpus.item_ids is None else [int(i) for i in data.corpus.item_ids],
    )
    save_checkpoint(out, model.cpu(), meta)
    history_path = out.with_suffix(".history.json")
    history_path.write_text(
        _json_without_nan(
            {
                "source": data.corpus.source,
                "split": settings.split,
                "seed": settings.seed,
                "n_parameters": count_parameters(model),
                "n_train": len(data.train),
                "n_val": len(data.val),
                "threads": torch.get_num_threads(),
                "device": str(device),
                "recipe": recipe.to_dict(),
                "epochs": [asdict(r) for r in history],
            },
            indent=2,
        )
    )
    plot_path = out.with_suffix(".curves.png")
    plot_training_curves(
        history,
        plot_path,
        title=f"{out.name}: {data.corpus.source}, split={settings.split}, "
        f"window_start={settings.window_start}, {len(data.train):,} train / "
        f"{len(data.val):,} validation examples",
    )
    return TrainResult(out, history_path, plot_path, history, count_parameters(model))


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
