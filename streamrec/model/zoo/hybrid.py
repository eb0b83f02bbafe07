"""``hybrid``: SASRec and V-SKNN blended, the weighted hybrid of the session-rec benchmark
(Ludewig & Jannach 2018 combine a neural model with a neighbourhood one the same way).

The two are complementary: SASRec generalises over item embeddings and ranks well among
items it has seen often; V-SKNN remembers exactly which items co-occur in recent sessions,
including rare ones. Their scores live on different scales (logits; summed neighbour
votes), so each is first made a distribution over the catalog, SASRec's by a softmax and
V-SKNN's by dividing the votes by their sum (a prefix no neighbour shares an item with votes
for nothing and leaves SASRec alone), and the hybrid scores

    (1 - weight) x P_sasrec(item | window) + weight x P_vsknn(item | window).

``weight`` 0.4 (``HybridConfig``) was chosen on the YOOCHOOSE-100k development split from
0.1-0.7 (MRR@20 rose from 0.361 at 0 to 0.367-0.368 at 0.4-0.6, Hit@20 peaked at 0.3);
docs/models-and-data.md checks the choice on the later test period. Training trains SASRec
with its own defaults (``zoo.sasrec``) and indexes the same training sessions for V-SKNN; the last
epoch's record holds the hybrid's figures. Both parts are served by window recomputation.

From the stream (``HybridLearner``, a ``fine-tune``) each part learns as it does alone: the
SASRec part fine-tunes (``zoo.finetune``), the V-SKNN index grows exactly
(``zoo.vsknn_learner``); both see the same clicks, so their catalogs stay equal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.scoring import PrefixBatch, Scorer, StreamingScorer, WindowRecomputer
from streamrec.model.zoo import sasrec, vsknn
from streamrec.model.zoo.base import Architecture, TrainingRun, TrainOutcome
from streamrec.model.zoo.updates import Catalog, ClickBatch, LearnerStart, UpdateReport


@dataclass(frozen=True)
class HybridConfig:
    """How much of the blend is V-SKNN's."""

    weight: float = 0.4

    def validate(self) -> HybridConfig:
        """This config, or ``ValueError`` when the weight is outside [0, 1]."""
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"the hybrid's weight must be in [0, 1], got {self.weight}")
        return self


class HybridScorer:
    """The blend of a SASRec scorer and a V-SKNN index, as the module describes."""

    def __init__(self, neural: Scorer, neighbours: Scorer, weight: float) -> None:
        self.neural = neural
        self.neighbours = neighbours
        self.weight = weight

    def score(self, batch: PrefixBatch) -> torch.Tensor:
        """Blended probabilities (B, n_items)."""
        neural = torch.softmax(self.neural.score(batch).double(), dim=1)
        votes = self.neighbours.score(batch).to(neural.device).double()
        mass = votes.sum(dim=1, keepdim=True)
        votes = torch.where(mass > 0, votes / mass.clamp_min(1e-300), 0.0)
        share = torch.where(mass > 0, self.weight, 0.0)
        return ((1.0 - share) * neural + share * votes).float()


class HybridModel:
    """A trained SASRec and a V-SKNN index over the same catalog, blended."""

    architecture = "hybrid"

    def __init__(
        self, neural: sasrec.SasRecModel, neighbours: vsknn.VSKNNModel, config: HybridConfig
    ) -> None:
        if neural.n_items != neighbours.n_items:
            raise ValueError(
                f"parts disagree on the catalog: {neural.n_items} and {neighbours.n_items} items"
            )
        self.neural = neural
        self.neighbours = neighbours
        self.cfg = config.validate()

    @property
    def n_items(self) -> int:
        """Catalog size."""
        return self.neural.n_items

    def config(self) -> dict[str, Any]:
        """The weight and each part's hyper-parameters."""
        return {
            "weight": self.cfg.weight,
            "sasrec": self.neural.config(),
            "vsknn": self.neighbours.config(),
        }

    def state(self) -> dict[str, Any]:
        """Each part's state under its name (``sasrec.<key>``, ``vsknn.<key>``)."""
        parts = (("sasrec", self.neural.state()), ("vsknn", self.neighbours.state()))
        return {f"{name}.{key}": value for name, state in parts for key, value in state.items()}

    def n_parameters(self) -> int:
        """Both parts' learned numbers."""
        return self.neural.n_parameters() + self.neighbours.n_parameters()

    def scorer(self) -> Scorer:
        """The blend (``HybridScorer``)."""
        return HybridScorer(self.neural.scorer(), self.neighbours.scorer(), self.cfg.weight)

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """Every window recomputed (both parts read the whole window)."""
        return WindowRecomputer(self.scorer(), max_len)


def _train(run: TrainingRun) -> TrainOutcome:
    neural = sasrec.SASREC.train(run)
    data = run.data
    neighbours = vsknn.fit_vsknn(data.corpus, data.train.session_index, vsknn.VSKNNConfig())
    assert isinstance(neural.model, sasrec.SasRecModel)
    model = HybridModel(neural.model, neighbours, HybridConfig())
    history = list(neural.history)
    if len(data.val) and history:
        totals = evaluate(model.scorer(), data.val, data.corpus.behaviors)
        figures = totals.total.metrics()
        history[-1] = dataclasses.replace(
            history[-1],
            hit_at_10=figures["hit_at_10"],
            hit_at_20=figures["hit_at_20"],
            mrr_at_20=figures["mrr_at_20"],
            per_behavior={k: dict(v.metrics()) for k, v in totals.groups.items()},
        )
    run.board.note(f"indexed {neighbours.n_sessions:,} training sessions for the hybrid's V-SKNN")
    recipe = {
        "recipe": f"(1 - {model.cfg.weight}) x softmax(SASRec) + {model.cfg.weight} x "
        "normalised V-SKNN votes",
        "sasrec": neural.recipe,
    }
    return TrainOutcome(model, history, recipe)


def _load(
    config: dict[str, Any], state: dict[str, Any], n_items: int, device: torch.device
) -> HybridModel:
    parts: dict[str, dict[str, Any]] = {"sasrec": {}, "vsknn": {}}
    for key, value in state.items():
        name, _, rest = key.partition(".")
        if name not in parts or not rest:
            raise ValueError(f"unexpected state entry {key!r}")
        parts[name][rest] = value
    neural = sasrec.SASREC.load(config["sasrec"], parts["sasrec"], n_items, device)
    neighbours = vsknn.VSKNN.load(config["vsknn"], parts["vsknn"], n_items, device)
    assert isinstance(neural, sasrec.SasRecModel) and isinstance(neighbours, vsknn.VSKNNModel)
    return HybridModel(neural, neighbours, HybridConfig(weight=float(config["weight"])))


class HybridLearner:
    """Both parts' learners side by side (see the module docstring)."""

    architecture = "hybrid"
    update_kind = "fine-tune"

    def __init__(self, start: LearnerStart) -> None:
        model = start.model
        if not isinstance(model, HybridModel):
            raise ValueError("hybrid learns from the stream starting from a trained hybrid")
        self.cfg = model.cfg
        self.neural = sasrec.learner(dataclasses.replace(start, model=model.neural))
        self.neighbours = vsknn.learner(dataclasses.replace(start, model=model.neighbours))

    @property
    def catalog(self) -> Catalog:
        """The catalog of the last published version (the parts agree on it)."""
        return self.neural.catalog

    def learn(self, batch: ClickBatch) -> None:
        """Both parts take the clicks."""
        self.neural.learn(batch)
        self.neighbours.learn(batch)

    def publish(self, budget_s: float | None = None) -> tuple[HybridModel, UpdateReport]:
        """Both parts' next versions, blended; the report is the fine-tune's, its seconds
        the two updates' together."""
        neural, report = self.neural.publish(budget_s)
        neighbours, index_report = self.neighbours.publish(budget_s)
        assert isinstance(neural, sasrec.SasRecModel) and isinstance(neighbours, vsknn.VSKNNModel)
        model = HybridModel(neural, neighbours, self.cfg)
        both = dataclasses.replace(report, seconds=report.seconds + index_report.seconds)
        return model, both

    def state(self) -> dict[str, Any]:
        """Both parts' states."""
        return {
            "architecture": self.architecture,
            "sasrec": self.neural.state(),
            "vsknn": self.neighbours.state(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Both parts restored (``ValueError`` for another model's state)."""
        if state.get("architecture") != self.architecture:
            raise ValueError(
                f"a {state.get('architecture')!r} learner's state cannot restore hybrid"
            )
        self.neural.restore(state["sasrec"])
        self.neighbours.restore(state["vsknn"])


HYBRID = Architecture(
    name="hybrid",
    summary="hybrid: SASRec and V-SKNN blended 0.6/0.4 (weighted hybrid, Ludewig & Jannach 2018)",
    train=_train,
    load=_load,
    learner=HybridLearner,
    update_kind="fine-tune",
)
