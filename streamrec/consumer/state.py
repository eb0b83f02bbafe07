"""Session state as the consumer sees it, and the conditional writes it asks the store for.

Plain values shared by the planner (which decides) and the store (which reads and applies).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streamrec.model.evaluation.ranking import RankingTotals

# What the store's script did with each write. UNKNOWN_ITEM: a click on an item outside the
# serving model's catalog applied (a fixed model: it only advanced the session's seq).
APPLIED, DUPLICATE, GAP, UNKNOWN_ITEM = 1, 0, -1, 2


@dataclass
class SessionState:
    """What Redis knows about one session (raw item ids, as the events carry them)."""

    items: list[int] = field(default_factory=list)
    last_seq: int = -1
    topk_items: list[int] = field(default_factory=list)
    topk_scores: list[float] = field(default_factory=list)
    topk_ties: int = 0  # items outside the top-K tied with its last score
    # the shadow model's last top-K (items, scores, tail ties); None: none stored
    shadow_topk: tuple[list[int], list[float], int] | None = None

    @property
    def next_seq(self) -> int:
        """The seq the next applicable event must carry."""
        return self.last_seq + 1


@dataclass(slots=True)
class EventWrite:
    """One conditional write: the state after ``seq`` and the evaluation of ``seq``."""

    session_id: str
    seq: int
    items: list[int]
    topk_items: list[int]
    topk_scores: list[float]
    behavior: str | None
    evaluation: RankingTotals | None  # None: nothing to evaluate (seq 0) or not scored
    scored: bool = True  # False: a duplicate or gap at read time, only counted
    unknown_item: bool = False  # the serving model does not know the item (outcome)
    advance_only: bool = False  # advance the seq only (an unknown item, fixed model)
    stale: bool = False  # served by an older version than its event time calls for
    topk_ties: int = 0  # items outside the top-K tied with its last score
    # the top-K items and scores as the JSON arrays to store, when the caller encoded its
    # batch's rows already (one orjson call per batch); else the store encodes the lists
    encoded_topk: tuple[bytes, bytes] | None = None
    # A/B: the session is served by the second model, whose totals count ``evaluation``
    second_arm: bool = False
    # shadow scoring: the shadow's evaluation of this click (None: nothing to evaluate) and
    # its top-K after it as stored (items JSON, scores JSON, tail ties); None: no shadow
    shadow_evaluation: RankingTotals | None = None
    shadow_topk: tuple[bytes, bytes, int] | None = None
