"""The batch planner, on hand-made batches and states (no servers, no model)."""

from __future__ import annotations

import copy

from streamrec.consumer.planner import (
    BatchEvent,
    BatchPlan,
    ShadowRows,
    build_writes,
    evaluate,
    plan_batch,
)
from streamrec.consumer.state import EventWrite, SessionState
from streamrec.contract.events import ClickEvent
from streamrec.model.evaluation.ranking import MISS_RANK, RankingTotals, rank_in_top_k

MAX_LEN = 4


def click(sid: str, seq: int, item: int, behavior: str | None = "explorer") -> BatchEvent:
    """An event on item ``item``, which the serving model knows (windows and top-Ks are the
    events' own item ids; the catalog map is not the planner's job)."""
    return BatchEvent(ClickEvent(sid, seq, item, 1.0, behavior), True)


def scores_for(plan: BatchPlan) -> tuple[list[list[int]], list[list[float]]]:
    """A stand-in scorer: row r recommends items 10r, 10r+1, 10r+2 with falling scores."""
    items = [[10 * r, 10 * r + 1, 10 * r + 2] for r in range(len(plan.windows))]
    scores = [[3.0, 2.0, 1.0] for _ in plan.windows]
    return items, scores


def plan_and_write(
    events: list[BatchEvent], states: dict[str, SessionState]
) -> tuple[BatchPlan, list[EventWrite]]:
    plan = plan_batch(events, states, MAX_LEN)
    return plan, build_writes(plan, *scores_for(plan))


def test_new_session_in_order() -> None:
    events = [click("a", 0, 5), click("a", 1, 6), click("a", 2, 7)]
    plan, writes = plan_and_write(events, {"a": SessionState()})
    assert plan.sessions == ["a", "a", "a"]
    assert plan.windows == [[5], [5, 6], [5, 6, 7]]
    assert [w.items for w in writes] == plan.windows
    assert all(w.scored for w in writes)
    assert [w.topk_items for w in writes] == [[0, 1, 2], [10, 11, 12], [20, 21, 22]]
    assert [w.behavior for w in writes] == ["explorer"] * 3


def test_first_click_is_not_evaluated() -> None:
    _, writes = plan_and_write([click("a", 0, 5)], {"a": SessionState()})
    assert writes[0].evaluation is None
    # even if a top-K were somehow known for it
    assert evaluate(0, ([5], [1.0], 0), 5) is None


def test_later_event_of_the_batch_is_evaluated_against_the_earlier_ones_top_k() -> None:
    # row 0 recommends 0, 1, 2: the next click (dense 1) is at rank 2
    _, writes = plan_and_write([click("a", 0, 5), click("a", 1, 1)], {"a": SessionState()})
    assert writes[1].evaluation == RankingTotals.from_rank(2)
    assert writes[1].evaluation == RankingTotals.from_rank(rank_in_top_k([0, 1, 2], [3, 2, 1], 1))


def test_first_event_of_the_batch_is_evaluated_against_the_stored_top_k() -> None:
    stored = SessionState(items=[3], last_seq=0, topk_items=[9, 8, 7], topk_scores=[1, 1, 0])
    plan, writes = plan_and_write([click("a", 1, 8)], {"a": stored})
    assert plan.events[0].prev_topk == ([9, 8, 7], [1, 1, 0], 0)
    assert writes[0].evaluation == RankingTotals.from_rank(2)  # tie counts against it
    assert plan.windows == [[3, 8]]


def test_a_miss_counts_as_evaluated_without_a_hit() -> None:
    stored = SessionState(items=[3], last_seq=0, topk_items=[9], topk_scores=[1.0])
    _, writes = plan_and_write([click("a", 1, 4)], {"a": stored})
    evaluation = writes[0].evaluation
    assert evaluation == RankingTotals.from_rank(MISS_RANK)
    assert evaluation is not None and (evaluation.n, evaluation.hits_20) == (1, 0)


def test_no_stored_top_k_means_no_evaluation() -> None:
    stored = SessionState(items=[3], last_seq=0)  # state without a top-K
    _, writes = plan_and_write([click("a", 1, 4)], {"a": stored})
    assert writes[0].scored and writes[0].evaluation is None


def test_duplicates_are_counted_not_scored() -> None:
    stored = SessionState(items=[1, 2], last_seq=1, topk_items=[5], topk_scores=[1.0])
    events = [click("a", 1, 2), click("a", 0, 1), click("a", 2, 3), click("a", 2, 3)]
    plan, writes = plan_and_write(events, {"a": stored})
    assert [p.scored for p in plan.events] == [False, False, True, False]
    assert plan.windows == [[1, 2, 3]]
    assert [w.scored for w in writes] == [False, False, True, False]
    unscored = writes[0]
    assert (unscored.topk_items, unscored.evaluation) == ([], None)
    assert unscored.items == [1, 2]  # the state as read; the script changes nothing


def test_a_gap_is_not_scored_and_the_missing_event_still_applies() -> None:
    stored = SessionState(items=[1], last_seq=0, topk_items=[2], topk_scores=[1.0])
    events = [click("a", 2, 3), click("a", 1, 2)]  # seq 1 arrives after seq 2
    plan, writes = plan_and_write(events, {"a": stored})
    assert [w.scored for w in writes] == [False, True]
    assert plan.windows == [[1, 2]]
    assert writes[1].evaluation == RankingTotals.from_rank(1)  # against the stored top-K


def test_out_of_order_start_is_a_gap() -> None:
    plan, writes = plan_and_write([click("y", 1, 21), click("y", 0, 20)], {"y": SessionState()})
    assert [w.scored for w in writes] == [False, True]
    assert plan.windows == [[20]]


def test_windows_keep_the_last_max_len_items() -> None:
    stored = SessionState(items=[1, 2, 3, 4], last_seq=3, topk_items=[0], topk_scores=[0.0])
    events = [click("a", 4, 5), click("a", 5, 6)]
    plan, writes = plan_and_write(events, {"a": stored})
    assert plan.windows == [[2, 3, 4, 5], [3, 4, 5, 6]]  # earlier rows keep their own window
    assert [w.items for w in writes] == plan.windows


def test_sessions_interleave_and_each_follows_its_own_state() -> None:
    states = {
        "a": SessionState(items=[1], last_seq=0, topk_items=[7], topk_scores=[1.0]),
        "b": SessionState(),
    }
    events = [click("a", 1, 7), click("b", 0, 9), click("a", 2, 0), click("b", 1, 10)]
    plan, writes = plan_and_write(events, states)
    assert plan.sessions == ["a", "b", "a", "b"]
    assert plan.windows == [[1, 7], [9], [1, 7, 0], [9, 10]]
    assert [p.prev_slot for p in plan.events] == [None, None, 0, 1]
    evaluations = [w.evaluation for w in writes]
    assert evaluations[0] == RankingTotals.from_rank(1)  # 7 was top of the stored top-K
    assert evaluations[1] is None  # b's first click
    assert evaluations[2] == RankingTotals.from_rank(1)  # row 0 recommended 0 first
    assert evaluations[3] == RankingTotals.from_rank(1)  # row 1 recommended 10 first


def test_the_states_read_are_not_modified() -> None:
    states = {"a": SessionState(items=[1], last_seq=0, topk_items=[2], topk_scores=[1.0])}
    before = copy.deepcopy(states)
    plan_and_write([click("a", 1, 2), click("a", 2, 3)], states)
    assert states == before


def test_behavior_is_carried_even_when_absent() -> None:
    _, writes = plan_and_write(
        [click("a", 0, 1, behavior=None), click("a", 0, 1, behavior=None)], {"a": SessionState()}
    )
    assert [(w.behavior, w.scored) for w in writes] == [(None, True), (None, False)]


def unknown(sid: str, seq: int) -> BatchEvent:
    """A click on an item outside the served catalog."""
    return BatchEvent(ClickEvent(sid, seq, 99_999, 1.0, None), False)


def test_unknown_items_advance_the_seq_and_nothing_else() -> None:
    # a, ?, b, ?, c: the window skips the unknown clicks, b is evaluated against a's top-K
    events = [
        click("s", 0, 1),
        unknown("s", 1),
        click("s", 2, 2),
        unknown("s", 3),
        click("s", 4, 0),
    ]
    plan, writes = plan_and_write(events, {"s": SessionState()})
    assert plan.windows == [[1], [1, 2], [1, 2, 0]]
    assert [w.unknown_item for w in writes] == [False, True, False, True, False]
    assert [w.scored for w in writes] == [True, False, True, False, True]
    assert writes[1].items == [1] and writes[3].items == [1, 2]
    assert writes[1].evaluation is None and writes[3].evaluation is None
    # b (dense 2) ranks 3rd in a's top-K [0, 1, 2]; c (dense 0) is not in b's [10, 11, 12]
    assert writes[2].evaluation == RankingTotals.from_rank(3)
    assert writes[4].evaluation == RankingTotals.from_rank(MISS_RANK)


def test_a_session_that_starts_with_an_unknown_item() -> None:
    events = [unknown("s", 0), click("s", 1, 4), click("s", 2, 1)]
    plan, writes = plan_and_write(events, {"s": SessionState()})
    assert plan.windows == [[4], [4, 1]]
    assert writes[0].unknown_item and writes[0].items == []
    assert writes[1].evaluation is None  # nothing was shown before the first known click
    assert writes[2].evaluation == RankingTotals.from_rank(2)  # 2nd in [0, 1, 2]


def test_unknown_item_out_of_order_is_a_gap_or_duplicate_like_any_click() -> None:
    stored = SessionState(items=[3], last_seq=0, topk_items=[3], topk_scores=[1.0])
    plan, writes = plan_and_write([unknown("s", 0), unknown("s", 5)], {"s": copy.deepcopy(stored)})
    assert plan.windows == []
    assert [(w.scored, w.unknown_item) for w in writes] == [(False, False), (False, False)]


def shadow_rows(plan: BatchPlan) -> ShadowRows:
    """A stand-in shadow: row r recommends items 100 + r, then 5, 6 (scores falling)."""
    items = [[100 + r, 5, 6] for r in range(len(plan.windows))]
    scores = [[3.0, 2.0, 1.0] for _ in plan.windows]
    encoded = [(b"[%d]" % r, b"[]") for r in range(len(plan.windows))]
    return ShadowRows(items, scores, [0] * len(items), encoded)


def test_the_shadow_is_evaluated_against_its_own_previous_top_k() -> None:
    stored = SessionState(
        items=[3], last_seq=0, topk_items=[9], topk_scores=[1.0], shadow_topk=([7, 6], [2, 1], 0)
    )
    events = [click("a", 1, 6), click("a", 2, 5)]
    plan = plan_batch(events, {"a": stored}, MAX_LEN)
    items, scores = scores_for(plan)
    writes = build_writes(plan, items, scores, shadow=shadow_rows(plan))
    # click 1 (item 6): a miss for the primary's stored [9], rank 2 in the shadow's stored [7, 6]
    assert writes[0].evaluation == RankingTotals.from_rank(MISS_RANK)
    assert writes[0].shadow_evaluation == RankingTotals.from_rank(2)
    # click 2 (item 5): rank 2 in the shadow's row 0 of this batch, a miss for the primary's
    assert writes[1].shadow_evaluation == RankingTotals.from_rank(2)
    assert writes[1].evaluation == RankingTotals.from_rank(MISS_RANK)
    assert [w.shadow_topk for w in writes] == [(b"[0]", b"[]", 0), (b"[1]", b"[]", 0)]
    assert not any(w.second_arm for w in writes)


def test_no_stored_shadow_top_k_means_no_shadow_evaluation() -> None:
    stored = SessionState(items=[3], last_seq=0, topk_items=[9], topk_scores=[1.0])
    plan = plan_batch([click("a", 1, 9)], {"a": stored}, MAX_LEN)
    writes = build_writes(plan, *scores_for(plan), shadow=shadow_rows(plan))
    assert writes[0].evaluation == RankingTotals.from_rank(1)
    assert writes[0].shadow_evaluation is None and writes[0].shadow_topk is not None


def test_second_arm_rows_are_marked_for_the_second_models_totals() -> None:
    events = [click("a", 0, 5), click("b", 0, 6), click("a", 1, 7)]
    plan = plan_batch(events, {"a": SessionState(), "b": SessionState()}, MAX_LEN)
    writes = build_writes(plan, *scores_for(plan), second_arm=[True, False, True])
    assert [w.second_arm for w in writes] == [True, False, True]
    assert all(w.shadow_topk is None for w in writes)
