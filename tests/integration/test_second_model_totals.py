"""A second model's totals on a real Valkey: written by the store's one script call with the
state, exactly once under redelivery, kept apart from the primary's (shadow and A/B arm)."""

from __future__ import annotations

import pytest

from streamrec.clients import redis_client
from streamrec.config import Settings
from streamrec.consumer.planner import BatchEvent, ShadowRows, build_writes, plan_batch
from streamrec.consumer.state import APPLIED, DUPLICATE, EventWrite
from streamrec.consumer.store import SessionStore
from streamrec.consumer.totals import read_totals
from streamrec.contract.events import ClickEvent
from streamrec.contract.names import SECONDARY, SHADOW, Names
from streamrec.model.evaluation.ranking import RankingTotals
from tests.backends import Endpoints
from tests.integration.helpers import isolated_settings

pytestmark = pytest.mark.integration
MAX_LEN = 4


def click(sid: str, seq: int, item: int) -> BatchEvent:
    return BatchEvent(ClickEvent(sid, seq, item, 1.0, "explorer"), True)


def shadow_writes(store: SessionStore, events: list[BatchEvent]) -> list[EventWrite]:
    """The batch's writes as the consumer builds them: the primary recommends [1, 2, 3],
    the shadow [3, 2, 1], for every window."""
    sids = list(dict.fromkeys(e.event.session_id for e in events))
    plan = plan_batch(events, store.read(sids), MAX_LEN)
    n = len(plan.windows)
    shadow = ShadowRows(
        [[3, 2, 1]] * n, [[3.0, 2.0, 1.0]] * n, [0] * n, [(b"[3,2,1]", b"[3,2,1]")] * n
    )
    return build_writes(plan, [[1, 2, 3]] * n, [[3.0, 2.0, 1.0]] * n, shadow=shadow)


def test_shadow_totals_are_exact_across_batches_and_redeliveries(servers: Endpoints) -> None:
    settings = isolated_settings(Settings(), servers)
    client = redis_client(settings)
    names = Names(settings.namespace)
    store = SessionStore(client, names, MAX_LEN, 60, second_model=SHADOW)
    sids = [f"s{i}" for i in range(40)]  # spread over many shards
    first = [click(sid, 0, 7) for sid in sids]
    # click 1 (item 1): rank 1 for the primary, rank 3 for the shadow (stored top-Ks);
    # click 2 (item 3), in the same batch: rank 3 for the primary, rank 1 for the shadow
    second = [c for sid in sids for c in (click(sid, 1, 1), click(sid, 2, 3))]
    assert store.apply(shadow_writes(store, first)) == [APPLIED] * 40
    writes = shadow_writes(store, second)
    assert store.apply(writes) == [APPLIED] * 80
    assert store.apply(writes) == [DUPLICATE] * 80  # a redelivered batch changes no totals
    assert store.read(["s0"])["s0"].shadow_topk == ([3, 2, 1], [3.0, 2.0, 1.0], 0)
    totals = read_totals(client, names)
    both = RankingTotals.from_rank(1) + RankingTotals.from_rank(3)
    expected = RankingTotals(40 * both.n, 40 * both.hits_10, 40 * both.hits_20, 40 * both.rr_sum_20)
    assert set(totals.models) == {"primary", "shadow"}
    for label in ("primary", "shadow"):
        got = totals.models[label].overall
        assert (got.n, got.hits_10, got.hits_20) == (expected.n, expected.hits_10, expected.hits_20)
        assert got.rr_sum_20 == pytest.approx(expected.rr_sum_20)
    assert totals.models["shadow"].per_behavior["explorer"].n == 80
    assert totals.applied == 120 and totals.duplicate == 80  # outcomes counted once, primary
    report = totals.report()
    assert report["models"]["shadow"]["hit_at_10"] == pytest.approx(1.0)


def test_a_second_arms_evaluations_go_to_its_own_totals(servers: Endpoints) -> None:
    settings = isolated_settings(Settings(), servers)
    client = redis_client(settings)
    names = Names(settings.namespace)
    store = SessionStore(client, names, MAX_LEN, 60, second_model=SECONDARY)
    events = [click(sid, seq, 1) for sid in ("a", "b", "c") for seq in (0, 1)]
    plan = plan_batch(events, store.read(["a", "b", "c"]), MAX_LEN)
    arms = [sid == "b" for sid in plan.sessions]
    writes = build_writes(plan, [[1, 2]] * 6, [[2.0, 1.0]] * 6, second_arm=arms)
    assert store.apply(writes) == [APPLIED] * 6
    totals = read_totals(client, names)
    assert totals.models["primary"].overall.n == 2  # a and c: their second click
    assert totals.models["secondary"].overall == RankingTotals.from_rank(1)
    assert "shadow" not in totals.models


def test_a_store_without_a_second_model_refuses_its_writes(servers: Endpoints) -> None:
    settings = isolated_settings(Settings(), servers)
    store = SessionStore(redis_client(settings), Names(settings.namespace), MAX_LEN, 60)
    write = EventWrite("a", 0, [1], [1], [1.0], None, None, second_arm=True)
    with pytest.raises(ValueError, match="second_model=SECONDARY"):
        store.apply([write])
