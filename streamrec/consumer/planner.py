"""Plan one batch: which events apply, what to score, and the writes once scores are known.

Pure functions over the batch's decoded events and the session states read from Redis (no
Kafka, no Redis calls, no model). An event applies when its seq follows the stored state or an
earlier event of the same session in the batch; the others are duplicates or gaps, which the
store's script only counts. Each applicable event's window is scored in batch order, so a
session's later events see its earlier ones, and each is evaluated against the top-K that was
current before it: the previous event's in this batch, else the one stored in Redis. A shadow
model scores the same windows; its own previous top-K (in the batch, else stored) evaluates it.

Windows and top-Ks are raw item ids (the events' own). A click on an item that the model
serving it does not know (``BatchEvent.known`` False) is handled in one of two ways:

- a fixed model (``keep_unknown`` False): it advances the session's seq and nothing else: it
  joins no window, is not scored and is no prediction target, so the stream sees each session
  as offline evaluation does once unknown items are removed (the session-rec protocol);
- following versions (``keep_unknown`` True, ``consume --follow``): it joins the window like
  any click, so a later version that knows it counts it in the prefix; it is a prediction
  target like any click (a miss: no top-K holds an item its model does not know), and the
  window is scored by the event's version with the clicks it does not know in their places as
  padding (``Catalog.dense_window``). That is the offline prequential protocol
  (``model.evaluation.prequential``) click for click.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from streamrec.consumer.state import EventWrite, SessionState
from streamrec.contract.events import ClickEvent
from streamrec.model.evaluation.ranking import RankingTotals, rank_in_top_k

# items (raw ids) and their scores, best first, and how many items outside tie with the last
TopK = tuple[list[int], list[float], int]


# slots, not frozen: several are built per event on the consumer's hot path
@dataclass(slots=True)
class BatchEvent:
    """A decoded event of the batch, and the model that serves it."""

    event: ClickEvent
    known: bool  # the serving model knows the event's item
    model: int = 0  # which of the batch's models serves it (followed versions)
    stale: bool = False  # served by an older version than its time calls for


@dataclass(slots=True)
class PlannedEvent:
    """What the batch expects of one event."""

    event: ClickEvent
    known: bool
    # applicable: the session's window after this event (scored, then stored);
    # otherwise: the window read from Redis
    window: list[int]
    slot: int | None  # row among the scored windows; None: not scored
    prev_slot: int | None  # row of the session's previous event in this batch
    prev_topk: TopK | None  # else the top-K stored in Redis (None: nothing stored)
    advance_only: bool = False  # applicable, but only advances the seq (fixed model)
    prev_shadow: TopK | None = None  # the shadow's stored top-K, when prev_slot is None
    applies: bool = True  # False: a duplicate or a gap, only counted
    stale: bool = False

    @property
    def scored(self) -> bool:
        """Whether this event is scored (it then applies)."""
        return self.slot is not None


@dataclass(frozen=True)
class ShadowRows:
    """The shadow model's top-K of every scored row (it scores the plan's windows too)."""

    items: Sequence[list[int]]
    scores: Sequence[list[float]]
    ties: Sequence[int]
    encoded: Sequence[tuple[bytes, bytes]]  # per row: items and scores as stored (JSON)

    def top_k(self, row: int) -> TopK:
        """Row ``row``'s top-K as the planner evaluates with it."""
        return self.items[row], self.scores[row], self.ties[row]


@dataclass(frozen=True)
class BatchPlan:
    """One planned event per batch event, in order, and the windows to score."""

    events: list[PlannedEvent]
    sessions: list[str]  # per scored row: its session id
    windows: list[list[int]]  # per scored row: the window to score (raw ids), oldest first
    models: list[int] = field(default_factory=list)  # per scored row: the model scoring it


def plan_batch(
    events: Sequence[BatchEvent],
    states: Mapping[str, SessionState],
    max_len: int,
    keep_unknown: bool = False,
) -> BatchPlan:
    """Decide which events apply and the windows to score for them, in batch order.

    ``states`` holds the state read for every session of the batch; it is not modified.
    Windows keep the last ``max_len`` clicks; ``keep_unknown`` (following versions) keeps
    clicks on items the serving model does not know in them (see the module's docstring).
    """
    window: dict[str, list[int]] = {}
    next_seq: dict[str, int] = {}
    last_slot: dict[str, int] = {}
    planned: list[PlannedEvent] = []
    sessions: list[str] = []
    windows: list[list[int]] = []
    models: list[int] = []
    for item in events:
        event = item.event
        sid = event.session_id
        state = states[sid]
        expected = next_seq.get(sid, state.next_seq)
        if event.seq != expected:  # duplicate or gap: the script counts it, nothing scored
            planned.append(
                PlannedEvent(event, item.known, state.items, None, None, None, applies=False)
            )
            continue
        next_seq[sid] = event.seq + 1
        if not item.known and not keep_unknown:  # the seq moves on, nothing else
            current = window.get(sid, state.items)
            planned.append(PlannedEvent(event, False, current, None, None, None, True))
            continue
        prev_slot = last_slot.get(sid)
        prev_topk: TopK | None = None
        prev_shadow: TopK | None = None
        if prev_slot is None:
            if state.topk_items:
                prev_topk = (state.topk_items, state.topk_scores, state.topk_ties)
            prev_shadow = state.shadow_topk
        # a new list each time: earlier rows keep their own window
        after = [*window.get(sid, state.items), event.item_id][-max_len:]
        window[sid] = after
        slot = len(windows)
        last_slot[sid] = slot
        sessions.append(sid)
        windows.append(after)
        models.append(item.model)
        planned.append(
            PlannedEvent(
                event,
                item.known,
                after,
                slot,
                prev_slot,
                prev_topk,
                prev_shadow=prev_shadow,
                stale=item.stale,
            )
        )
    return BatchPlan(planned, sessions, windows, models)


def evaluate(seq: int, previous: TopK | None, item: int) -> RankingTotals | None:
    """The online evaluation of a click (raw item id) against the top-K shown before it
    (None for a session's first click, or when no top-K is known)."""
    if seq <= 0 or previous is None or not previous[0]:
        return None
    items, scores, ties = previous
    return RankingTotals.from_rank(rank_in_top_k(items, scores, item, ties))


def build_writes(
    plan: BatchPlan,
    top_items: Sequence[list[int]],
    top_scores: Sequence[list[float]],
    top_ties: Sequence[int] | None = None,
    encoded: Sequence[tuple[bytes, bytes]] | None = None,
    shadow: ShadowRows | None = None,
    second_arm: Sequence[bool] | None = None,
) -> list[EventWrite]:
    """One conditional write per batch event, given the top-K of every scored row (and per
    row how many items outside its top-K tie with its last score; none when omitted).

    ``encoded``: per row, its top-K items and scores as the JSON arrays the store writes (the
    consumer encodes a batch's rows at once); omitted, the store encodes the lists.
    ``shadow``: the shadow model's rows, evaluated and stored beside the served ones.
    ``second_arm``: per row, whether its session is served by the second model (A/B).
    """
    ties = top_ties if top_ties is not None else [0] * len(top_items)
    writes: list[EventWrite] = []
    for p in plan.events:
        event = p.event
        if not p.applies or p.advance_only:
            writes.append(
                EventWrite(
                    session_id=event.session_id,
                    seq=event.seq,
                    items=p.window,
                    topk_items=[],
                    topk_scores=[],
                    behavior=event.behavior,
                    evaluation=None,
                    scored=False,
                    unknown_item=p.advance_only,
                    advance_only=p.advance_only,
                    stale=p.stale,
                )
            )
            continue
        previous = (
            (top_items[p.prev_slot], top_scores[p.prev_slot], ties[p.prev_slot])
            if p.prev_slot is not None
            else p.prev_topk
        )
        slot = p.slot
        write = EventWrite(
            session_id=event.session_id,
            seq=event.seq,
            items=p.window,
            topk_items=[],
            topk_scores=[],
            behavior=event.behavior,
            evaluation=evaluate(event.seq, previous, event.item_id),
            unknown_item=not p.known,
            stale=p.stale,
        )
        writes.append(write)
        if slot is None:
            continue
        write.topk_items = top_items[slot]
        write.topk_scores = top_scores[slot]
        write.topk_ties = ties[slot]
        write.encoded_topk = encoded[slot] if encoded is not None else None
        write.second_arm = second_arm[slot] if second_arm is not None else False
        if shadow is not None:
            before = shadow.top_k(p.prev_slot) if p.prev_slot is not None else p.prev_shadow
            write.shadow_evaluation = evaluate(event.seq, before, event.item_id)
            write.shadow_topk = (*shadow.encoded[slot], shadow.ties[slot])
    return writes
