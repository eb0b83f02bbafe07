"""``lstm-attn``: the seed's session LSTM with attention pooling, trained with its recipe.

From the stream it fine-tunes (``zoo.finetune``): every prefix of the update's sessions,
cross-entropy, Adam at the recipe's rate (``--learning-rate`` when set) with its gradient
clipping, batches of 32; new items get input
embedding rows and output units.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch

from streamrec.model.checkpoint import CheckpointError, CheckpointMeta, read_checkpoint
from streamrec.model.evaluation.evaluate import ModelScorer
from streamrec.model.networks.incremental import IncrementalScorer
from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender
from streamrec.model.scoring import Scorer, StreamingScorer, WindowRecomputer
from streamrec.model.training.sampled import sampler_for
from streamrec.model.training.trainer import EpochRecord, TrainConfig, Trainer
from streamrec.model.zoo.base import (
    Architecture,
    NetworkModel,
    TrainingRun,
    TrainOutcome,
    network_loader,
    rebuild_network,
)
from streamrec.model.zoo.finetune import NeuralLearner
from streamrec.model.zoo.grow import grow_embedding, grow_linear
from streamrec.model.zoo.tuning import PrefixTuner
from streamrec.model.zoo.updates import LearnerStart

log = logging.getLogger("streamrec.model")


class LSTMAttnModel(NetworkModel):
    """A trained ``SessionLSTMRecommender`` behind the zoo's ``SessionModel`` interface."""

    architecture = "lstm-attn"
    network: SessionLSTMRecommender

    def scorer(self) -> Scorer:
        """The network's forward pass (length-grouped where that is faster)."""
        return ModelScorer(self.network, self.device)

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """One LSTM step per click from cached state (zero-start models), else recomputation:
        a 'padding' model's state at each click depends on the padding length."""
        if scoring == "incremental" and self.network.zero_start:
            return IncrementalScorer(self.network, max_len, cache_bytes, self.device)
        if scoring == "incremental":
            log.warning(
                "this model was trained with window_start='padding': its state at each click "
                "depends on the padding, so every window is recomputed (train with "
                "--window-start zero for incremental scoring)"
            )
        return WindowRecomputer(self.scorer(), max_len)


def train(run: TrainingRun) -> TrainOutcome:
    """The seed's recipe (Adam, StepLR 8/0.5, clip 5.0, cross-entropy), epoch by epoch."""
    settings, data = run.settings, run.data
    torch.manual_seed(settings.seed)
    network = SessionLSTMRecommender(
        ModelConfig(n_items=data.corpus.n_items, window_start=settings.window_start)
    )
    recipe = TrainConfig(
        epochs=settings.epochs or TrainConfig.epochs,
        batch_size=settings.batch_size or TrainConfig.batch_size,
        learning_rate=settings.learning_rate or TrainConfig.learning_rate,
        seed=settings.seed,
    )
    sampler = sampler_for(settings.loss, data.train.targets, data.corpus.n_items, settings.seed)
    trainer = Trainer(network, recipe, run.device, sampler)
    board = run.board
    task = board.add(f"epoch 1/{recipe.epochs}")

    def on_batch(done: int, total: int, loss: float) -> None:
        board.update(task, done, total, info=f"batches, loss {loss:.3f}")

    def on_epoch(record: EpochRecord) -> None:
        nonlocal task
        board.note(epoch_line(record, has_validation=len(data.val) > 0))
        board.done(task)
        if record.epoch < recipe.epochs:
            task = board.add(f"epoch {record.epoch + 1}/{recipe.epochs}")

    history = trainer.fit(data.train, data.val, data.corpus.behaviors, on_batch, on_epoch)
    recipe_dict = recipe.to_dict() | ({"loss": "sampled"} if sampler is not None else {})
    return TrainOutcome(LSTMAttnModel(network.cpu(), torch.device("cpu")), history, recipe_dict)


def epoch_line(record: EpochRecord, has_validation: bool) -> str:
    """One line per epoch: losses, validation figures, times."""
    loss = "" if math.isnan(record.val_loss) else f"val loss {record.val_loss:.4f}  "
    validation = (
        f"{loss}Hit@10 {record.hit_at_10:.4f}  "
        f"Hit@20 {record.hit_at_20:.4f}  MRR@20 {record.mrr_at_20:.4f}"
        if has_validation
        else "no validation data (--split none: give --validation-csv for figures)"
    )
    return (
        f"epoch {record.epoch:2d}: train loss {record.train_loss:.4f}  {validation}  "
        f"({record.train_seconds:.1f}s train, {record.eval_seconds:.1f}s eval)"
    )


load = network_loader(ModelConfig, SessionLSTMRecommender, LSTMAttnModel)


def _grow(network: torch.nn.Module, extra: int, generator: torch.Generator) -> None:
    assert isinstance(network, SessionLSTMRecommender)
    grow_embedding(network.item_embedding, extra, generator, head=1)
    grow_linear(network.output, extra, generator)


def learner(start: LearnerStart) -> NeuralLearner:
    """The fine-tuning learner of a trained lstm-attn model (``start.model``)."""
    model = start.model
    if not isinstance(model, LSTMAttnModel):
        raise ValueError("lstm-attn learns from the stream starting from a trained lstm-attn model")
    tuner = PrefixTuner(
        _grow, lambda network, windows: network(windows)[0], start.settings.max_len,
        learning_rate=start.settings.learning_rate or TrainConfig.learning_rate,
        clip_norm=TrainConfig.clip_norm,
    )  # fmt: skip
    return NeuralLearner(
        "lstm-attn", start, model.network, tuner,
        lambda network: LSTMAttnModel(network, model.device),
    )  # fmt: skip


LSTM_ATTN = Architecture(
    name="lstm-attn",
    summary="the seed's LSTM with attention pooling (case study; attention as in NARM, "
    "Li et al. 2017)",
    train=train,
    load=load,
    learner=learner,
    update_kind="fine-tune",
)


def load_network(
    path: Path, device: str | torch.device = "cpu", expect_n_items: int | None = None
) -> tuple[SessionLSTMRecommender, CheckpointMeta]:
    """The LSTM network of an ``lstm-attn`` checkpoint (for benchmarks and tests that need
    the network itself); other architectures are refused."""
    state, meta = read_checkpoint(path, expect_n_items)
    if meta.architecture != LSTM_ATTN.name:
        raise CheckpointError(f"{path} holds a {meta.architecture} model, not {LSTM_ATTN.name}")
    try:
        network = rebuild_network(ModelConfig, SessionLSTMRecommender, meta.config, state,
                                  meta.n_items)  # fmt: skip
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: its weights do not load ({exc})") from None
    assert isinstance(network, SessionLSTMRecommender)
    return network.to(device).eval(), meta
