"""Neural models learn from the stream by fine-tuning: the catalog grows without moving old
items, new items become rankable, updates are deterministic and resumable, and they stop at
their step cap or time budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from streamrec.config import Settings
from streamrec.learner.state import load_state, save_state
from streamrec.model.networks.gru4rec import Gru4RecConfig, Gru4RecNetwork
from streamrec.model.networks.lstm import ModelConfig, SessionLSTMRecommender
from streamrec.model.networks.narm import NarmConfig, NarmNetwork
from streamrec.model.networks.sasrec import SasRecConfig, SasRecNetwork
from streamrec.model.scoring import NO_SOURCE, WindowBatch
from streamrec.model.zoo import ARCHITECTURES, learner_for, updatable
from streamrec.model.zoo.gru4rec import Gru4RecModel
from streamrec.model.zoo.hybrid import HybridConfig, HybridModel
from streamrec.model.zoo.lstm_attn import LSTMAttnModel
from streamrec.model.zoo.narm import NarmModel
from streamrec.model.zoo.sasrec import SasRecModel
from streamrec.model.zoo.updates import Catalog, ClickBatch, LearnerStart

NEURAL = ("gru4rec", "sasrec", "narm", "lstm-attn", "hybrid")
CPU = torch.device("cpu")
MAX_LEN = 5
RAW_ITEMS = np.arange(20, dtype=np.int64) * 1_000_003 + 7  # large raw ids, not dense ones


def _sessions(sessions: list[list[int]], first_key: int = 0, start: float = 0.0) -> ClickBatch:
    """Sessions of raw ids, one after another, a click a second."""
    keys = [first_key + s for s, items in enumerate(sessions) for _ in items]
    items = [item for session in sessions for item in session]
    return ClickBatch(np.array(keys), np.array(items), start + np.arange(len(items), dtype=float))


def _history(seed: int = 0, n: int = 60) -> ClickBatch:
    rng = np.random.default_rng(seed)
    return _sessions(
        [list(rng.choice(RAW_ITEMS, int(rng.integers(2, 6)), replace=False)) for _ in range(n)]
    )


def _network_model(name: str, n_items: int) -> Any:
    """A small untrained model of ``name`` (warm weights need no training for these tests)."""
    torch.manual_seed(0)
    if name == "gru4rec":
        gru = Gru4RecConfig(n_items=n_items, layers=(8,), n_sample=4, batch_size=4)
        return Gru4RecModel(Gru4RecNetwork(gru), CPU)
    if name in ("sasrec", "hybrid"):
        sas = SasRecConfig(n_items=n_items, max_len=MAX_LEN, hidden=8, blocks=1, batch_size=8)
        return SasRecModel(SasRecNetwork(sas), CPU)
    if name == "narm":
        return NarmModel(NarmNetwork(NarmConfig(n_items=n_items, embedding=8, hidden=8)), CPU)
    config = ModelConfig(n_items=n_items, embed_dim=8, hidden_size=8, num_layers=1)
    return LSTMAttnModel(SessionLSTMRecommender(config), CPU)


def _start(name: str, seed: int = 42, **settings: Any) -> LearnerStart:
    history = _history()
    catalog = Catalog.of(history.items)
    chosen = Settings(seed=seed, max_len=MAX_LEN, replay_sessions=10, update_steps=5)
    chosen = chosen.with_overrides(settings)
    model = _network_model(name, len(catalog))
    if name == "hybrid":
        index = learner_for("vsknn", LearnerStart(None, catalog, history, chosen)).publish()[0]
        model = HybridModel(model, index, HybridConfig())
    return LearnerStart(model, catalog, history, chosen)


def _scores(model: Any, windows: list[list[int]]) -> torch.Tensor:
    """Scores of left-padded windows of dense ids."""
    rows = np.zeros((len(windows), MAX_LEN), np.int64)
    for r, window in enumerate(windows):
        rows[r, MAX_LEN - len(window) :] = np.asarray(window) + 1
    none = np.full(len(windows), NO_SOURCE, np.int64)
    lengths = np.array([len(w) for w in windows], np.int64)
    with torch.no_grad():
        return model.scorer().score(WindowBatch(rows, lengths, none, none.copy()))


def _weights(model: Any) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state().items() if isinstance(v, torch.Tensor)}


def _assert_same_weights(a: Any, b: Any) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


NEW = [int(x) for x in np.arange(3, dtype=np.int64) + 10**12]  # raw ids the start never saw


def test_every_neural_architecture_fine_tunes() -> None:
    assert set(NEURAL) <= set(updatable())
    assert all(ARCHITECTURES[name].update_kind == "fine-tune" for name in NEURAL)


@pytest.mark.parametrize("name", NEURAL)
def test_growth_keeps_old_items_and_their_scores(name: str) -> None:
    learner = learner_for(name, _start(name))
    before, report = learner.publish()
    assert report.steps == 0 and report.clicks_learned == 0  # nothing new: no training
    n = len(learner.catalog)
    # single clicks on new items: the catalog grows, nothing to predict, so no training
    learner.learn(_sessions([[item] for item in NEW], first_key=1000, start=1e6))
    after, report = learner.publish()
    assert (report.new_items, report.catalog_size, report.steps) == (3, n + 3, 0)
    assert learner.catalog.extends(Catalog(learner.catalog.item_ids[:n]))
    assert learner.catalog.item_ids[n:].tolist() == NEW
    assert after.n_items == n + 3 and before.n_items == n
    if name == "hybrid":  # the blend is of probabilities, which new items share: its parts
        before, after = before.neural, after.neural
    windows = [[0], [3, 1], [2, 5, 7]]
    old, new = _scores(before, windows), _scores(after, windows)
    assert new.shape == (3, n + 3)
    torch.testing.assert_close(new[:, :n], old, rtol=0, atol=0)


@pytest.mark.parametrize("name", ("gru4rec", "sasrec", "narm", "lstm-attn"))
def test_new_items_become_rankable_after_an_update_that_saw_them(name: str) -> None:
    settings: dict[str, Any] = {"update_steps": 40, "replay_sessions": 0, "learning_rate": 0.05}
    learner = learner_for(name, _start(name, **settings))
    learner.publish()
    cue = int(RAW_ITEMS[0])
    learner.learn(_sessions([[cue], [NEW[0]]], first_key=2000, start=1e6))  # grow only
    grown, _ = learner.publish()
    target = learner.catalog.dense(np.array([NEW[0]]))[0]
    context = learner.catalog.dense(np.array([cue]))[0]
    learner.learn(_sessions([[cue, NEW[0]]] * 30, first_key=3000, start=2e6))
    tuned, report = learner.publish()
    assert report.steps > 0 and report.clicks_learned == 60

    def rank(model: Any) -> int:
        scores = _scores(model, [[context]])[0]
        return int((scores >= scores[target]).sum())

    assert rank(tuned) < rank(grown)


@pytest.mark.parametrize("name", NEURAL)
def test_two_runs_publish_the_same_weights_and_the_seed_matters(name: str) -> None:
    stream = _history(seed=5, n=20)
    stream = ClickBatch(stream.session_ids + 500, stream.items, stream.times + 1e6)
    published = []
    for seed in (42, 42, 7):
        learner = learner_for(name, _start(name, seed=seed))
        learner.publish()
        learner.learn(stream)
        published.append(learner.publish()[0])
    _assert_same_weights(published[0], published[1])
    with pytest.raises(AssertionError):
        _assert_same_weights(published[0], published[2])


@pytest.mark.parametrize("name", NEURAL)
def test_a_restored_learner_publishes_what_the_original_does(name: str, tmp_path: Path) -> None:
    first = _sessions([[int(RAW_ITEMS[1]), NEW[1], int(RAW_ITEMS[2])]] * 4, 700, 1e6)
    second = _sessions([[NEW[1], NEW[2], int(RAW_ITEMS[3])]] * 4, 800, 2e6)
    original = learner_for(name, _start(name))
    original.publish()
    original.learn(first)
    original.publish()
    save_state(tmp_path / "learner.pt", original.state(), {})  # the online learner's file
    state, _ = load_state(tmp_path / "learner.pt")
    restored = learner_for(name, _start(name))
    restored.restore(state)
    assert restored.catalog.to_list() == original.catalog.to_list()
    for learner in (original, restored):
        learner.learn(second)
    a, report_a = original.publish()
    b, report_b = restored.publish()
    assert report_a.steps == report_b.steps > 0 and report_a.new_items == 1
    _assert_same_weights(a, b)


def test_an_update_stops_at_its_step_cap_or_its_budget() -> None:
    learner = learner_for("sasrec", _start("sasrec", update_steps=3))
    learner.publish()
    learner.learn(_sessions([[int(RAW_ITEMS[k]), int(RAW_ITEMS[k + 1])] for k in range(10)] * 20))
    _, report = learner.publish()
    assert report.steps == 3 and not report.cut_short  # far more than 3 batches to learn
    learner.learn(_sessions([[int(RAW_ITEMS[4]), int(RAW_ITEMS[5])]] * 50, 9000, 1e6))
    _, report = learner.publish(budget_s=1e-9)  # spent before the first step
    assert report.steps == 0 and report.cut_short and report.clicks_learned == 100


def test_the_optimiser_state_grows_with_the_catalog() -> None:
    learner = learner_for("sasrec", _start("sasrec"))
    learner.publish()
    learner.learn(_sessions([[int(RAW_ITEMS[0]), int(RAW_ITEMS[1])]] * 5, 100, 1e6))
    learner.publish()
    learner.learn(_sessions([[int(RAW_ITEMS[0]), NEW[0]]] * 5, 200, 2e6))
    learner.publish()
    n_rows = len(learner.catalog) + 1  # row 0: padding
    moments = learner.state()["optimizer"]["state"]
    assert any(v["exp_avg"].shape[0] == n_rows for v in moments.values())


def test_a_learner_needs_a_trained_model_of_its_architecture() -> None:
    start = _start("narm")
    with pytest.raises(ValueError, match="sasrec learns from the stream"):
        learner_for("sasrec", start)


def test_lstm_attn_scores_a_window_of_unknown_clicks_without_nan() -> None:
    model = _network_model("lstm-attn", 6)
    windows = np.zeros((3, MAX_LEN), np.int64)  # prefixes whose clicks are all unknown (0)
    windows[1, -1] = 2
    none = np.full(3, NO_SOURCE, np.int64)
    batch = WindowBatch(windows, np.array([1, 2, 3]), none, none.copy())
    assert torch.isfinite(model.scorer().score(batch)).all()
