"""The sessions a neural learner keeps and the replay sample it draws from them."""

from __future__ import annotations

import numpy as np

from streamrec.model.zoo.replay import SessionStore


def _store() -> SessionStore:
    store = SessionStore()
    keys = np.array([5, 9, 5, 3, 9, 7, 8, 8])
    store.add(keys, np.arange(len(keys)))
    store.clear_touched()
    return store


def test_sessions_keep_their_clicks_in_first_click_order() -> None:
    store = _store()
    assert store.keys == [5, 9, 3, 7, 8]
    assert store.clicks == [[0, 2], [1, 4], [3], [5], [6, 7]]
    store.add(np.array([3, 11]), np.array([8, 9]))
    assert store.touched_sessions() == [[3, 8]]  # the new session 11 has nothing to predict


def test_the_replay_sample_is_seeded_and_leaves_out_touched_sessions() -> None:
    store = _store()
    store.add(np.array([9]), np.array([10]))
    draws = [store.replay(1, np.random.default_rng(seed)) for seed in (1, 1, 2, 3, 4, 5)]
    assert draws[0] == draws[1]
    assert all(d in ([[0, 2]], [[6, 7]]) for d in draws)  # never 9 (touched) or single clicks
    assert len({tuple(d[0]) for d in draws}) == 2
    assert store.replay(10, np.random.default_rng(0)) == [[0, 2], [6, 7]]
    assert store.replay(0, np.random.default_rng(0)) == []


def test_a_store_round_trips_through_its_state() -> None:
    store = _store()
    store.add(np.array([7]), np.array([11]))
    again = SessionStore.from_state(store.state())
    assert (again.keys, again.clicks, again.touched) == (store.keys, store.clicks, store.touched)
    assert again.index == store.index
