"""A clock replay's expected duration, said up front, and its ETA while it runs."""

from __future__ import annotations

import pytest

from streamrec.producer.expected import ExpectedReplay, expected_replay, planned_events
from streamrec.producer.timeline import timeline
from streamrec.progress import human_duration
from streamrec.traffic.clock import ClockSpec
from tests.unit.producer.test_timeline import TIMES, log_sessions

DAY_SPAN_S = 24.4 * 3600  # the span of data/yoochoose-100k/train_valid.txt
# three sessions whose clicks span 24.4 h, as issue 19's example log
DAY_TIMES = [[0.0, 600.0, 1200.0], [3600.0, 7200.0], [DAY_SPAN_S]]


@pytest.mark.parametrize(
    "seconds,said",
    [(0.04, "0.0 s"), (4.24, "4.2 s"), (45.4, "45 s"), (59.6, "1 min 00 s"),
     (1464.0, "24 min 24 s"), (3599.7, "1 h 00 min"), (DAY_SPAN_S, "24 h 24 min")],
)  # fmt: skip
def test_durations_are_said_as_people_say_them(seconds: float, said: str) -> None:
    assert human_duration(seconds) == said


def test_planned_events_follow_rounds_and_limit() -> None:
    assert planned_events(100, 1, 0) == 100
    assert planned_events(100, 3, 0) == 300
    assert planned_events(100, 3, 250) == 250
    assert planned_events(100, 1, 250) == 100  # the sessions run out first
    assert planned_events(100, 0, 250) == 250  # endless rounds, a limit
    assert planned_events(100, 0, 0) == 0  # no end


def test_the_replay_clock_takes_the_log_span_over_the_speedup() -> None:
    expected = expected_replay(log_sessions(DAY_TIMES), ClockSpec("replay", speedup=60.0))
    assert expected.events == 6
    assert expected.schedule_s == pytest.approx(DAY_SPAN_S / 60)  # 24 min 24 s
    assert expected.describe() == (
        "replaying 6 events over 24 min 24 s of schedule (log span 24 h 24 min / speedup 60)"
    )


def test_a_limit_ends_the_schedule_at_the_last_event_sent() -> None:
    sessions = log_sessions(TIMES)  # dues at 0, 1, 2, 3, 5, 10 s (at 10x)
    expected = expected_replay(sessions, ClockSpec("replay", speedup=10.0), limit=4)
    assert (expected.events, expected.schedule_s) == (4, pytest.approx(3.0))
    two_rounds = expected_replay(sessions, ClockSpec("replay", speedup=10.0), rounds=2)
    dues = [due for due, *_ in timeline(sessions, ClockSpec("replay", speedup=10.0), rounds=2)]
    assert (two_rounds.events, two_rounds.schedule_s) == (12, dues[-1])


def test_every_clock_with_due_times_has_an_expected_duration() -> None:
    sessions = log_sessions(TIMES)
    paced = expected_replay(sessions, ClockSpec("flat"), rate=2.0)
    assert paced.schedule_s == pytest.approx(2.5)  # the 6th event at 2 events/s
    assert paced.describe() == (
        "replaying 6 events over 2.5 s of schedule (flat clock: 2 events/s)"
    )
    poisson = ClockSpec("poisson", sessions_per_s=0.5)
    found = expected_replay(sessions, poisson, seed=3)
    dues = [due for due, *_ in timeline(sessions, poisson, seed=3)]  # what the producer follows
    assert found.schedule_s == dues[-1] and found.events == len(dues)
    assert found.describe().startswith("replaying 6 events over ")
    assert found.describe().endswith(f"({poisson.describe()})")


def test_without_due_times_or_an_end_there_is_no_duration_to_say() -> None:
    sessions = log_sessions(TIMES)
    unpaced = expected_replay(sessions, ClockSpec("flat"))
    assert unpaced.schedule_s is None and unpaced.eta_s(3.0) is None
    assert unpaced.describe() == "replaying 6 events as fast as the broker takes them"
    endless = expected_replay(sessions, ClockSpec("poisson"), rounds=0)
    assert (endless.events, endless.schedule_s) == (0, None)
    assert endless.describe().startswith("replaying until stopped (poisson clock:")


def test_the_eta_counts_down_the_schedule_and_what_the_producer_is_behind() -> None:
    expected = ExpectedReplay(16_539, 1464.0, "log span 24 h 24 min / speedup 60")
    assert expected.eta_s(40.0) == pytest.approx(1424.0)
    assert expected.eta_s(40.0, behind_s=2.5) == pytest.approx(1426.5)
    assert expected.eta_s(2000.0) == 0.0
