"""Count models learn from the stream exactly: a version learned batch by batch equals the model
refitted from scratch on every click, its catalog only grows, and a learner's state resumes."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import pytest

from streamrec.config import Settings
from streamrec.model.data.clicklog import LogSessions, log_corpus
from streamrec.model.data.examples import build_examples
from streamrec.model.evaluation.baselines import MarkovScorer, PopularityScorer
from streamrec.model.zoo import learner_for, updatable
from streamrec.model.zoo.counts import click_counts
from streamrec.model.zoo.updates import Catalog, ClickBatch, LearnerStart
from streamrec.model.zoo.vsknn import VSKNNConfig, fit_vsknn

COUNT_MODELS = ("markov", "popularity", "recent-popularity", "recent-markov", "vsknn")


def _stream(seed: int = 3, sessions: int = 120) -> ClickBatch:
    """Sessions of 2-6 clicks on 40 raw ids (large, unordered numbers), interleaved in time,
    some of them still open across any cut."""
    rng = np.random.default_rng(seed)
    raw_items = rng.choice(10**9, 40, replace=False)
    rows = []
    for s in range(sessions):
        start = rng.uniform(0, 20_000)
        length = int(rng.integers(2, 7))
        items = rng.choice(raw_items, length, replace=False)
        times = start + np.cumsum(rng.uniform(1, 900, length))
        rows += [(t, s, int(i)) for t, i in zip(times, items, strict=True)]
    rows.sort()
    times, keys, items = (np.array(column) for column in zip(*rows, strict=True))
    return ClickBatch(keys, items, times)


def _start(history: ClickBatch, catalog: Catalog | None = None) -> LearnerStart:
    return LearnerStart(None, catalog or Catalog.of(history.items), history, Settings())


def _by_raw(model: Any, catalog: Catalog) -> dict[str, Any]:
    """A published count model's tables keyed by raw ids (dense numbering aside)."""
    ids = catalog.item_ids
    state = {k: v.numpy() for k, v in model.state().items()}
    out: dict[str, Any] = {}
    for name in ("counts", "weights"):
        if name in state:
            out[name] = dict(zip(ids.tolist(), state[name].tolist(), strict=True))
    if "rows" in state:
        values = state["pair_counts"] if "pair_counts" in state else state["values"]
        out["pairs"] = {
            (int(ids[r]), int(ids[c])): float(v)
            for r, c, v in zip(state["rows"], state["cols"], values, strict=True)
        }
    if "session_ptr" in state:  # vsknn: each session's raw items (oldest first), idf by item
        ptr, items = state["session_ptr"], state["session_items"]
        out["sessions"] = [sorted(ids[items[a:b]].tolist()) for a, b in pairwise(ptr)]
        out["idf"] = dict(zip(ids.tolist(), state["idf"].tolist(), strict=True))
    return out


def _assert_same(a: dict[str, Any], b: dict[str, Any], exact: bool) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if exact or key == "sessions":
            assert a[key] == b[key], key
        else:
            assert a[key].keys() == b[key].keys(), key
            np.testing.assert_allclose(
                [a[key][k] for k in a[key]], [b[key][k] for k in a[key]], rtol=1e-12
            )


def test_every_count_model_can_update_and_says_it_is_exact() -> None:
    assert set(COUNT_MODELS) <= set(updatable())


@pytest.mark.parametrize("name", COUNT_MODELS)
def test_batch_by_batch_equals_a_refit_on_every_click(name: str) -> None:
    clicks = _stream()
    history = clicks.slice(0, 150)
    learner = learner_for(name, _start(history))
    for lo, hi in ((150, 151), (151, 400), (400, 401), (401, len(clicks))):
        learner.learn(clicks.slice(lo, hi))
        model, report = learner.publish()
        assert report.clicks_learned == hi - lo and report.kind == "exact"
    refit = learner_for(name, _start(clicks, Catalog(history.items[:0])))
    again, _ = refit.publish()
    exact = name in ("markov", "popularity")
    _assert_same(_by_raw(model, learner.catalog), _by_raw(again, refit.catalog), exact)


@pytest.mark.parametrize("name", COUNT_MODELS)
def test_the_catalog_only_grows_and_keeps_dense_ids(name: str) -> None:
    clicks = _stream()
    history = clicks.slice(0, 100)
    learner = learner_for(name, _start(history))
    catalogs = [learner.catalog]
    for lo in range(100, len(clicks), 97):
        learner.learn(clicks.slice(lo, lo + 97))
        model, report = learner.publish()
        assert learner.catalog.extends(catalogs[-1])
        assert report.new_items == len(learner.catalog) - len(catalogs[-1])
        assert report.catalog_size == len(learner.catalog) == model.n_items
        catalogs.append(learner.catalog)
    assert len(catalogs[-1]) > len(catalogs[0])
    assert set(catalogs[-1].to_list()) == set(clicks.items.tolist())


@pytest.mark.parametrize("name", COUNT_MODELS)
def test_state_and_restore_resume_exactly(name: str) -> None:
    clicks = _stream()
    learner = learner_for(name, _start(clicks.slice(0, 200)))
    learner.learn(clicks.slice(200, 300))
    learner.publish()
    saved = learner.state()
    resumed = learner_for(name, _start(clicks.slice(0, 10)))
    resumed.restore(saved)
    assert resumed.catalog.to_list() == learner.catalog.to_list()
    for each in (learner, resumed):
        each.learn(clicks.slice(300, len(clicks)))
    (first, _), (second, _) = learner.publish(), resumed.publish()
    _assert_same(_by_raw(first, learner.catalog), _by_raw(second, resumed.catalog), True)
    with pytest.raises(ValueError, match="cannot restore"):
        learner_for("popularity" if name != "popularity" else "markov", _start(clicks)).restore(
            saved
        )


def _log(clicks: ClickBatch) -> LogSessions:
    """The stream as a log, sessions in key order (each session's clicks in time order)."""
    keys = sorted(set(clicks.session_ids.tolist()))
    items = [clicks.items[clicks.session_ids == k].tolist() for k in keys]
    times = [clicks.times[clicks.session_ids == k].tolist() for k in keys]
    return LogSessions([str(k) for k in keys], items, [t[0] for t in times], "test", times)


def test_markov_and_popularity_equal_their_one_pass_fit() -> None:
    clicks = _stream()
    corpus = log_corpus(_log(clicks))
    examples = build_examples(corpus.sessions, 25)
    assert corpus.item_ids is not None
    catalog = Catalog(corpus.item_ids)  # the checkpoint's order
    fit = MarkovScorer.fit(examples, corpus.n_items, PopularityScorer(np.zeros(corpus.n_items)))
    model, _ = learner_for("markov", _start(clicks, catalog)).publish()
    state = model.state()
    np.testing.assert_array_equal(state["counts"].numpy(), click_counts(examples, corpus.n_items))
    np.testing.assert_array_equal(state["rows"].numpy(), fit.rows)
    np.testing.assert_array_equal(state["cols"].numpy(), fit.cols)
    np.testing.assert_array_equal(state["pair_counts"].numpy(), fit.counts)


def test_vsknn_equals_its_one_pass_fit() -> None:
    clicks = _stream()
    corpus = log_corpus(_log(clicks))
    assert corpus.item_ids is not None
    model, _ = learner_for("vsknn", _start(clicks, Catalog(corpus.item_ids))).publish()
    fit = fit_vsknn(corpus, np.arange(len(corpus.sessions)), VSKNNConfig())
    for name, value in fit.state().items():
        np.testing.assert_allclose(model.state()[name].numpy(), value.numpy(), rtol=1e-12)


def test_recency_weighs_a_click_by_its_age() -> None:
    """Two items clicked once each, one half-life apart: the older weighs half."""
    settings = Settings(recency_half_life_h=1.0)
    clicks = ClickBatch(np.array([1, 2]), np.array([7, 9]), np.array([0.0, 3600.0]))
    start = LearnerStart(None, Catalog.of([7, 9]), clicks, settings)
    learner = learner_for("recent-popularity", start)
    model, _ = learner.publish()
    weights = model.state()["weights"].numpy()
    assert weights[0] * 2 == pytest.approx(weights[1])
