"""How the neural models learn from the stream: warm weights fine-tuned at each version.

One learner class (``NeuralLearner``, update kind ``fine-tune``) serves gru4rec, sasrec, narm,
lstm-attn and the hybrid's SASRec; each architecture gives it a ``Tuner`` (how to grow its
item tables, its optimiser, one training run over some sessions) beside its own code.

- ``learn`` maps raw ids to dense ids (new items appended in first-seen order) and keeps every
  session's clicks (``replay.SessionStore``).
- ``publish`` grows the network's item tables to the catalog (``grow``: old rows untouched,
  so old items score as before), then, when clicks were learned since the last version,
  trains on the sessions they touched (every click so far, open sessions included) plus a
  replay sample of ``replay_sessions`` older ones: at most ``UPDATE_PASSES`` passes, at most
  ``update_steps`` optimiser steps (0: the tuner's own), and no step starts after the time
  budget (``--update-budget-s``; 0: ``DEFAULT_BUDGET_S``). It returns a copy of the network,
  so later updates never change a version already served.
- The optimiser's state is kept across versions (grown with the tables), and in ``state()``.

Determinism: the replay sample, the shuffles and dropout are seeded by the run's seed and the
update's number, so two learners that learned the same clicks publish the same weights (the
online learner and the offline evaluator; a learner restored from ``state()``). A version cut
short by the time budget is the exception: where the cut falls depends on the machine, so it
is reported (``UpdateReport.cut_short``); the step cap is what makes updates reproducible.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from streamrec.model.zoo.grow import regrown_optimizer
from streamrec.model.zoo.item_ids import LearnedItems
from streamrec.model.zoo.replay import SessionStore
from streamrec.model.zoo.tuning import TrainPlan, Tuner
from streamrec.model.zoo.updates import Catalog, ClickBatch, LearnerStart, UpdateReport

UPDATE_PASSES = 2  # the most passes one update makes over its sessions
DEFAULT_BUDGET_S = 20.0  # an update's time budget when none is set


def set_catalog_size(network: Any, n_items: int) -> None:
    """Record a grown catalog in the network and its config (what a checkpoint stores)."""
    network.n_items = n_items
    network.config = dataclasses.replace(network.config, n_items=n_items)


class NeuralLearner:
    """The ``StreamLearner`` of a neural model (see the module docstring). ``wrap`` turns a
    network into the architecture's ``SessionModel``."""

    update_kind = "fine-tune"

    def __init__(
        self,
        architecture: str,
        start: LearnerStart,
        network: nn.Module,
        tuner: Tuner,
        wrap: Callable[[nn.Module], Any],
    ) -> None:
        self._architecture = architecture
        self.tuner = tuner
        self.wrap = wrap
        self.network: Any = copy.deepcopy(network).eval()  # the start model stays as it is
        self.optimizer: torch.optim.Optimizer | None = None
        settings = start.settings
        self.seed = settings.seed
        self.steps = settings.update_steps or tuner.default_steps
        self.replay_sessions = settings.replay_sessions
        self.budget_s = settings.update_budget_s or DEFAULT_BUDGET_S
        self._published = start.catalog
        self.items = LearnedItems(start.catalog)
        self.store = SessionStore()
        self.updates = 0  # fine-tunes run so far (seeds each one)
        self.learned = 0
        self.learn(start.history)
        self.store.clear_touched()
        self.learned = 0

    @property
    def architecture(self) -> str:
        """The zoo name of the models it publishes."""
        return self._architecture

    @property
    def catalog(self) -> Catalog:
        """The catalog of the last published version."""
        return self._published

    def learn(self, batch: ClickBatch) -> None:
        """Keep the clicks of ``batch`` (new items get the next dense ids)."""
        if not len(batch):
            return
        self.store.add(batch.session_ids, self.items.dense_ids(batch.items))
        self.learned += len(batch)

    def publish(self, budget_s: float | None = None) -> tuple[Any, UpdateReport]:
        """Grow to the catalog, fine-tune on what was learned, return a copy of the network."""
        started = time.perf_counter()
        before = len(self._published)
        self._published = self.items.published(self._published)
        self._grow(len(self.items))
        steps, cut_short = 0, False
        touched = self.store.touched_sessions()
        if self.learned and touched:
            steps, cut_short = self._fine_tune(touched, started + (budget_s or self.budget_s))
        self.store.clear_touched()
        model = self.wrap(copy.deepcopy(self.network).eval())
        report = UpdateReport(
            seconds=time.perf_counter() - started,
            clicks_learned=self.learned,
            new_items=len(self._published) - before,
            catalog_size=len(self._published),
            kind=self.update_kind,
            steps=steps,
            cut_short=cut_short,
        )
        self.learned = 0
        return model, report

    def state(self) -> dict[str, Any]:
        """Everything needed to resume: catalog, weights, optimiser, sessions, counters."""
        return {
            "architecture": self._architecture,
            "catalog": torch.from_numpy(self._published.item_ids.copy()),
            "raw": self.items.state(),
            "n_items": int(self.network.n_items),
            "network": {k: v.detach().clone() for k, v in self.network.state_dict().items()},
            "optimizer": {} if self.optimizer is None else self.optimizer.state_dict(),
            "store": self.store.state(),
            "updates": self.updates,
            "learned": self.learned,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Become the learner ``state()`` captured (``ValueError`` for another model's)."""
        if state.get("architecture") != self._architecture:
            raise ValueError(
                f"a {state.get('architecture')!r} learner's state cannot restore "
                f"{self._architecture}"
            )
        self._published = Catalog(np.asarray(state["catalog"].numpy(), dtype=np.int64))
        self.items = LearnedItems.restored(state["raw"])
        self.optimizer = None
        self._grow(int(state["n_items"]))
        self.network.load_state_dict(state["network"])
        self.network.eval()
        if state["optimizer"]:
            self.optimizer = self.tuner.make_optimizer(self.network)
            self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        self.store = SessionStore.from_state(state["store"])
        self.updates = int(state["updates"])
        self.learned = int(state["learned"])

    def _grow(self, n_items: int) -> None:
        extra = n_items - int(self.network.n_items)
        if extra <= 0:
            return
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + n_items)
        self.tuner.grow(self.network, extra, generator)
        set_catalog_size(self.network, n_items)
        if self.optimizer is not None:
            self.optimizer = regrown_optimizer(
                self.optimizer, self.network, self.tuner.make_optimizer
            )

    def _fine_tune(self, touched: list[list[int]], deadline: float) -> tuple[int, bool]:
        self.updates += 1
        seeds = np.random.SeedSequence([self.seed, self.updates]).generate_state(2)
        replay_seed, torch_seed = int(seeds[0]), int(seeds[1])
        replay = self.store.replay(self.replay_sessions, np.random.default_rng(replay_seed))
        if self.optimizer is None:
            self.optimizer = self.tuner.make_optimizer(self.network)
        cut = [False]

        def stop() -> bool:
            cut[0] = time.perf_counter() >= deadline
            return cut[0]

        plan = TrainPlan(self.steps, UPDATE_PASSES, stop, torch_seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed)
            steps = self.tuner.train(self.network, self.optimizer, [*touched, *replay], plan)
        self.network.eval()
        return steps, cut[0]
