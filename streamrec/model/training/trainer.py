"""The seed's training recipe (Adam, StepLR, gradient clipping, cross-entropy), made fast.

Speed comes from two exact changes, not from a different recipe:
- batches are drawn from examples of one prefix length (shuffled within each length, batch
  order shuffled), so each batch runs the LSTM only over its real items via
  ``forward_bucketed`` instead of 25 steps with mostly padding;
- evaluation is vectorised (see ``evaluation.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from streamrec.model.data.examples import PrefixExamples
from streamrec.model.evaluation.evaluate import ModelScorer, evaluate
from streamrec.model.networks.lstm import SessionLSTMRecommender
from streamrec.model.training.sampled import PopularitySampler, sampled_softmax_loss


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation recipe; defaults are the seed's."""

    epochs: int = 20
    batch_size: int = 256
    learning_rate: float = 1e-3
    lr_step: int = 8
    lr_gamma: float = 0.5
    clip_norm: float = 5.0
    seed: int = 42

    def validate(self) -> None:
        """Raise ValueError on impossible values."""
        if self.epochs < 1 or self.batch_size < 1 or self.lr_step < 1:
            raise ValueError("epochs, batch size and lr step must be >= 1")
        if self.learning_rate <= 0 or not 0 < self.lr_gamma <= 1 or self.clip_norm <= 0:
            raise ValueError("learning rate and clip norm must be > 0, lr gamma in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for checkpoints and reports."""
        return asdict(self)


@dataclass
class EpochRecord:
    """What one epoch measured."""

    epoch: int
    train_loss: float
    val_loss: float
    hit_at_10: float
    hit_at_20: float
    mrr_at_20: float
    train_seconds: float
    eval_seconds: float
    per_behavior: dict[str, dict[str, float]] = field(default_factory=dict)


def length_bucketed_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Shuffled batches of example indices, each batch holding a single prefix length."""
    batches: list[np.ndarray] = []
    for length in np.unique(lengths):
        idx = rng.permutation(np.flatnonzero(lengths == length))
        batches.extend(idx[i : i + batch_size] for i in range(0, len(idx), batch_size))
    for b in rng.permutation(len(batches)):
        yield batches[b]


def count_batches(lengths: np.ndarray, batch_size: int) -> int:
    """How many batches ``length_bucketed_batches`` yields."""
    _, counts = np.unique(lengths, return_counts=True)
    return int(sum(-(-c // batch_size) for c in counts))


ProgressHook = Callable[[int, int, float], None]  # (batches done, total, running loss)


class Trainer:
    """Trains a ``SessionLSTMRecommender`` on prefix examples and validates every epoch."""

    def __init__(
        self,
        model: SessionLSTMRecommender,
        config: TrainConfig,
        device: torch.device | str = "cpu",
        sampler: PopularitySampler | None = None,
    ) -> None:
        """``sampler``: train with the sampled softmax (``--loss sampled``) instead of the
        full-catalog cross-entropy."""
        config.validate()
        self.sampler = sampler
        self.config = config
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        self.scheduler = torch.optim.lr_scheduler.StepLR(
            self.optimizer, step_size=config.lr_step, gamma=config.lr_gamma
        )
        self.criterion = nn.CrossEntropyLoss()
        self.rng = np.random.default_rng(config.seed)

    def train_epoch(self, train: PrefixExamples, progress: ProgressHook | None = None) -> float:
        """One pass over ``train``; returns the mean batch loss."""
        self.model.train()
        total = count_batches(train.lengths, self.config.batch_size)
        windows = torch.from_numpy(train.windows)
        lengths = torch.from_numpy(train.lengths)
        targets = torch.from_numpy(train.targets)
        losses: list[float] = []
        for i, idx_np in enumerate(
            length_bucketed_batches(train.lengths, self.config.batch_size, self.rng)
        ):
            idx = torch.from_numpy(idx_np)
            x = windows[idx].to(self.device)
            n = lengths[idx].to(self.device)
            y = targets[idx].to(self.device)
            self.optimizer.zero_grad()
            if self.sampler is None:
                loss = self.criterion(self.model.forward_bucketed(x, n), y)
            else:
                vectors = self.model.forward_bucketed(x, n, project=False)
                loss = sampled_softmax_loss(vectors, y, self.model.output_table(), self.sampler)
            loss.backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=self.config.clip_norm)
            self.optimizer.step()
            losses.append(loss.item())
            if progress is not None:
                progress(i + 1, total, float(np.mean(losses[-50:])))
        self.scheduler.step()
        return float(np.mean(losses)) if losses else float("nan")

    def validate(
        self, val: PrefixExamples, session_labels: list[str | None]
    ) -> tuple[float, dict[str, Any]]:
        """Validation loss and the evaluation report on ``val`` (NaN figures when empty)."""
        if len(val) == 0:
            nan = float("nan")
            return nan, {"hit_at_10": nan, "hit_at_20": nan, "mrr_at_20": nan, "per_behavior": {}}
        loss_sum = 0.0

        def add_loss(scores: torch.Tensor, targets: torch.Tensor) -> None:
            nonlocal loss_sum
            loss_sum += float(nn.functional.cross_entropy(scores, targets, reduction="sum"))

        totals = evaluate(
            ModelScorer(self.model, self.device), val, session_labels, on_batch=add_loss
        )
        return loss_sum / max(len(val), 1), totals.report()

    def fit(
        self,
        train: PrefixExamples,
        val: PrefixExamples,
        session_labels: list[str | None],
        progress: ProgressHook | None = None,
        on_epoch: Callable[[EpochRecord], None] | None = None,
    ) -> list[EpochRecord]:
        """Train for ``config.epochs`` epochs, validating after each."""
        torch.manual_seed(self.config.seed)
        history: list[EpochRecord] = []
        for epoch in range(1, self.config.epochs + 1):
            t0 = time.perf_counter()
            train_loss = self.train_epoch(train, progress)
            t1 = time.perf_counter()
            val_loss, report = self.validate(val, session_labels)
            t2 = time.perf_counter()
            record = EpochRecord(
                epoch=epoch,
                train_loss=train_loss,
                val_loss=val_loss,
                hit_at_10=float(report["hit_at_10"]),
                hit_at_20=float(report["hit_at_20"]),
                mrr_at_20=float(report["mrr_at_20"]),
                train_seconds=t1 - t0,
                eval_seconds=t2 - t1,
                per_behavior=dict(report["per_behavior"]),
            )
            history.append(record)
            if on_epoch is not None:
                on_epoch(record)
        return history
