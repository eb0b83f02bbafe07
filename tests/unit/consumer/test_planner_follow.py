"""The planner while following versions: windows keep clicks on items the serving version
does not know, such clicks are prediction targets and scored, each event for its version."""

from __future__ import annotations

from streamrec.consumer.planner import BatchEvent, BatchPlan, build_writes, plan_batch
from streamrec.consumer.serving import Catalog
from streamrec.consumer.state import EventWrite, SessionState
from streamrec.contract.events import ClickEvent
from streamrec.model.evaluation.ranking import MISS_RANK, RankingTotals

MAX_LEN = 3
OLD = {1, 2, 3, 4, 5}  # version 0's items
NEW = OLD | {50, 51}  # version 1 learned 50 and 51


def click(sid: str, seq: int, item: int, version: int = 0, stale: bool = False) -> BatchEvent:
    known = item in (OLD, NEW)[version]
    return BatchEvent(ClickEvent(sid, seq, item, 1.0, None), known, version, stale)


def plan_and_write(
    events: list[BatchEvent], states: dict[str, SessionState]
) -> tuple[BatchPlan, list[EventWrite]]:
    plan = plan_batch(events, states, MAX_LEN, keep_unknown=True)
    items = [[100 + r, 200 + r] for r in range(len(plan.windows))]
    scores = [[2.0, 1.0] for _ in plan.windows]
    return plan, build_writes(plan, items, scores)


def test_an_unknown_item_joins_the_window_is_a_target_and_is_scored() -> None:
    # 1, then 50 (version 0 does not know it), then 2
    events = [click("s", 0, 1), click("s", 1, 50), click("s", 2, 2), click("s", 3, 3)]
    plan, writes = plan_and_write(events, {"s": SessionState()})
    assert plan.windows == [[1], [1, 50], [1, 50, 2], [50, 2, 3]]
    assert [w.unknown_item for w in writes] == [False, True, False, False]
    assert writes[1].evaluation == RankingTotals.from_rank(MISS_RANK)  # a target like any
    assert writes[1].topk_items == [101, 201]  # its window is scored: recommendations
    assert writes[2].evaluation == RankingTotals.from_rank(MISS_RANK)
    assert [w.advance_only for w in writes] == [False] * 4
    assert [w.scored for w in writes] == [True] * 4


def test_a_later_version_scores_the_same_window_with_the_new_item_known() -> None:
    stored = SessionState(items=[1, 50], last_seq=1, topk_items=[51, 9], topk_scores=[2, 1])
    plan, writes = plan_and_write([click("s", 2, 51, version=1)], {"s": stored})
    assert plan.windows == [[1, 50, 51]] and plan.models == [1]
    assert not writes[0].unknown_item
    assert writes[0].evaluation == RankingTotals.from_rank(1)


def test_a_session_of_unknown_items_is_scored_from_its_first_click() -> None:
    events = [click("s", 0, 50), click("s", 1, 51)]
    plan, writes = plan_and_write(events, {"s": SessionState()})
    assert plan.windows == [[50], [50, 51]]
    assert [w.evaluation for w in writes] == [None, RankingTotals.from_rank(MISS_RANK)]


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


def test_windows_map_unknown_items_to_padding_in_their_place() -> None:
    catalog = Catalog(4, [10, 20, 30, 40])
    assert catalog.dense_window([10, 99, 30, 77], 3) == [-1, 2, -1]
    assert Catalog(5, None).dense_window([1, 9, 4], 5) == [1, -1, 4]
    assert catalog.knows(20) and not catalog.knows(21)
