"""A run's phases: said as they begin, timed back to back, adding up to the total."""

from __future__ import annotations

import io

from rich.console import Console

from streamrec.pipeline.phases import TOTAL, PhaseClock, rounded


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_phases_add_up_to_the_total_and_repeat_names_accumulate() -> None:
    clock, out = FakeClock(), io.StringIO()
    phases = PhaseClock(Console(file=out, width=200), clock=clock)
    clock.now += 1.25  # setup
    phases.begin("training")
    clock.now += 30.0
    phases.begin("setup")
    clock.now += 2.5
    phases.begin("replay", "replaying 10 sessions")
    clock.now += 19.0
    phases.begin("offline evaluation", "evaluating the model offline")
    clock.now += 40.125
    timings = phases.timings()
    assert timings == {
        "setup": 3.75, "training": 30.0, "replay": 19.0, "offline evaluation": 40.125,
        TOTAL: 92.875,
    }  # fmt: skip
    assert sum(v for k, v in timings.items() if k != TOTAL) == timings[TOTAL]
    assert out.getvalue().splitlines() == [
        "replaying 10 sessions ...",
        "evaluating the model offline ...",
    ]


def test_rounded_parts_add_up_within_rounding() -> None:
    clock = FakeClock()
    phases = PhaseClock(None, clock=clock)
    for name, seconds in [("a", 0.04), ("b", 1.049), ("c", 2.26), ("d", 0.35), ("e", 7.0)]:
        phases.begin(name)
        clock.now += seconds
    shown = rounded(phases.timings())
    parts = [v for k, v in shown.items() if k != TOTAL]
    assert abs(sum(parts) - shown[TOTAL]) <= 0.05 * len(parts) + 1e-9
