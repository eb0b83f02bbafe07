"""The planner while following versions: windows keep clicks on items the serving version
does not know, such clicks are prediction targets, and each event is planned for its version."""

from __future__ import annotations

from streamrec.consumer.planner import (
    RAW_WINDOW_CAP,
    BatchEvent,
    BatchPlan,
    build_writes,
    plan_batch,
    trim_window,
)
from streamrec.consumer.state import EventWrite, SessionState
from streamrec.contract.events import ClickEvent
from streamrec.model.evaluation.ranking import MISS_RANK, RankingTotals

MAX_LEN = 3
OLD = {1, 2, 3, 4, 5}  # version 0's items
NEW = OLD | {50, 51}  # version 1 learned 50 and 51


def knows_old(item: int) -> bool:
    return item in OLD


def knows_new(item: int) -> bool:
    return item in NEW


def click(sid: str, seq: int, item: int, version: int = 0, stale: bool = False) -> BatchEvent:
    known = item in (OLD, NEW)[version]
    return BatchEvent(ClickEvent(sid, seq, item, 1.0, None), known, version, stale)


def plan_and_write(
    events: list[BatchEvent], states: dict[str, SessionState]
) -> tuple[BatchPlan, list[EventWrite]]:
    plan = plan_batch(events, states, MAX_LEN, True, [knows_old, knows_new])
    items = [[100 + r, 200 + r] for r in range(len(plan.windows))]
    scores = [[2.0, 1.0] for _ in plan.windows]
    return plan, build_writes(plan, items, scores)


def test_trim_keeps_the_shortest_suffix_with_max_len_known_items() -> None:
    window = [1, 50, 2, 51, 3, 52, 4]
    assert trim_window(window, knows_old, 3) == [2, 51, 3, 52, 4]
    assert trim_window(window, knows_new, 3) == [51, 3, 52, 4]
    assert trim_window([50, 51], knows_old, 3) == [50, 51]  # fewer known items: all of it
    long = [60] * (RAW_WINDOW_CAP + 10) + [1]
    assert len(trim_window(long, knows_old, 3)) == RAW_WINDOW_CAP


def test_an_unknown_item_joins_the_window_is_a_miss_and_the_window_is_scored_again() -> None:
    # 1, then 50 (version 0 does not know it), then 2
    events = [click("s", 0, 1), click("s", 1, 50), click("s", 2, 2)]
    plan, writes = plan_and_write(events, {"s": SessionState()})
    assert plan.windows == [[1], [1, 50], [1, 50, 2]]
    assert [w.unknown_item for w in writes] == [False, True, False]
    assert writes[1].evaluation == RankingTotals.from_rank(MISS_RANK)  # a target like any
    assert writes[1].topk_items == [101, 201]  # its window scored again: recommendations
    # the next click is evaluated against the top-K after the unknown one
    assert writes[2].evaluation == RankingTotals.from_rank(MISS_RANK)
    assert [w.advance_only for w in writes] == [False] * 3


def test_a_later_version_sees_the_item_in_the_window() -> None:
    stored = SessionState(items=[1, 50], last_seq=1, topk_items=[50, 9], topk_scores=[2, 1])
    plan, writes = plan_and_write([click("s", 2, 51, version=1)], {"s": stored})
    assert plan.windows == [[1, 50, 51]] and plan.models == [1]
    assert not writes[0].unknown_item
    stored2 = SessionState(items=[1, 50], last_seq=1, topk_items=[51, 9], topk_scores=[2, 1])
    _, hit = plan_and_write([click("s", 2, 51, version=1)], {"s": stored2})
    assert hit[0].evaluation == RankingTotals.from_rank(1)


def test_a_window_of_unknown_items_only_is_not_scored_and_clears_the_top_k() -> None:
    events = [click("s", 0, 50), click("s", 1, 51), click("s", 2, 1)]
    plan, writes = plan_and_write(events, {"s": SessionState()})
    assert plan.windows == [[50, 51, 1]]  # only the third event has a known item
    assert [p.slot for p in plan.events] == [None, None, 0]
    assert [w.unknown_item for w in writes] == [True, True, False]
    assert [w.evaluation for w in writes] == [None, None, None]  # no top-K before any
    assert writes[0].topk_items == [] and writes[0].scored and not writes[0].advance_only
    # stored state with a top-K, then an event whose version knows none of the window: the
    # next event of the batch is not evaluated against the stored (older) top-K
    stored = SessionState(items=[50], last_seq=0, topk_items=[7], topk_scores=[1.0])
    plan, writes = plan_and_write([click("s", 1, 51), click("s", 2, 2)], {"s": stored})
    assert writes[0].evaluation == RankingTotals.from_rank(MISS_RANK)
    assert plan.events[1].prev_slot is None and plan.events[1].prev_topk is None


def test_stale_events_carry_the_flag_and_duplicates_are_only_counted() -> None:
    stored = SessionState(items=[1], last_seq=0, topk_items=[2], topk_scores=[1.0])
    events = [click("s", 0, 1, stale=True), click("s", 1, 2, stale=True)]
    plan, writes = plan_and_write(events, {"s": stored})
    assert [p.applies for p in plan.events] == [False, True]
    assert not writes[0].scored and writes[1].stale  # only applied events count as stale
    assert writes[1].evaluation == RankingTotals.from_rank(1)


def test_a_fixed_model_still_drops_unknown_items() -> None:
    events = [click("s", 0, 1), click("s", 1, 50), click("s", 2, 2)]
    plan = plan_batch(events, {"s": SessionState()}, MAX_LEN)
    assert plan.windows == [[1], [1, 2]]
    assert [p.advance_only for p in plan.events] == [False, True, False]
