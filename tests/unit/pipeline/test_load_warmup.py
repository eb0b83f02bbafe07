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


def test_each_fraction_step_runs_on_a_pipeline_of_its_own(monkeypatch: Any) -> None:
    """The embedded broker slows with what its topics hold, so no fraction step may share
    one with another (``fraction_steps`` opens a pipeline, warms it up, and runs one step)."""
    from contextlib import contextmanager
    from types import SimpleNamespace

    from rich.console import Console

    from streamrec.config import Settings
    from streamrec.pipeline import loadtest

    opened: list[int] = []
    calls: list[tuple[int, list[float], int, int]] = []

    @contextmanager
    def pipeline(settings: Settings, consumers: int, console: Console) -> Any:
        opened.append(consumers)
        yield SimpleNamespace(settings=settings, consumers=[], pids=dict)

    def run_steps(_s: Any, rates: list[float], *_a: Any, first_index: int = 0,
                  stop_when_behind: bool = True, total: int = 0) -> list[StepResult]:  # fmt: skip
        assert not stop_when_behind  # every fraction is measured
        calls.append((len(opened), rates, first_index, total))
        return [step(rates[0], rates[0], True)]

    monkeypatch.setattr(loadtest, "load_pipeline", pipeline)
    monkeypatch.setattr(loadtest, "run_steps", run_steps)
    monkeypatch.setattr(loadtest, "warm_up", lambda *a, **k: {})
    monkeypatch.setattr(loadtest, "ClickProducer", lambda settings: None)
    monkeypatch.setattr(loadtest, "replay_sessions", lambda settings, held_out_only: None)
    results = loadtest.fraction_steps(Settings(), [1000.0, 1600.0], 15.0, 1, 3, Console())
    assert opened == [1, 1]
    assert calls == [(1, [1000.0], 3, 5), (2, [1600.0], 4, 5)]
    assert [r.offered_events_per_s for r in results] == [1000.0, 1600.0]


def test_repeated_fraction_steps_report_the_median_p99_and_its_range() -> None:
    steps = [step(1000, 1000, True), step(4000, 2000, False)]
    plan = fraction_plan(steps, (0.5, 0.8))
    assert plan is not None
    runs = [step(1000, 1000, True, p99) for p99 in (30.0, 29.0, 41.0)] + [
        step(1600, 1600, True, p99) for p99 in (66.6, 34.9, None)
    ]  # fmt: skip
    rows = fraction_rows(plan, runs, repeats=3)
    assert [(r["p99_ms"], r["p99_runs_ms"]) for r in rows] == [
        (30.0, [30.0, 29.0, 41.0]), (50.8, [66.6, 34.9, None]),  # a missing p99 is left out
    ]  # fmt: skip
    assert describe_fractions(rows) == (
        "of the measured saturation (2,000 ev/s): p99 30.0 ms at 50% (1,000 ev/s) (median of 3 "
        "runs: 29.0-41.0 ms), p99 50.8 ms at 80% (1,600 ev/s) (median of 3 runs: 34.9-66.6 ms)"
    )
