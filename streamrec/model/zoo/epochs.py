"""The epoch loop the neural architectures share: train, validate, record, show progress."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch.nn import functional as F

from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.scoring import Scorer
from streamrec.model.training.trainer import EpochRecord
from streamrec.model.zoo.base import TrainingRun
from streamrec.model.zoo.lstm_attn import epoch_line

Progress = Callable[[int, float], None]  # (steps done this epoch, running loss)


def fit_epochs(
    run: TrainingRun,
    epochs: int,
    steps_per_epoch: int,
    unit: str,
    train_epoch: Callable[[Progress], float],
    scorer: Callable[[], Scorer],
    validation_loss: bool = True,
) -> list[EpochRecord]:
    """Run ``train_epoch`` ``epochs`` times; after each, evaluate ``scorer()`` on the held-out
    examples (with the full-catalog cross-entropy when ``validation_loss``) and record it."""
    data, board = run.data, run.board
    has_val = len(data.val) > 0
    labels = list(data.corpus.behaviors)
    nan = float("nan")
    history: list[EpochRecord] = []
    for epoch in range(1, epochs + 1):
        task = board.add(f"epoch {epoch}/{epochs}", total=steps_per_epoch)
        shown = [0]  # steps at the last update: about a hundred updates an epoch

        def progress(done: int, loss: float, task: int = task, shown: list[int] = shown) -> None:
            if done - shown[0] >= steps_per_epoch // 100 or done >= steps_per_epoch:
                shown[0] = done
                board.update(task, done, info=f"{unit}, loss {loss:.3f}")

        started = time.perf_counter()
        train_loss = train_epoch(progress)
        trained = time.perf_counter()
        loss_sum = 0.0

        def add_loss(scores: torch.Tensor, targets: torch.Tensor) -> None:
            nonlocal loss_sum
            loss_sum += float(F.cross_entropy(scores, targets, reduction="sum"))

        figures = {"hit_at_10": nan, "hit_at_20": nan, "mrr_at_20": nan}
        per_behavior: dict[str, dict[str, float]] = {}
        if has_val:
            hook = add_loss if validation_loss else None
            totals = evaluate(scorer(), data.val, labels, on_batch=hook)
            figures = dict(totals.total.metrics())
            per_behavior = {k: dict(v.metrics()) for k, v in totals.groups.items()}
        record = EpochRecord(
            epoch=epoch, train_loss=train_loss,
            val_loss=loss_sum / len(data.val) if has_val and validation_loss else nan,
            hit_at_10=figures["hit_at_10"], hit_at_20=figures["hit_at_20"],
            mrr_at_20=figures["mrr_at_20"], train_seconds=trained - started,
            eval_seconds=time.perf_counter() - trained, per_behavior=per_behavior,
        )  # fmt: skip
        history.append(record)
        board.note(epoch_line(record, has_validation=has_val))
        board.done(task)
    return history
