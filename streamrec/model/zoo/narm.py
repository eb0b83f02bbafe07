"""``narm``: NARM (Li et al., CIKM 2017), trained as its paper trains it: every prefix of
every training session is an example, cross-entropy over the full catalog, Adam at 1e-3,
batch 512 (``model.networks.narm.NarmConfig``).

Batches hold prefixes of one length (``training.trainer.length_bucketed_batches``), so the
GRU runs only over real clicks. 20 epochs by default (within the paper's range; a few
minutes on a laptop CPU for YOOCHOOSE-100k); ``--epochs``, ``--batch-size`` and
``--learning-rate`` override the defaults when set (their default 0 means the
architecture's own).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from streamrec.config import Settings
from streamrec.model.data.examples import PrefixExamples
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.networks.narm import NarmConfig, NarmNetwork, NarmScorer
from streamrec.model.scoring import Scorer, StreamingScorer, WindowRecomputer
from streamrec.model.training.trainer import EpochRecord, count_batches, length_bucketed_batches
from streamrec.model.zoo.base import Architecture, TrainingRun, TrainOutcome
from streamrec.model.zoo.lstm_attn import epoch_line

log = logging.getLogger("streamrec.model")

# Settings field -> NarmConfig field it overrides when set (0: the paper's value)
OVERRIDES = {"epochs": "epochs", "batch_size": "batch_size", "learning_rate": "learning_rate"}


class NarmModel:
    """A trained ``NarmNetwork`` behind the zoo's ``SessionModel`` interface."""

    architecture = "narm"

    def __init__(self, network: NarmNetwork, device: torch.device) -> None:
        self.network = network.to(device).eval()
        self.device = device

    @property
    def n_items(self) -> int:
        """Catalog size."""
        return self.network.n_items

    def config(self) -> dict[str, Any]:
        """The ``NarmConfig`` (network and training hyper-parameters)."""
        return self.network.config.to_dict()

    def state(self) -> dict[str, Any]:
        """The network's weights."""
        return dict(self.network.state_dict())

    def n_parameters(self) -> int:
        """Trainable weights."""
        return sum(p.numel() for p in self.network.parameters() if p.requires_grad)

    def scorer(self) -> Scorer:
        """The GRU and both encoders over each prefix's window (its last ``max_len`` clicks)."""
        return NarmScorer(self.network, self.device)

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """Window recomputation, exact by construction. NARM's attention reads every hidden
        state of the window again at each click, and a sliding window restarts the GRU, so
        there is no small per-session state to step from ('incremental' is served so too)."""
        if scoring == "incremental":
            log.info("narm recomputes every window (its attention reads the whole window)")
        return WindowRecomputer(self.scorer(), max_len)


def config_for(settings: Settings, n_items: int) -> NarmConfig:
    """The paper's defaults, with the settings that are set (non-zero)."""
    changes: dict[str, Any] = {"n_items": n_items, "seed": settings.seed}
    for setting, field in OVERRIDES.items():
        if getattr(settings, setting):
            changes[field] = getattr(settings, setting)
    config = NarmConfig(**changes)
    config.validate()
    return config


def train_epoch(
    network: NarmNetwork,
    optimizer: torch.optim.Optimizer,
    train: PrefixExamples,
    config: NarmConfig,
    rng: np.random.Generator,
    device: torch.device,
    on_batch: Any = None,
) -> float:
    """One pass over ``train`` in length-bucketed batches; the mean batch loss."""
    network.train()
    windows = torch.from_numpy(train.windows)
    targets = torch.from_numpy(train.targets)
    losses: list[float] = []
    for i, idx_np in enumerate(length_bucketed_batches(train.lengths, config.batch_size, rng)):
        idx = torch.from_numpy(idx_np)
        length = int(train.lengths[idx_np[0]])
        x = windows[idx][:, -length:].to(device)  # one length: no padding left
        y = targets[idx].to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(network(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if on_batch is not None:
            on_batch(i + 1, float(np.mean(losses[-50:])))
    return float(np.mean(losses)) if losses else float("nan")


def validate(
    network: NarmNetwork, val: PrefixExamples, labels: list[str | None], device: torch.device
) -> tuple[float, dict[str, float], dict[str, dict[str, float]]]:
    """Validation loss, figures and per-behaviour figures on ``val``."""
    loss_sum = 0.0

    def add_loss(scores: torch.Tensor, targets: torch.Tensor) -> None:
        nonlocal loss_sum
        loss_sum += float(F.cross_entropy(scores, targets, reduction="sum"))

    totals = evaluate(NarmScorer(network, device), val, labels, on_batch=add_loss)
    figures = dict(totals.total.metrics())
    per_behavior = {k: dict(v.metrics()) for k, v in totals.groups.items()}
    return loss_sum / max(len(val), 1), figures, per_behavior


def train(run: TrainingRun) -> TrainOutcome:
    """Adam on full-catalog cross-entropy, validated on ``data.val`` after every epoch."""
    data, board = run.data, run.board
    config = config_for(run.settings, data.corpus.n_items)
    torch.manual_seed(config.seed)
    network = NarmNetwork(config).to(run.device)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    rng = np.random.default_rng(config.seed)
    total = count_batches(data.train.lengths, config.batch_size)
    has_val = len(data.val) > 0
    history: list[EpochRecord] = []
    nan = float("nan")
    for epoch in range(1, config.epochs + 1):
        task = board.add(f"epoch {epoch}/{config.epochs}", total=total)

        def on_batch(done: int, loss: float, task: int = task) -> None:
            board.update(task, done, total, info=f"batches, loss {loss:.3f}")

        started = time.perf_counter()
        train_loss = train_epoch(network, optimizer, data.train, config, rng, run.device, on_batch)
        trained = time.perf_counter()
        val_loss, figures = nan, {"hit_at_10": nan, "hit_at_20": nan, "mrr_at_20": nan}
        per_behavior: dict[str, dict[str, float]] = {}
        if has_val:
            labels = list(data.corpus.behaviors)
            val_loss, figures, per_behavior = validate(network, data.val, labels, run.device)
        record = EpochRecord(
            epoch=epoch, train_loss=train_loss, val_loss=val_loss,
            hit_at_10=figures["hit_at_10"], hit_at_20=figures["hit_at_20"],
            mrr_at_20=figures["mrr_at_20"], train_seconds=trained - started,
            eval_seconds=time.perf_counter() - trained, per_behavior=per_behavior,
        )  # fmt: skip
        history.append(record)
        board.note(epoch_line(record, has_validation=has_val))
        board.done(task)
    recipe = {
        "recipe": "NARM: every prefix, full-catalog cross-entropy, Adam (Li et al. 2017)",
        **config.to_dict(),
    }
    return TrainOutcome(NarmModel(network.cpu(), torch.device("cpu")), history, recipe)


def load(
    config: dict[str, Any], state: dict[str, Any], n_items: int, device: torch.device
) -> NarmModel:
    """Rebuild the network from its config and weights."""
    model_config = NarmConfig(**config)
    model_config.validate()
    if model_config.n_items != n_items:
        raise ValueError(f"catalog size {n_items} disagrees with its config")
    network = NarmNetwork(model_config)
    network.load_state_dict(state)
    return NarmModel(network, device)


NARM = Architecture(
    name="narm",
    summary="NARM: GRU with global and attentive local encoders and a bilinear decoder "
    "(Li et al. 2017)",
    train=train,
    load=load,
)
