"""The prequential evaluator on a log small enough to work out by hand.

Training: session A clicks 10 at t=0, 20 at t=1, and runs on into the test: 40 at t=200.
Test (t0 = 100, refresh 600 s: boundaries 700 and 1300):
  B: 10 @100, 30 @110, 20 @700      C: 30 @650, 40 @1300
Predictions: B->30 (@110), B->20 (@700, prefix 10 30), C->40 (@1300, prefix 30).
Markov scores: transitions from the last click if the version knows it, else popularity
(clicks so far); ties count against the target.
"""

from __future__ import annotations

import pytest

from streamrec.config import Settings
from streamrec.model.data.clicklog import LogSessions
from streamrec.model.data.stream_log import StreamLog, part_figures
from streamrec.model.evaluation.prequential import Predictions, PrequentialResult, evaluate_stream
from streamrec.model.zoo import learner_for
from streamrec.model.zoo.updates import LearnerStart

TRAIN = LogSessions(["A"], [[10, 20, 40]], [0.0], "train", [[0.0, 1.0, 200.0]])
TEST = LogSessions(
    ["B", "C"], [[10, 30, 20], [30, 40]], [100.0, 650.0], "test",
    [[100.0, 110.0, 700.0], [650.0, 1300.0]],
)  # fmt: skip


def _run(history: str, refresh: float | None, version_time: str = "target") -> PrequentialResult:
    log = StreamLog(TRAIN, TEST, "keep", history)
    start = LearnerStart(None, log.catalog(), log.history(), Settings())
    learner = learner_for("markov", start)
    return evaluate_stream(
        learner, log.stream(), Predictions.of(TEST), refresh, version_time, max_len=25
    )


def test_strict_history_learns_each_click_at_the_next_boundary() -> None:
    """v0 knows 10, 20. B->30: 30 unknown at v0 (miss). B->20 at 700 uses v1 (clicks before
    700: 10, 30 of B, 40 of A, 30 of C): last click 30 has no transitions, popularity 10:2,
    30:2, 20:1, 40:1, so 20 ties with 40: rank 4. C->40 at 1300 uses v2 (adds B's 20 @700,
    transition 30->20): 20 first, then 10, 30 (2 clicks each), 40 (1): rank 4."""
    result = _run("strict", 600.0)
    assert result.predictions == 3 and result.versions == 3
    assert result.unknown_targets == 1
    assert result.hit_at_10 == pytest.approx(2 / 3)
    assert result.mrr_at_20 == pytest.approx((1 / 4 + 1 / 4) / 3)
    assert result.new_item_clicks == 3  # 30, 30, 40: items v0 does not know
    assert result.catalog_size == 4 and result.clicks_learned == 5
    assert result.refresh == "10m" and result.update_seconds_max is not None


def test_never_serves_version_0_and_whole_history_knows_the_training_tail() -> None:
    """Strict: v0 knows 10, 20 only, so both targets 30 and 40 are unknown; B->20 (last
    click 30 unknown: popularity 10:1, 20:1) ties at rank 2. Whole: v0 also learned A's 40
    (@200, after t0): 10, 20, 40 have one click each, so B->20 and C->40 both rank 3."""
    strict = _run("strict", None)
    assert (strict.versions, strict.unknown_targets) == (1, 2)
    assert strict.mrr_at_20 == pytest.approx(0.5 / 3)
    assert strict.update_seconds_mean is None and strict.refresh == "never"
    whole = _run("whole", None)
    assert whole.unknown_targets == 1 and whole.new_item_clicks == 2
    assert whole.mrr_at_20 == pytest.approx((1 / 3 + 1 / 3) / 3)


def test_served_time_picks_the_version_of_the_last_prefix_click() -> None:
    """Served: B->20 is served at 110 and C->40 at 650, both by v0 (nothing published)."""
    result = _run("strict", 600.0, "served")
    assert result.versions == 1 and result.unknown_targets == 2
    assert result.mrr_at_20 == pytest.approx(0.5 / 3)


def test_a_prediction_exactly_on_a_boundary_uses_that_boundary() -> None:
    """Refresh 600 s puts B->20 (@700) exactly on boundary 1: v1 serves it (rank 4, see
    above), without the click at 700 itself. Refresh 601 s: boundary 1 is at 701, so v0
    serves it (last click 30 unknown, 10 and 20 one click each: rank 2), and C->40 (@1300)
    gets v1, which learned B's 20 @700 (30->20 first) and A's 40: rank 4."""
    on = _run("strict", 600.0)
    after = _run("strict", 601.0)
    assert on.mrr_at_20 == pytest.approx((1 / 4 + 1 / 4) / 3)
    assert after.mrr_at_20 == pytest.approx((1 / 2 + 1 / 4) / 3)
    assert (on.versions, after.versions) == (3, 2)


def test_hourly_figures_and_parts() -> None:
    result = _run("strict", 600.0)
    assert sum(result.hourly_predictions) == 3 and result.hourly_predictions[0] == 3
    assert result.hourly_hit_at_20[0] == pytest.approx(2 / 3)
    assert result.hourly_hit_at_20[1] is None
    assert part_figures(TEST) == {"clicks": 5, "sessions": 2, "items": 4, "predictions": 3}
