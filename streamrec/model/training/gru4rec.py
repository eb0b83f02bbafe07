"""GRU4Rec's training as its authors train it (Hidasi et al. 2016, Hidasi & Karatzoglou 2018).

- Session-parallel mini-batches: ``batch_size`` sessions side by side, each step feeds every
  slot's next click and predicts the one after; a finished session's slot takes the next
  session (its state reset to zero), and when none is left the batch shrinks. Sessions are
  taken in corpus order (time order for logs), the same order every epoch. The state is
  carried between steps but gradients stop at each step (the authors' one-step truncation).
- Output over the batch's targets plus ``n_sample`` negatives shared by the batch, drawn by
  training popularity ** ``sample_alpha``.
- Loss: cross-entropy over that output with the logQ correction (``logq``: minus logq times
  the log of each column's sampling weight), or BPR-max; summed over rows, divided by
  ``batch_size``.
- Optimiser: Adagrad with momentum, row-wise on the sparse embedding gradients.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from streamrec.model.networks.gru4rec import Gru4RecConfig, Gru4RecNetwork, tied_scores

EPS = 1e-6
SAMPLE_CACHE = 4_000_000  # negatives drawn at once


@dataclass
class ParallelStep:
    """One step of session-parallel training: before it, keep rows ``keep`` of the previous
    state (None: all) and zero the rows in ``reset``; then feed ``inputs``, predict ``targets``
    (dense ids, one per active slot)."""

    inputs: np.ndarray
    targets: np.ndarray
    keep: np.ndarray | None
    reset: np.ndarray


def session_parallel_steps(
    sessions: Sequence[Sequence[int]], batch_size: int
) -> Iterator[ParallelStep]:
    """Every click but each session's last, as an input once, with the click after it."""
    usable = [s for s in sessions if len(s) >= 2]
    if not usable:
        return
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in usable])
    offsets = np.zeros(len(usable) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in usable])
    n_slots = min(batch_size, len(usable))
    taken = n_slots
    pos = offsets[:n_slots].copy()
    end = offsets[1 : n_slots + 1].copy()
    keep: np.ndarray | None = None
    reset = np.ones(n_slots, dtype=bool)
    while len(pos):
        yield ParallelStep(flat[pos], flat[pos + 1], keep, reset)
        pos = pos + 1
        finished = np.flatnonzero(pos + 1 >= end)
        reset = np.zeros(len(pos), dtype=bool)
        alive = np.ones(len(pos), dtype=bool)
        for slot in finished:
            if taken < len(usable):
                pos[slot], end[slot] = offsets[taken], offsets[taken + 1]
                reset[slot] = True
                taken += 1
            else:
                alive[slot] = False
        keep = None if alive.all() else np.flatnonzero(alive)
        pos, end, reset = pos[alive], end[alive], reset[alive]


class PopularitySampler:
    """Negative items drawn with probability proportional to ``counts ** alpha``."""

    def __init__(self, counts: np.ndarray, alpha: float, seed: int, cache: int = SAMPLE_CACHE):
        weights = np.asarray(counts, dtype=np.float64) ** alpha
        weights[np.asarray(counts) <= 0] = 0.0
        cdf = np.cumsum(weights) / weights.sum()
        cdf[-1] = 1.0
        self.cdf = torch.from_numpy(cdf)
        self.cache = cache
        self.generator = torch.Generator().manual_seed(seed)
        self._drawn = torch.empty(0, dtype=torch.int64)
        self._next = 0

    def draw(self, n: int) -> torch.Tensor:
        """``n`` item ids (with replacement)."""
        if self._next + n > len(self._drawn):
            u = torch.rand(max(self.cache, n), generator=self.generator, dtype=torch.float64)
            self._drawn = torch.searchsorted(self.cdf, u, right=True).clamp(max=len(self.cdf) - 1)
            self._next = 0
        out = self._drawn[self._next : self._next + n]
        self._next += n
        return out


class AdagradMomentum(torch.optim.Optimizer):
    """Adagrad with momentum as in GRU4Rec: ``acc += g**2``, ``v = momentum * v - lr * g /
    sqrt(acc + eps)``, ``p += v``; for sparse gradients only the touched rows change."""

    def __init__(self, params: object, lr: float, momentum: float) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum})  # type: ignore[arg-type]

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> None:  # type: ignore[override]
        """One update of every parameter that has a gradient."""
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["acc"] = torch.zeros_like(p)
                    state["mom"] = torch.zeros_like(p)
                acc, mom = state["acc"], state["mom"]
                if p.grad.is_sparse:
                    grad = p.grad.coalesce()
                    rows, values = grad.indices()[0], grad.values()
                    row_acc = acc[rows] + values.pow(2)
                    acc[rows] = row_acc
                    update = -lr * values / (row_acc + EPS).sqrt()
                    if momentum > 0:
                        update = update + momentum * mom[rows]
                        mom[rows] = update
                    p.index_add_(0, rows, update)
                else:
                    acc.add_(p.grad.pow(2))
                    update = -lr * p.grad / (acc + EPS).sqrt()
                    if momentum > 0:
                        update = mom.mul_(momentum).add_(update)
                    p.add_(update)


def cross_entropy_logq(scores: torch.Tensor, weights: torch.Tensor, logq: float) -> torch.Tensor:
    """Summed cross-entropy of row i's target in column i, the columns' scores lowered by
    ``logq * log(sampling weight)``."""
    if logq > 0:
        scores = scores - logq * weights.log()
    picked = F.log_softmax(scores, dim=1).diagonal()
    return -picked.sum()


def bpr_max(scores: torch.Tensor, bpreg: float, elu_param: float) -> torch.Tensor:
    """Summed BPR-max of row i's target in column i against the other columns, weighted by
    their softmax, plus ``bpreg`` times the softmax-weighted squared negative scores."""
    if elu_param > 0:
        scores = F.elu(scores, elu_param)
    rows = scores.shape[0]
    off_target = 1.0 - torch.eye(rows, scores.shape[1], device=scores.device)
    negative = scores * off_target
    soft = torch.exp(negative - negative.max(dim=1, keepdim=True).values) * off_target
    soft = soft / soft.sum(dim=1, keepdim=True)
    target = scores.diagonal()[:, None]
    ranked = (torch.sigmoid(target - scores) * soft).sum(dim=1)
    return (-(ranked + 1e-24).log() + bpreg * (scores.pow(2) * soft).sum(dim=1)).sum()


def make_optimizer(network: torch.nn.Module) -> torch.optim.Optimizer:
    """The authors' optimiser over ``network``'s parameters, at its config's rates."""
    assert isinstance(network, Gru4RecNetwork)
    config = network.config
    return AdagradMomentum(network.parameters(), config.learning_rate, config.momentum)


class Gru4RecTrainer:
    """One network, its optimiser and sampler; ``epoch`` runs one pass over the sessions."""

    def __init__(
        self,
        network: Gru4RecNetwork,
        sessions: Sequence[Sequence[int]],
        optimizer: torch.optim.Optimizer | None = None,
        seed: int | None = None,
    ) -> None:
        self.network = network
        self.config: Gru4RecConfig = network.config
        self.sessions = sessions
        counts = np.zeros(network.n_items, dtype=np.int64)
        for session in sessions:
            np.add.at(counts, np.asarray(session, dtype=np.int64), 1)
        self.counts = torch.from_numpy(counts).double().clamp(min=1.0)
        self.sampler = PopularitySampler(
            counts, self.config.sample_alpha, self.config.seed if seed is None else seed
        )
        self.optimizer = optimizer or make_optimizer(network)
        self.steps_per_epoch = sum(len(s) - 1 for s in sessions if len(s) >= 2)
        self.steps = 0  # optimiser steps taken

    def _loss(
        self, scores: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor
    ) -> torch.Tensor:
        c = self.config
        if c.loss == "bpr-max":
            return bpr_max(scores, c.bpreg, c.elu_param)
        counts = self.counts.to(scores.device)
        weights = torch.cat([counts[targets], counts[negatives] ** c.sample_alpha])
        return cross_entropy_logq(scores, weights.to(scores.dtype), c.logq)

    def epoch(
        self,
        on_step: Callable[[int, float], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> float:
        """Train one epoch; the mean loss per predicted click. ``on_step(clicks, loss)``;
        ``stop()``: checked before each step, ends the epoch early when true."""
        c, net = self.config, self.network
        net.train()
        device = net.item_out.weight.device
        state = net.zero_state(c.batch_size, device)
        total, clicks = 0.0, 0
        for step in session_parallel_steps(self.sessions, c.batch_size):
            if (c.n_sample == 0 and len(step.inputs) < 2) or (stop is not None and stop()):
                break
            state = state.detach()
            if step.keep is not None:
                state = state[torch.from_numpy(step.keep).to(device)]
            state = state[: len(step.inputs)]
            state = state.masked_fill(torch.from_numpy(step.reset).to(device)[:, None], 0.0)
            inputs = torch.from_numpy(step.inputs).to(device)
            targets = torch.from_numpy(step.targets).to(device)
            negatives = self.sampler.draw(c.n_sample).to(device)
            columns = torch.cat([targets, negatives])
            embedded, out, bias = tied_scores(net, inputs, columns)
            state = net.step(embedded, state)
            scores = net.top(state) @ out.T + bias
            loss = self._loss(scores, targets, negatives) / c.batch_size
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            self.steps += 1
            value = float(loss.detach()) * c.batch_size
            if not math.isfinite(value):
                raise FloatingPointError("GRU4Rec training diverged (non-finite loss)")
            total += value
            clicks += len(inputs)
            if on_step is not None:
                on_step(clicks, total / clicks)
        net.eval()
        return total / max(clicks, 1)
