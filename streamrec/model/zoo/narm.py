"""``narm``: NARM (Li et al., CIKM 2017), trained as its paper trains it: every prefix of
every training session is an example, cross-entropy over the full catalog, Adam at 1e-3,
batch 512 (``model.networks.narm.NarmConfig``).

Batches hold prefixes of one length (``training.trainer.length_bucketed_batches``), so the
GRU runs only over real clicks. 20 epochs by default (within the paper's range; a few
minutes on a laptop CPU for YOOCHOOSE-100k); ``--epochs``, ``--batch-size`` and
``--learning-rate`` override the defaults when set (their default 0 means the
architecture's own).

From the stream it fine-tunes (``zoo.finetune``): every prefix of the update's sessions,
full-catalog cross-entropy, Adam at its training rate (``--learning-rate`` when set) kept
across versions, batches of 32; new items get
rows in the item table, which both encodes clicks and decodes scores.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from streamrec.config import Settings
from streamrec.model.data.examples import PrefixExamples
from streamrec.model.networks.narm import NarmConfig, NarmNetwork
from streamrec.model.scoring import NetworkScorer, StreamingScorer
from streamrec.model.training.sampled import (
    PopularitySampler,
    fused_adam,
    sampled_softmax_loss,
    sampler_for,
)
from streamrec.model.training.trainer import count_batches, length_bucketed_batches
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
from streamrec.model.zoo.tuning import PrefixTuner
from streamrec.model.zoo.updates import LearnerStart

log = logging.getLogger("streamrec.model")


class NarmModel(NetworkModel):
    """A trained ``NarmNetwork`` behind the zoo's ``SessionModel`` interface (its config holds
    the network and training hyper-parameters)."""

    architecture = "narm"
    network: NarmNetwork

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """Window recomputation, exact by construction. NARM's attention reads every hidden
        state of the window again at each click, and a sliding window restarts the GRU, so
        there is no small per-session state to step from ('incremental' is served so too)."""
        if scoring == "incremental":
            log.info("narm recomputes every window (its attention reads the whole window)")
        return super().streaming_scorer(max_len, scoring, cache_bytes)


def config_for(settings: Settings, n_items: int) -> NarmConfig:
    """The published defaults, with the settings that are set (non-zero)."""
    return configure(NarmConfig, settings, n_items)


def train_epoch(
    network: NarmNetwork,
    optimizer: torch.optim.Optimizer,
    train: PrefixExamples,
    config: NarmConfig,
    rng: np.random.Generator,
    device: torch.device,
    on_batch: Any = None,
    sampler: PopularitySampler | None = None,
) -> float:
    """One pass over ``train`` in length-bucketed batches; the mean batch loss (the sampled
    softmax with a ``sampler``, else the full-catalog cross-entropy)."""
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
        if sampler is None:
            loss = F.cross_entropy(network(x), y)
        else:
            vectors = network.window_vectors(x)
            loss = sampled_softmax_loss(vectors, y, network.output_table(), sampler)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if on_batch is not None:
            on_batch(i + 1, float(np.mean(losses[-50:])))
    return float(np.mean(losses)) if losses else float("nan")


def train(run: TrainingRun) -> TrainOutcome:
    """Adam on full-catalog cross-entropy, validated on ``data.val`` after every epoch."""
    data = run.data
    config = config_for(run.settings, data.corpus.n_items)
    torch.manual_seed(config.seed)
    network = NarmNetwork(config).to(run.device)
    sampler = sampler_for(run.settings.loss, data.train.targets, config.n_items, config.seed)
    optimizer = torch.optim.Adam(
        network.parameters(), lr=config.learning_rate, fused=fused_adam(sampler)
    )
    rng = np.random.default_rng(config.seed)
    total = count_batches(data.train.lengths, config.batch_size)
    history = fit_epochs(
        run, config.epochs, total, "batches",
        lambda progress: train_epoch(network, optimizer, data.train, config, rng, run.device,
                                     progress, sampler),
        lambda: NetworkScorer(network, run.device),
    )  # fmt: skip
    recipe = {
        "recipe": "NARM: every prefix, full-catalog cross-entropy, Adam (Li et al. 2017)",
        **config.to_dict(),
    }
    if sampler is not None:
        recipe["loss"] = "sampled"
    return TrainOutcome(NarmModel(network.cpu(), torch.device("cpu")), history, recipe)


load = network_loader(NarmConfig, NarmNetwork, NarmModel)


def _grow(network: torch.nn.Module, extra: int, generator: torch.Generator) -> None:
    assert isinstance(network, NarmNetwork)
    grow_embedding(network.item_emb, extra, generator, head=1)


def learner(start: LearnerStart) -> NeuralLearner:
    """The fine-tuning learner of a trained NARM (``start.model``)."""
    model = start.model
    if not isinstance(model, NarmModel):
        raise ValueError("narm learns from the stream starting from a trained narm model")
    tuner = PrefixTuner(
        _grow, lambda network, windows: network(windows), start.settings.max_len,
        learning_rate=start.settings.learning_rate or model.network.config.learning_rate,
    )  # fmt: skip
    return NeuralLearner(
        "narm", start, model.network, tuner, lambda network: NarmModel(network, model.device)
    )


NARM = Architecture(
    name="narm",
    summary="NARM: GRU with global and attentive local encoders and a bilinear decoder "
    "(Li et al. 2017)",
    train=train,
    load=load,
    learner=learner,
    update_kind="fine-tune",
)
