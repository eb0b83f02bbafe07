"""What a neural architecture gives the stream learner (``zoo.finetune``): a ``Tuner``, and
the pieces tuners share: ``TrainPlan`` (an update's limits), ``run_batches`` (seeded shuffled
batches within the plan), ``prefix_windows`` (every prefix of every session as a training
example) and ``PrefixTuner`` (full-catalog cross-entropy on prefixes, Adam: narm and
lstm-attn fine-tune so).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class TrainPlan:
    """One update's limits: steps, passes over its sessions, the budget check, the seed."""

    max_steps: int
    passes: int
    stop: Callable[[], bool]
    seed: int


class Tuner(Protocol):
    """What an architecture gives ``NeuralLearner``."""

    @property
    def default_steps(self) -> int:
        """``update_steps`` when the setting is 0."""
        ...

    def make_optimizer(self, network: nn.Module) -> torch.optim.Optimizer:
        """A fresh optimiser over ``network``'s parameters."""
        ...

    def grow(self, network: nn.Module, extra: int, generator: torch.Generator) -> None:
        """Append ``extra`` items to every item-indexed table (``zoo.grow``)."""
        ...

    def train(
        self,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        sessions: Sequence[Sequence[int]],
        plan: TrainPlan,
    ) -> int:
        """Train on ``sessions`` (dense ids) within ``plan``; the optimiser steps taken."""
        ...


def run_batches(
    n_examples: int, batch_size: int, plan: TrainPlan, step: Callable[[torch.Tensor], None]
) -> int:
    """Call ``step(rows)`` on shuffled batches of example rows (a new seeded order each pass)
    until ``plan`` says stop; the steps taken."""
    generator = torch.Generator().manual_seed(plan.seed)
    steps = 0
    for _ in range(plan.passes):
        order = torch.randperm(n_examples, generator=generator)
        for start in range(0, n_examples, batch_size):
            if steps >= plan.max_steps or plan.stop():
                return steps
            step(order[start : start + batch_size])
            steps += 1
    return steps


def prefix_windows(
    sessions: Sequence[Sequence[int]], max_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every prefix of every session as a left-padded window (N, max_len) of model ids (dense
    id + 1, 0 = padding) of its last ``max_len`` clicks, and the click after it (N,)."""
    windows: list[np.ndarray] = []
    targets: list[int] = []
    for session in sessions:
        clicks = np.asarray(session, dtype=np.int64) + 1
        for position in range(1, len(clicks)):
            window = np.zeros(max_len, np.int64)
            part = clicks[max(0, position - max_len) : position]
            window[max_len - len(part) :] = part
            windows.append(window)
            targets.append(int(clicks[position]) - 1)
    if not windows:
        return torch.zeros((0, max_len), dtype=torch.int64), torch.zeros(0, dtype=torch.int64)
    return torch.from_numpy(np.stack(windows)), torch.tensor(targets, dtype=torch.int64)


@dataclass(frozen=True)
class PrefixTuner:
    """Fine-tuning on every prefix of the update's sessions: Adam at ``learning_rate``,
    full-catalog cross-entropy of ``logits(network, windows)``, gradients clipped to
    ``clip_norm`` (0: not clipped); ``grow_tables`` grows the architecture's item tables."""

    grow_tables: Callable[[nn.Module, int, torch.Generator], None]
    logits: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    max_len: int
    learning_rate: float = 1e-3
    batch_size: int = 32
    clip_norm: float = 0.0
    default_steps: int = 100

    def make_optimizer(self, network: nn.Module) -> torch.optim.Optimizer:
        """Adam over every parameter."""
        return torch.optim.Adam(network.parameters(), lr=self.learning_rate)

    def grow(self, network: nn.Module, extra: int, generator: torch.Generator) -> None:
        """The architecture's item tables gain ``extra`` rows."""
        self.grow_tables(network, extra, generator)

    def train(
        self,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        sessions: Sequence[Sequence[int]],
        plan: TrainPlan,
    ) -> int:
        """Shuffled batches of prefixes within ``plan``; the steps taken."""
        windows, targets = prefix_windows(sessions, self.max_len)
        device = next(network.parameters()).device
        network.train()

        def step(rows: torch.Tensor) -> None:
            loss = F.cross_entropy(
                self.logits(network, windows[rows].to(device)), targets[rows].to(device)
            )
            optimizer.zero_grad()
            loss.backward()
            if self.clip_norm > 0:
                nn.utils.clip_grad_norm_(network.parameters(), max_norm=self.clip_norm)
            optimizer.step()

        try:
            return run_batches(len(targets), self.batch_size, plan, step)
        finally:
            network.eval()
