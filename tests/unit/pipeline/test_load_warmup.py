"""The load test's steps at fractions of the measured saturation: when they run, at which
rates, and how they are reported."""

from __future__ import annotations

from typing import Any

from streamrec.pipeline.load_warmup import describe_fractions, fraction_plan, fraction_rows
from streamrec.pipeline.loadtest import StepResult


def step(offered: float, achieved: float, keeps_up: bool, p99: float | None = 10.0) -> StepResult:
    latency: dict[str, Any] = {"p50": 2.0, "p95": 5.0, "p99": p99}
    return StepResult(offered, 20.0, int(offered * 20), achieved, latency, 0, {}, keeps_up)


def test_fractions_of_the_highest_throughput_once_a_step_fell_behind() -> None:
    steps = [step(1000, 1000, True), step(2000, 1990, True), step(5000, 3100, False)]
    plan = fraction_plan(steps, (0.5, 0.8))
    assert plan is not None
    assert plan.saturation == 3100 and plan.rates == {0.5: 1550.0, 0.8: 2480.0}


def test_no_fractions_when_every_step_kept_up_or_none_asked() -> None:
    kept_up = [step(1000, 1000, True), step(2000, 1995, True)]
    assert fraction_plan(kept_up, (0.5, 0.8)) is None  # the saturation is only a lower bound
    assert fraction_plan([step(5000, 3100, False)], ()) is None
    assert fraction_plan([], (0.5,)) is None


def test_rows_and_words_name_each_fraction_with_its_rate_and_p99() -> None:
    steps = [step(1000, 1000, True), step(4000, 2000, False)]
    plan = fraction_plan(steps, (0.5, 0.8))
    assert plan is not None
    rows = fraction_rows(plan, [step(1000, 1000, True, 12.5), step(1600, 1600, True, 31.0)])
    assert [(r["fraction"], r["offered_events_per_s"], r["p99_ms"]) for r in rows] == [
        (0.5, 1000.0, 12.5), (0.8, 1600.0, 31.0),
    ]  # fmt: skip
    words = describe_fractions(rows)
    assert words == (
        "of the measured saturation (2,000 ev/s): p99 12.5 ms at 50% (1,000 ev/s), "
        "p99 31.0 ms at 80% (1,600 ev/s)"
    )
    assert describe_fractions([]) == ""
