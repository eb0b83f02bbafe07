"""The pacer: due times counted from one start, so late waits never accumulate; lags reported."""

from __future__ import annotations

import pytest

from streamrec.traffic.pacing import Pacer


class SlowClock:
    """A fake monotonic clock whose every wait overshoots by ``overshoot`` seconds."""

    def __init__(self, overshoot: float) -> None:
        self.t = 100.0
        self.overshoot = overshoot
        self.waits = 0

    def now(self) -> float:
        return self.t

    def wait(self, seconds: float) -> None:
        self.waits += 1
        self.t += seconds + self.overshoot


def test_overshooting_waits_do_not_drift() -> None:
    clock = SlowClock(overshoot=0.004)
    pacer = Pacer(clock.wait, clock.now)
    for k in range(1000):
        assert pacer.wait_until(k * 0.01)
        pacer.record(k * 0.01)
        clock.t += 0.0005  # sending takes time too
    report = pacer.report()
    assert report is not None
    # accumulated sleeps would end ~4.5 s late; from-the-start due times end one wait late
    assert report.achieved_seconds - report.scheduled_seconds == pytest.approx(0.004)
    assert report.lag_max_ms == pytest.approx(4.0)
    assert report.scheduled_seconds == pytest.approx(9.99)


def test_a_late_event_goes_out_at_once_and_the_next_is_on_time_again() -> None:
    clock = SlowClock(overshoot=0.0)
    pacer = Pacer(clock.wait, clock.now)
    assert pacer.wait_until(1.0)
    clock.t += 2.5  # a stall of 2.5 s after sending the first event
    pacer.record(1.0)
    waits = clock.waits
    assert pacer.wait_until(2.0)  # already late: no wait
    assert clock.waits == waits
    assert pacer.record(2.0) == pytest.approx(1.5)
    assert pacer.wait_until(5.0)
    assert pacer.record(5.0) == 0.0
    report = pacer.report()
    assert report is not None and report.events == 3
    assert (report.lag_p50_ms, report.lag_max_ms) == (pytest.approx(1500.0), pytest.approx(2500.0))


def test_a_stop_request_ends_a_long_wait_within_a_slice() -> None:
    clock = SlowClock(overshoot=0.0)
    pacer = Pacer(clock.wait, clock.now)
    stop_after = 3
    assert not pacer.wait_until(3600.0, should_stop=lambda: clock.waits >= stop_after)
    assert clock.t - pacer.start == pytest.approx(0.3)  # three 0.1 s slices
    assert pacer.report() is None
