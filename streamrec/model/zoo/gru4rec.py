"""``gru4rec``: GRU4Rec (Hidasi et al., ICLR 2016; Hidasi & Karatzoglou, CIKM 2018), trained
as its authors train it (``model.training.gru4rec``) with their best published RSC15
cross-entropy setting as defaults (``model.networks.gru4rec.Gru4RecConfig``).

``--epochs``, ``--batch-size`` and ``--learning-rate`` override the published values when
set (their default 0 means each architecture's own).

From the stream it fine-tunes (``zoo.finetune``) as it trains: session-parallel over the
update's sessions (new clicks first, then the replay sample), sampled negatives from their
clicks, the authors' Adagrad with momentum kept across versions (its accumulators grow with
the catalog); new items get rows in the output table (the input table, when it is separate)
and the bias.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from streamrec.config import Settings
from streamrec.model.networks.gru4rec import Gru4RecConfig, Gru4RecNetwork
from streamrec.model.networks.gru4rec_streaming import Gru4RecStreamingScorer
from streamrec.model.scoring import NetworkScorer, StreamingScorer
from streamrec.model.training.gru4rec import Gru4RecTrainer, make_optimizer
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
from streamrec.model.zoo.tuning import TrainPlan
from streamrec.model.zoo.updates import LearnerStart


class Gru4RecModel(NetworkModel):
    """A trained ``Gru4RecNetwork`` behind the zoo's ``SessionModel`` interface (its config
    holds the network and training hyper-parameters)."""

    architecture = "gru4rec"
    network: Gru4RecNetwork

    def streaming_scorer(self, max_len: int, scoring: str, cache_bytes: int) -> StreamingScorer:
        """One GRU step per click from the cached state ('incremental'), else recomputation."""
        if scoring == "incremental":
            return Gru4RecStreamingScorer(self.network, max_len, cache_bytes, self.device)
        return super().streaming_scorer(max_len, scoring, cache_bytes)


def config_for(settings: Settings, n_items: int) -> Gru4RecConfig:
    """The published defaults, with the settings that are set (non-zero)."""
    return configure(Gru4RecConfig, settings, n_items)


def train(run: TrainingRun) -> TrainOutcome:
    """Session-parallel training, validated on ``data.val`` after every epoch."""
    data = run.data
    config = config_for(run.settings, data.corpus.n_items)
    torch.manual_seed(config.seed)
    network = Gru4RecNetwork(config).to(run.device)
    train_sessions = sorted(set(int(i) for i in data.train.session_index))
    trainer = Gru4RecTrainer(network, [data.corpus.sessions[i] for i in train_sessions])
    history = fit_epochs(
        run, config.epochs, trainer.steps_per_epoch, "clicks", trainer.epoch,
        lambda: NetworkScorer(network, run.device), validation_loss=False,
    )  # fmt: skip
    recipe = {
        "recipe": "GRU4Rec session-parallel training (Hidasi et al. 2016/2018)",
        "defaults": "hidasib/GRU4Rec_PyTorch_Official paramfiles/rsc15_xe_shared_100_best.py",
        **config.to_dict(),
    }
    return TrainOutcome(Gru4RecModel(network.cpu(), torch.device("cpu")), history, recipe)


load = network_loader(Gru4RecConfig, Gru4RecNetwork, Gru4RecModel)


class Gru4RecTuner:
    """GRU4Rec's fine-tune: its own session-parallel training within the update's plan."""

    default_steps = 300  # a step feeds one click per slot (batch 32): steps are small

    def make_optimizer(self, network: nn.Module) -> torch.optim.Optimizer:
        """The authors' Adagrad with momentum."""
        return make_optimizer(network)

    def grow(self, network: nn.Module, extra: int, generator: torch.Generator) -> None:
        """New rows in the output (and tied input) table, the bias and a separate input
        table."""
        assert isinstance(network, Gru4RecNetwork)
        grow_embedding(network.item_out, extra, generator)
        grow_embedding(network.item_bias, extra, generator)
        if network.item_in is not None:
            grow_embedding(network.item_in, extra, generator)

    def train(
        self,
        network: nn.Module,
        optimizer: torch.optim.Optimizer,
        sessions: Sequence[Sequence[int]],
        plan: TrainPlan,
    ) -> int:
        """Session-parallel epochs over ``sessions`` within ``plan``."""
        assert isinstance(network, Gru4RecNetwork)
        trainer = Gru4RecTrainer(network, sessions, optimizer, plan.seed)
        for _ in range(plan.passes):
            trainer.epoch(stop=lambda: trainer.steps >= plan.max_steps or plan.stop())
            if trainer.steps >= plan.max_steps or plan.stop():
                break
        network.eval()
        return trainer.steps


def learner(start: LearnerStart) -> NeuralLearner:
    """The fine-tuning learner of a trained GRU4Rec (``start.model``)."""
    model = start.model
    if not isinstance(model, Gru4RecModel):
        raise ValueError("gru4rec learns from the stream starting from a trained gru4rec model")
    return NeuralLearner(
        "gru4rec", start, model.network, Gru4RecTuner(),
        lambda network: Gru4RecModel(network, model.device),
    )  # fmt: skip


GRU4REC = Architecture(
    name="gru4rec",
    summary="GRU4Rec: session-parallel GRU with sampled cross-entropy (Hidasi et al. 2016, "
    "Hidasi & Karatzoglou 2018)",
    train=train,
    load=load,
    learner=learner,
    update_kind="fine-tune",
)
