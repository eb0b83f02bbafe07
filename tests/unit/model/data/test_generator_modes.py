"""The ``series`` and ``anchor`` generator modes: seeded, on the seed's catalog, and drawing
what their hidden truth says they drew."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streamrec.model.data.corpus import generated_corpus
from streamrec.model.data.generator import GeneratorParams, generate_sessions
from streamrec.model.data.generator_modes import FROM_ANCHOR, FROM_SEED_PROCESS, FROM_SUCCESSOR
from streamrec.model.data.parameters import ANCHOR_PROB, FOLLOW_PROB, SUBTOPIC_SIZE

USERS = 1500


@pytest.mark.parametrize("mode", ["series", "anchor"])
def test_a_mode_is_reproducible_and_shares_the_seeds_catalog(mode: str) -> None:
    first = generate_sessions(GeneratorParams(n_users=200, seed=5, mode=mode))
    again = generate_sessions(GeneratorParams(n_users=200, seed=5, mode=mode))
    other_seed = generate_sessions(GeneratorParams(n_users=200, seed=6, mode=mode))
    seed_mode = generate_sessions(GeneratorParams(n_users=200, seed=5))
    assert first.sessions == again.sessions and first.click_sources == again.click_sources
    assert first.sessions != other_seed.sessions
    assert first.sessions != seed_mode.sessions
    assert np.array_equal(first.item_category, seed_mode.item_category)
    assert np.array_equal(first.item_popularity, seed_mode.item_popularity)
    assert first.mode == mode and seed_mode.mode == "seed"


@pytest.mark.parametrize("mode", ["seed", "series", "anchor"])
def test_every_click_is_in_the_category_the_hidden_truth_names(mode: str) -> None:
    data = generate_sessions(GeneratorParams(n_users=300, seed=3, mode=mode))
    assert len(data.sessions) == len(data.click_sources) == len(data.session_subtopics)
    for session, cats, sources in zip(data.sessions, data.click_categories, data.click_sources):
        assert [int(data.item_category[i]) for i in session] == cats
        assert len(sources) == len(session) and sources[0] == FROM_SEED_PROCESS


def _share_within(observed: int, trials: int, p: float) -> bool:
    """Whether ``observed`` successes in ``trials`` are within 4 binomial standard deviations
    of ``p`` (a deterministic check: these sessions are seeded; 4 sigma keeps it far from a
    boundary any correct generator could reach by chance, < 1e-4)."""
    return abs(observed - trials * p) <= 4 * math.sqrt(trials * p * (1 - p))


def test_series_successors_form_one_cycle_per_category_and_clicks_follow_them() -> None:
    data = generate_sessions(GeneratorParams(n_users=USERS, seed=11, mode="series"))
    successor = data.tables.successor
    assert successor is not None
    assert np.array_equal(np.sort(successor), np.arange(data.n_items))  # a permutation
    assert np.array_equal(data.item_category[successor], data.item_category)
    for items in data.category_items:  # one cycle through the whole category
        seen, item = {int(items[0])}, int(successor[items[0]])
        while item != int(items[0]):
            seen.add(item)
            item = int(successor[item])
        assert seen == {int(i) for i in items}
    followed = trials = 0
    for session, sources in zip(data.sessions, data.click_sources):
        for t in range(1, len(session)):
            trials += 1
            if sources[t] == FROM_SUCCESSOR:
                followed += 1
                assert session[t] == successor[session[t - 1]]
            else:
                assert sources[t] == FROM_SEED_PROCESS
    assert _share_within(followed, trials, FOLLOW_PROB)


def test_anchor_clicks_come_from_the_first_clicks_subtopic() -> None:
    data = generate_sessions(GeneratorParams(n_users=USERS, seed=11, mode="anchor"))
    subtopic, parts = data.tables.item_subtopic, data.tables.subtopic_items
    assert subtopic is not None and parts is not None
    assert sorted(np.concatenate(parts).tolist()) == list(range(data.n_items))  # a partition
    for k, items in enumerate(parts):
        assert (subtopic[items] == k).all()
        assert len(set(data.item_category[items].tolist())) == 1  # inside one category
        assert SUBTOPIC_SIZE // 2 <= len(items) <= 2 * SUBTOPIC_SIZE
    anchored = trials = 0
    for session, sources, own in zip(data.sessions, data.click_sources, data.session_subtopics):
        assert own == subtopic[session[0]]
        for t in range(1, len(session)):
            trials += 1
            if sources[t] == FROM_ANCHOR:
                anchored += 1
                assert subtopic[session[t]] == own
    assert _share_within(anchored, trials, ANCHOR_PROB)


def test_modes_refuse_catalogs_with_empty_categories_and_unknown_names() -> None:
    with pytest.raises(ValueError, match="every category"):
        generate_sessions(GeneratorParams(n_users=5, n_items=8, n_categories=25, mode="series"))
    with pytest.raises(ValueError, match="generator mode must be one of"):
        generate_sessions(GeneratorParams(n_users=5, mode="drift"))


def test_the_corpus_source_names_the_mode() -> None:
    corpus = generated_corpus(users=50, seed=4, generator="anchor")
    assert corpus.source == "generated(users=50, seed=4, generator=anchor)"
    assert corpus.session_ids[0] == "g4a-0"
    assert generated_corpus(users=50, seed=4).session_ids[0] == "g4-0"
