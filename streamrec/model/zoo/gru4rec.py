"""``gru4rec``: GRU4Rec (Hidasi et al., ICLR 2016; Hidasi & Karatzoglou, CIKM 2018), trained
as its authors train it (``model.training.gru4rec``) with their best published RSC15
cross-entropy setting as defaults (``model.networks.gru4rec.Gru4RecConfig``).

``--epochs``, ``--batch-size`` and ``--learning-rate`` override the published values when
set (their default 0 means each architecture's own).
"""

from __future__ import annotations

import time
from typing import Any

import torch

from streamrec.config import Settings
from streamrec.model.evaluation.evaluate import evaluate
from streamrec.model.networks.gru4rec import Gru4RecConfig, Gru4RecNetwork, Gru4RecScorer
from streamrec.model.networks.gru4rec_streaming import Gru4RecStreamingScorer
from streamrec.model.scoring import Scorer, StreamingScorer, WindowRecomputer
from streamrec.model.training.gru4rec import Gru4RecTrainer
from streamrec.model.training.trainer import EpochRecord
from streamrec.model.zoo.base import (
    Architecture,
    NetworkModel,
    TrainingRun,
    TrainOutcome,
    rebuild_network,
)
from streamrec.model.zoo.lstm_attn import epoch_line

# Settings field -> Gru4RecConfig field it overrides when set (0: the published value)
OVERRIDES = {"epochs": "epochs", "batch_size": "batch_size", "learning_rate": "learning_rate"}


class Gru4RecModel(NetworkModel):
    """A trained ``Gru4RecNetwork`` behind the zoo's ``SessionModel`` interface (its config
    holds the network and training hyper-parameters)."""

    architecture = "gru4rec"
    network: Gru4RecNetwork

    def scorer(self) -> Scorer:
        """The GRU over each prefix's window (its last ``max_len`` clicks)."""
        return Gru4RecScorer(self.network, self.device)

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """One GRU step per click from the cached state ('incremental'), else recomputation."""
        if scoring == "incremental":
            return Gru4RecStreamingScorer(self.network, max_len, cache_bytes, self.device)
        return WindowRecomputer(self.scorer(), max_len)


def config_for(settings: Settings, n_items: int) -> Gru4RecConfig:
    """The published defaults, with the settings that are set (non-zero)."""
    changes: dict[str, Any] = {"n_items": n_items, "seed": settings.seed}
    for setting, field in OVERRIDES.items():
        if getattr(settings, setting):
            changes[field] = getattr(settings, setting)
    config = Gru4RecConfig(**changes)
    config.validate()
    return config


def train(run: TrainingRun) -> TrainOutcome:
    """Session-parallel training, validated on ``data.val`` after every epoch."""
    data, board = run.data, run.board
    config = config_for(run.settings, data.corpus.n_items)
    torch.manual_seed(config.seed)
    network = Gru4RecNetwork(config).to(run.device)
    train_sessions = sorted(set(int(i) for i in data.train.session_index))
    trainer = Gru4RecTrainer(network, [data.corpus.sessions[i] for i in train_sessions])
    has_val = len(data.val) > 0
    history: list[EpochRecord] = []
    nan = float("nan")
    for epoch in range(1, config.epochs + 1):
        task = board.add(f"epoch {epoch}/{config.epochs}", total=trainer.steps_per_epoch)
        last = [0.0]

        def on_step(clicks: int, loss: float, task: int = task, last: list[float] = last) -> None:
            if clicks - last[0] >= 2000 or clicks == trainer.steps_per_epoch:
                last[0] = clicks
                board.update(task, clicks, info=f"clicks, loss {loss:.3f}")

        started = time.perf_counter()
        train_loss = trainer.epoch(on_step)
        trained = time.perf_counter()
        figures = {"hit_at_10": nan, "hit_at_20": nan, "mrr_at_20": nan}
        per_behavior: dict[str, dict[str, float]] = {}
        if has_val:
            totals = evaluate(Gru4RecScorer(network, run.device), data.val, data.corpus.behaviors)
            figures = dict(totals.total.metrics())
            per_behavior = {k: dict(v.metrics()) for k, v in totals.groups.items()}
        record = EpochRecord(
            epoch=epoch, train_loss=train_loss, val_loss=nan,
            hit_at_10=figures["hit_at_10"], hit_at_20=figures["hit_at_20"],
            mrr_at_20=figures["mrr_at_20"], train_seconds=trained - started,
            eval_seconds=time.perf_counter() - trained, per_behavior=per_behavior,
        )  # fmt: skip
        history.append(record)
        board.note(epoch_line(record, has_validation=has_val))
        board.done(task)
    recipe = {
        "recipe": "GRU4Rec session-parallel training (Hidasi et al. 2016/2018)",
        "defaults": "hidasib/GRU4Rec_PyTorch_Official paramfiles/rsc15_xe_shared_100_best.py",
        **config.to_dict(),
    }
    return TrainOutcome(Gru4RecModel(network.cpu(), torch.device("cpu")), history, recipe)


def load(
    config: dict[str, Any], state: dict[str, Any], n_items: int, device: torch.device
) -> Gru4RecModel:
    """Rebuild the network from its config and weights."""
    network = rebuild_network(Gru4RecConfig, Gru4RecNetwork, config, state, n_items)
    assert isinstance(network, Gru4RecNetwork)
    return Gru4RecModel(network, device)


GRU4REC = Architecture(
    name="gru4rec",
    summary="GRU4Rec: session-parallel GRU with sampled cross-entropy (Hidasi et al. 2016, "
    "Hidasi & Karatzoglou 2018)",
    train=train,
    load=load,
)
