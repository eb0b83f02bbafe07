"""Each drift scenario changes exactly what it says after the moment and nothing before it,
in every generator mode, reproducibly from the seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streamrec.config import GENERATORS, Settings
from streamrec.contract.events import BEHAVIORS
from streamrec.model.data.corpus import generated_corpus
from streamrec.model.data.generator import GeneratedData, GeneratorParams, generate_sessions
from streamrec.model.data.loading import prepare_data
from streamrec.model.data.parameters import BEHAVIOR_PROBS_AFTER, NEW_ITEM_SHARE

USERS = 1200


def _generate(mode: str, scenario: str, seed: int = 7, drift_at: float = 0.5) -> GeneratedData:
    params = GeneratorParams(
        n_users=USERS, seed=seed, mode=mode, scenario=scenario, drift_at=drift_at
    )
    return generate_sessions(params)


def _clicked(sessions: list[list[int]]) -> np.ndarray:
    return np.unique(np.concatenate([np.asarray(s) for s in sessions]))


@pytest.mark.parametrize("mode", GENERATORS)
def test_none_is_the_default_process(mode: str) -> None:
    plain = generate_sessions(GeneratorParams(n_users=300, seed=3, mode=mode))
    none = generate_sessions(GeneratorParams(n_users=300, seed=3, mode=mode, scenario="none"))
    assert none.sessions == plain.sessions
    assert len(none.phases) == 1 and set(none.session_phase) == {0}
    assert none.first_drifted == len(none.sessions)


@pytest.mark.parametrize("mode", GENERATORS)
def test_new_items_appear_only_after_the_moment(mode: str) -> None:
    data = _generate(mode, "new-items")
    first = data.first_drifted
    assert first == USERS // 2  # no session is dropped on this catalog
    new = np.flatnonzero(~data.phases[0].live)
    assert data.phases[1].live.all()
    for items in data.category_items:  # the share per category, one live item kept
        n_new = int((~data.phases[0].live[items]).sum())
        assert n_new == min(round(NEW_ITEM_SHARE * len(items)), len(items) - 1)
    assert not np.isin(_clicked(data.sessions[:first]), new).any()
    after = _clicked(data.sessions[first:])
    assert np.isin(after, new).sum() > 0.5 * len(new)  # many of them are clicked at once
    assert data.session_phase == [0] * first + [1] * (len(data.sessions) - first)
    assert np.allclose(data.phases[1].popularity, data.item_popularity)


@pytest.mark.parametrize("mode", GENERATORS)
@pytest.mark.parametrize("scenario", ["popularity-shift", "behaviour-mix"])
def test_sessions_before_the_moment_are_the_undrifted_ones(mode: str, scenario: str) -> None:
    data, none = _generate(mode, scenario), _generate(mode, "none")
    first = data.first_drifted
    assert data.sessions[:first] == none.sessions[:first]
    assert data.behaviors[:first] == none.behaviors[:first]
    assert data.sessions[first:] != none.sessions[first:]
    assert np.array_equal(data.phases[0].popularity, none.item_popularity)


def test_popularity_shift_permutes_each_category() -> None:
    data = _generate("seed", "popularity-shift")
    before, after = data.phases[0].popularity, data.phases[1].popularity
    for items in data.category_items:
        assert np.array_equal(np.sort(after[items]), np.sort(before[items]))
    assert (after != before).mean() > 0.5
    # the clicks follow it: the most clicked item of a large category after the moment is
    # its new most popular item
    big = max(data.category_items, key=len)
    clicks = np.concatenate([np.asarray(s) for s in data.sessions[data.first_drifted :]])
    counts = np.bincount(clicks, minlength=data.n_items)[big]
    assert big[counts.argmax()] == big[after[big].argmax()]


def test_behaviour_mix_changes_the_shares_after_the_moment() -> None:
    data = _generate("seed", "behaviour-mix")
    after = data.behaviors[data.first_drifted :]
    for name, p in zip(BEHAVIORS, BEHAVIOR_PROBS_AFTER):
        share = after.count(name) / len(after)
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / len(after)), (name, share)
    assert data.phases[0].behavior_probs == (0.3, 0.5, 0.2)


@pytest.mark.parametrize("scenario", ["new-items", "popularity-shift", "behaviour-mix"])
def test_scenarios_are_reproducible(scenario: str) -> None:
    assert _generate("series", scenario).sessions == _generate("series", scenario).sessions
    assert _generate("seed", scenario).sessions != _generate("seed", scenario, seed=8).sessions
    moved = _generate("seed", scenario, drift_at=0.25)
    assert moved.first_drifted == USERS // 4


def test_training_uses_the_sessions_before_the_moment_only() -> None:
    data = prepare_data(Settings(users=600, scenario="new-items", drift_at=0.4))
    assert data.corpus.generated is not None
    first = data.corpus.generated.first_drifted
    assert int(data.train.session_index.max()) < first
    assert (data.val.session_index < first).any() and (data.val.session_index >= first).any()
    corpus = generated_corpus(users=50, seed=4, scenario="new-items", drift_at=0.4)
    assert corpus.session_ids[0] == "g4dn-0"
    assert corpus.source.endswith("scenario=new-items, drift_at=0.4)")


@pytest.mark.parametrize("value", [0.0, 1.0, -0.5])
def test_drift_at_is_validated(value: float) -> None:
    with pytest.raises(ValueError, match="drift_at must be > 0 and < 1"):
        Settings(drift_at=value).validate()
