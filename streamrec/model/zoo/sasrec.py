"""``sasrec``: SASRec (Kang & McAuley, ICDM 2018), a causal self-attention encoder
(``model.networks.sasrec``) trained on every position of each training session at once.

Training windows are what offline scoring sees: a session's first ``max_len`` clicks form
one window trained at every position (each predicts the next click); each later click's
window is its last ``max_len`` clicks, trained at that click only (the earlier positions of a
sliding window would see a context that scoring never gives them). The loss is full-catalog
cross-entropy (the paper's binary cross-entropy with one sampled negative is cheaper on
large catalogs; a few thousand items make the full softmax affordable and stronger). Adam
with the paper's betas (0.9, 0.98).

Defaults (``SasRecConfig``): hidden 64, 2 blocks, 1 head, dropout 0.2 (the paper's), batch
64, learning rate 2e-3, 10 epochs: on YOOCHOOSE-100k (about 14k training windows) an epoch
takes about 4 s on two idle CPU cores and validation levels off after about 10 epochs.
``--epochs``, ``--batch-size`` and ``--learning-rate`` override them when set.

From the stream it fine-tunes (``zoo.finetune``): the same windows and loss over the update's
sessions, Adam kept across versions, new items appended to the tied item table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from streamrec.config import Settings
from streamrec.model.networks.sasrec import SasRecConfig, SasRecNetwork, sequence_loss
from streamrec.model.scoring import NetworkScorer
from streamrec.model.training.sampled import fused_adam, sampler_for
from streamrec.model.zoo.base import (
    Architecture,
    NetworkModel,
    TrainingRun,
    TrainOutcome,
    configure,
    network_loader,
)
from streamrec.model.zoo.epochs import fit_epochs
from streamrec.model.zoo.finetune import NeuralLearner
from streamrec.model.zoo.grow import grow_embedding
from streamrec.model.zoo.tuning import TrainPlan, run_batches
from streamrec.model.zoo.updates import LearnerStart

IGNORE = -1  # target of a position that is not trained


class SasRecModel(NetworkModel):
    """A trained ``SasRecNetwork`` behind the zoo's ``SessionModel`` interface (its config
    holds the network and training hyper-parameters)."""

    architecture = "sasrec"
    network: SasRecNetwork


def training_windows(
    sessions: Sequence[Sequence[int]], max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Left-padded input windows (N, max_len) of model ids and their targets (N, max_len)
    of dense ids (``IGNORE`` where a position is not trained), as the module describes."""
    windows: list[np.ndarray] = []
    targets: list[np.ndarray] = []

    def add(inputs: Sequence[int], wanted: Sequence[int]) -> None:
        window = np.zeros(max_len, dtype=np.int64)
        target = np.full(max_len, IGNORE, dtype=np.int64)
        window[max_len - len(inputs) :] = np.asarray(inputs, dtype=np.int64) + 1
        target[max_len - len(wanted) :] = wanted
        windows.append(window)
        targets.append(target)

    for session in sessions:
        clicks = list(session)
        head = clicks[: max_len + 1]
        if len(head) >= 2:
            add(head[:-1], head[1:])
        for k in range(max_len, len(clicks) - 1):  # predicts click k + 1 from k - max_len + 1..k
            add(clicks[k - max_len + 1 : k + 1], [IGNORE] * (max_len - 1) + [clicks[k + 1]])
    if not windows:
        return np.zeros((0, max_len), np.int64), np.zeros((0, max_len), np.int64)
    return np.stack(windows), np.stack(targets)


class SasRecTrainer:
    """Adam over shuffled batches of training windows, one epoch per call."""

    def __init__(
        self,
        network: SasRecNetwork,
        sessions: Sequence[Sequence[int]],
        device: torch.device,
        loss: str = "full",
    ) -> None:
        """``loss``: 'full' (full-catalog cross-entropy) or 'sampled' (``training.sampled``)."""
        config = network.config
        self.network = network
        self.device = device
        windows, targets = training_windows(sessions, config.max_len)
        self.windows = torch.from_numpy(windows)
        self.targets = torch.from_numpy(targets)
        self.sampler = sampler_for(loss, targets.ravel(), config.n_items, config.seed)
        fused = fused_adam(self.sampler)
        self.batch_size = config.batch_size
        self.optimizer = torch.optim.Adam(
            network.parameters(),
            lr=config.learning_rate,
            betas=(0.9, 0.98),
            weight_decay=config.weight_decay,
            fused=fused,
        )
        self.generator = torch.Generator().manual_seed(config.seed)

    @property
    def steps_per_epoch(self) -> int:
        """Batches in an epoch."""
        return -(-len(self.windows) // self.batch_size)

    def epoch(self, on_step: Callable[[int, float], None] | None = None) -> float:
        """Train one epoch; the mean loss over its trained positions."""
        self.network.train()
        order = torch.randperm(len(self.windows), generator=self.generator)
        total, positions = 0.0, 0
        for step, start in enumerate(range(0, len(order), self.batch_size), start=1):
            rows = order[start : start + self.batch_size]
            windows = self.windows[rows].to(self.device)
            targets = self.targets[rows].to(self.device)
            loss = sequence_loss(self.network, windows, targets, self.sampler)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            trained = int((targets >= 0).sum())
            total += loss.item() * trained
            positions += trained
            if on_step is not None:
                on_step(step, total / max(positions, 1))
        self.network.eval()
        return total / max(positions, 1)


def config_for(settings: Settings, n_items: int) -> SasRecConfig:
    """The defaults, with the settings that are set (non-zero), over ``settings.max_len``."""
    config = dataclasses.replace(
        configure(SasRecConfig, settings, n_items), max_len=settings.max_len
    )
    config.validate()
    return config


def train(run: TrainingRun) -> TrainOutcome:
    """Train on every position of the training sessions, validated on ``data.val`` after
    every epoch."""
    data = run.data
    config = config_for(run.settings, data.corpus.n_items)
    torch.manual_seed(config.seed)
    network = SasRecNetwork(config).to(run.device)
    train_sessions = sorted(set(int(i) for i in data.train.session_index))
    sessions = [data.corpus.sessions[i] for i in train_sessions]
    trainer = SasRecTrainer(network, sessions, run.device, run.settings.loss)
    history = fit_epochs(
        run, config.epochs, trainer.steps_per_epoch, "batches", trainer.epoch,
        lambda: NetworkScorer(network, run.device), validation_loss=False,
    )  # fmt: skip
    recipe = {
        "recipe": "SASRec, every position trained, full-catalog cross-entropy, Adam "
        "(Kang & McAuley 2018)",
        **config.to_dict(),
    }
    if trainer.sampler is not None:
        recipe["loss"] = "sampled"
    return TrainOutcome(SasRecModel(network.cpu(), torch.device("cpu")), history, recipe)


load = network_loader(SasRecConfig, SasRecNetwork, SasRecModel)


class SasRecTuner:
    """SASRec's fine-tune: its training windows and loss, Adam with the paper's betas."""

    default_steps = 100

    def make_optimizer(self, network: nn.Module) -> torch.optim.Optimizer:
        """Adam as ``SasRecTrainer`` uses it."""
        assert isinstance(network, SasRecNetwork)
        config = network.config
        return torch.optim.Adam(
            network.parameters(),
            lr=config.learning_rate,
            betas=(0.9, 0.98),
            weight_decay=config.weight_decay,
        )

    def grow(self, network: nn.Module, extra: int, generator: torch.Generator) -> None:
        """New rows in the tied item table (row 0 stays padding)."""
        assert isinstance(network, SasRecNetwork)
        grow_embedding(network.items, extra, generator, head=1)

    def train(
        self,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        sessions: Sequence[Sequence[int]],
        plan: TrainPlan,
    ) -> int:
        """Shuffled batches of the sessions' training windows within ``plan``."""
        assert isinstance(network, SasRecNetwork)
        windows, targets = (
            torch.from_numpy(a) for a in training_windows(sessions, network.config.max_len)
        )
        device = network.items.weight.device
        network.train()

        def step(rows: torch.Tensor) -> None:
            loss = sequence_loss(network, windows[rows].to(device), targets[rows].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        try:
            return run_batches(len(windows), network.config.batch_size, plan, step)
        finally:
            network.eval()


def learner(start: LearnerStart) -> NeuralLearner:
    """The fine-tuning learner of a trained SASRec (``start.model``)."""
    model = start.model
    if not isinstance(model, SasRecModel):
        raise ValueError("sasrec learns from the stream starting from a trained sasrec model")
    return NeuralLearner(
        "sasrec", start, model.network, SasRecTuner(),
        lambda network: SasRecModel(network, model.device),
    )  # fmt: skip


SASREC = Architecture(
    name="sasrec",
    summary="SASRec: causal self-attention over the session, tied item embeddings "
    "(Kang & McAuley 2018)",
    train=train,
    load=load,
    learner=learner,
    update_kind="fine-tune",
)
