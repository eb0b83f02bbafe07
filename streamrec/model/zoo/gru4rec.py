"""``gru4rec``: GRU4Rec (Hidasi et al., ICLR 2016; Hidasi & Karatzoglou, CIKM 2018), trained
as its authors train it (``model.training.gru4rec``) with their best published RSC15
cross-entropy setting as defaults (``model.networks.gru4rec.Gru4RecConfig``).

``--epochs``, ``--batch-size`` and ``--learning-rate`` override the published values when
set (their default 0 means each architecture's own).
"""

from __future__ import annotations

import torch

from streamrec.config import Settings
from streamrec.model.networks.gru4rec import Gru4RecConfig, Gru4RecNetwork
from streamrec.model.networks.gru4rec_streaming import Gru4RecStreamingScorer
from streamrec.model.scoring import NetworkScorer, StreamingScorer
from streamrec.model.training.gru4rec import Gru4RecTrainer
from streamrec.model.zoo.base import (
    Architecture,
    NetworkModel,
    TrainingRun,
    TrainOutcome,
    configure,
    network_loader,
)
from streamrec.model.zoo.epochs import fit_epochs


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


GRU4REC = Architecture(
    name="gru4rec",
    summary="GRU4Rec: session-parallel GRU with sampled cross-entropy (Hidasi et al. 2016, "
    "Hidasi & Karatzoglou 2018)",
    train=train,
    load=load,
)
