"""The clock-driven load test's plan and schedule (no servers: the run itself is in
tests/integration/test_loadtest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from streamrec.config import Settings
from streamrec.pipeline.loadtest_clock import ClockPlan, scheduled_dues
from streamrec.producer.sources import ReplaySessions, replay_sessions
from streamrec.traffic.clock import ClockSpec
from streamrec.traffic.profiles import BurstProfile, DiurnalProfile


@pytest.fixture(scope="module")
def sessions() -> ReplaySessions:
    return replay_sessions(Settings(users=300))


def test_the_flat_clock_schedules_its_rate_for_the_duration(sessions: ReplaySessions) -> None:
    dues = scheduled_dues(sessions, ClockPlan(ClockSpec("flat"), 50.0, 2.0), seed=1)
    assert dues == pytest.approx([k / 50 for k in range(100)])


def test_a_profile_shapes_the_schedule(sessions: ReplaySessions) -> None:
    # 20 sessions/s of ~19 clicks, 5x for a second from 2 s; a session spans ~0.6 s at 5000x
    burst = ClockSpec("poisson", 5000.0, 20.0, BurstProfile(2.0, 1.0, 5.0))
    dues = np.asarray(scheduled_dues(sessions, ClockPlan(burst, 0.0, 4.0), seed=3))
    assert (np.diff(dues) >= 0).all() and dues[0] >= 0 and dues[-1] < 4.0
    inside = ((dues >= 2.2) & (dues < 3.0)).sum() / 0.8
    outside = ((dues >= 0.5) & (dues < 2.0)).sum() / 1.5
    assert inside > 3 * outside > 0
    again = scheduled_dues(sessions, ClockPlan(burst, 0.0, 4.0), seed=3)
    assert again == dues.tolist()  # seeded: what the producer sends is what was counted
    day = ClockSpec("flat", profile=DiurnalProfile(4.0))
    daily = np.asarray(scheduled_dues(sessions, ClockPlan(day, 100.0, 4.0), seed=0))
    assert len(daily) == pytest.approx(400, abs=1)  # a whole day averages the rate
    assert ((daily >= 1.5) & (daily < 2.5)).sum() > 3 * ((daily < 0.5) | (daily >= 3.5)).sum()


@pytest.mark.parametrize(
    "clock,rate,duration,message",
    [
        (ClockSpec("replay"), 0.0, 5.0, "a load test replays generated sessions"),
        (ClockSpec("flat"), 0.0, 5.0, "the flat clock of a load test needs a rate > 0"),
        (ClockSpec("poisson"), 0.0, 0.0, "a load test's duration must be > 0 s, got 0.0"),
    ],
)
def test_plans_that_cannot_run_are_refused(
    clock: ClockSpec, rate: float, duration: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ClockPlan(clock, rate, duration)


def test_the_plan_in_one_line() -> None:
    plan = ClockPlan(ClockSpec("flat", profile=BurstProfile(1.0, 2.0, 3.0)), 200.0, 12.0)
    assert plan.describe() == "flat clock: 200 events/s, burst profile, for 12s"
