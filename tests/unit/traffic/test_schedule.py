"""Schedules: paced, Poisson (rate recovered, modulated by profiles), replayed from a log's
times (order and scaling), and Poisson sessions with drawn dwell times."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from streamrec.traffic.dwell import LogNormalDwell
from streamrec.traffic.profiles import BurstProfile, DiurnalProfile
from streamrec.traffic.schedule import (
    ScheduledClick,
    paced_times,
    poisson_arrivals,
    poisson_schedule,
    replay_schedule,
)


def arrivals(rate: float, n: int, seed: int = 1, profile: object = None) -> np.ndarray:
    gen = poisson_arrivals(rate, np.random.default_rng(seed), profile)  # type: ignore[arg-type]
    return np.fromiter(itertools.islice(gen, n), dtype=np.float64)


def test_paced_times_are_k_over_rate_and_follow_a_profile() -> None:
    flat = list(itertools.islice(paced_times(4.0), 5))
    assert flat == [0.0, 0.25, 0.5, 0.75, 1.0]
    burst = BurstProfile(start=1.0, seconds=1.0, factor=2.0)
    times = np.fromiter(itertools.islice(paced_times(10.0, burst), 41), dtype=np.float64)
    inside = np.diff(times[(times >= 1.0) & (times < 2.0)])
    outside = np.diff(times[times < 1.0])
    assert inside == pytest.approx(0.05) and outside == pytest.approx(0.1)
    with pytest.raises(ValueError, match="paced rate must be > 0"):
        next(paced_times(0.0))


def test_poisson_arrivals_recover_the_rate_with_exponential_gaps() -> None:
    times = arrivals(50.0, 40_000, seed=7)
    gaps = np.diff(times)
    assert (gaps > 0).all()
    assert len(times) / times[-1] == pytest.approx(50.0, rel=0.02)
    # exponential gaps: coefficient of variation 1, and P(gap > mean) = 1/e
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.03)
    assert (gaps > 1 / 50).mean() == pytest.approx(np.exp(-1), abs=0.01)


def test_poisson_arrivals_are_deterministic_for_a_seed() -> None:
    assert np.array_equal(arrivals(5.0, 100, seed=3), arrivals(5.0, 100, seed=3))
    assert not np.array_equal(arrivals(5.0, 100, seed=3), arrivals(5.0, 100, seed=4))


def test_diurnal_poisson_counts_follow_the_day() -> None:
    day = DiurnalProfile(day_seconds=100.0, amplitude=0.7)
    times = arrivals(40.0, 40_000, seed=11, profile=day)  # ~10 days
    days = int(times[-1] // 100)
    phase = times[times < days * 100] % 100
    counts, _ = np.histogram(phase, bins=10, range=(0, 100))
    expected = np.array([day.work(10.0 * (b + 1)) - day.work(10.0 * b) for b in range(10)])
    expected *= 40.0 * days
    assert counts == pytest.approx(expected, rel=0.08)
    assert counts[4:6].mean() / counts[[0, 9]].mean() > 4  # noon vs midnight


def test_burst_poisson_counts_multiply_inside_the_window() -> None:
    burst = BurstProfile(start=100.0, seconds=50.0, factor=5.0)
    times = arrivals(20.0, 12_000, seed=5, profile=burst)
    before = ((times >= 0) & (times < 100)).sum() / 100
    during = ((times >= 100) & (times < 150)).sum() / 50
    after = ((times >= 150) & (times < 300)).sum() / 150
    assert before == pytest.approx(20.0, rel=0.1)
    assert during == pytest.approx(100.0, rel=0.1)
    assert after == pytest.approx(20.0, rel=0.1)


LOG = [  # three sessions, unix times, in no particular start order
    [1000.0, 1010.0, 1040.0],
    [990.0, 1020.0],
    [1005.0, 1005.0, 1100.0],
]


def test_replay_keeps_the_logs_times_scaled_and_interleaves_sessions_by_time() -> None:
    clicks = list(replay_schedule(LOG, speedup=10.0))
    assert [(c.session, c.position) for c in clicks] == [
        (1, 0), (0, 0), (2, 0), (2, 1), (0, 1), (1, 1), (0, 2), (2, 2),
    ]  # fmt: skip
    assert [c.due for c in clicks] == pytest.approx([0, 1, 1.5, 1.5, 2, 3, 5, 11])
    assert all(c.round == 0 for c in clicks)


def test_replay_speedup_divides_every_gap() -> None:
    rng = np.random.default_rng(0)
    log = [list(1e6 + rng.uniform(0, 5000) + np.cumsum(rng.exponential(60, 6))) for _ in range(50)]
    real = list(replay_schedule(log, speedup=1.0))
    fast = list(replay_schedule(log, speedup=250.0))
    assert [(c.session, c.position) for c in real] == [(c.session, c.position) for c in fast]
    assert [c.due / 250.0 for c in real] == pytest.approx([c.due for c in fast])


def test_replay_rounds_repeat_the_log_one_period_later() -> None:
    two = list(replay_schedule(LOG, speedup=1.0, rounds=2))
    first, second = two[:8], two[8:]
    period = 110.0 + 7.5  # span (990 -> 1100) + median gap between session starts (10, 5)
    assert [c.round for c in second] == [1] * 8
    assert [c.due - period for c in second] == pytest.approx([c.due for c in first])
    endless = replay_schedule(LOG, rounds=0)
    assert next(itertools.islice(endless, 40, None)).round == 5


def test_replay_keeps_a_sessions_order_when_a_time_goes_back() -> None:
    clicks = list(replay_schedule([[10.0, 5.0, 12.0], [7.0]]))
    assert [(c.session, c.position, c.due) for c in clicks] == [
        (1, 0, 0.0), (0, 0, 3.0), (0, 1, 3.0), (0, 2, 5.0),
    ]  # fmt: skip


def test_replay_refuses_a_bad_speedup_or_missing_times() -> None:
    with pytest.raises(ValueError, match="speed-up must be a finite number > 0"):
        next(replay_schedule(LOG, speedup=0.0))
    with pytest.raises(ValueError, match="usable time on every click"):
        next(replay_schedule([[1.0, float("nan")]]))


def sessions_of(clicks: list[ScheduledClick]) -> dict[tuple[int, int], list[ScheduledClick]]:
    out: dict[tuple[int, int], list[ScheduledClick]] = {}
    for c in clicks:
        out.setdefault((c.round, c.session), []).append(c)
    return out


def test_poisson_sessions_start_at_the_rate_with_dwell_times_between_clicks() -> None:
    lengths = [int(n) for n in np.random.default_rng(2).integers(1, 12, 3000)]
    dwell = LogNormalDwell(median_s=30.0, sigma=1.0)
    clicks = list(poisson_schedule(lengths, 25.0, np.random.default_rng(9), dwell, speedup=10.0))
    assert [c.due for c in clicks] == sorted(c.due for c in clicks)
    assert len(clicks) == sum(lengths)
    by_session = sessions_of(clicks)
    assert [s for _, s in by_session] == list(range(3000))  # sessions start in list order
    starts = np.array([v[0].due for v in by_session.values()])
    assert len(starts) / starts[-1] == pytest.approx(25.0, rel=0.05)
    gaps = np.concatenate([np.diff([c.due for c in v]) for v in by_session.values()])
    assert all([c.position for c in v] == list(range(len(v))) for v in by_session.values())
    assert np.median(gaps) == pytest.approx(30.0 / 10.0, rel=0.05)  # median dwell / speed-up
    assert np.log(gaps).std() == pytest.approx(1.0, rel=0.05)


def test_poisson_schedule_is_deterministic_and_endless_with_rounds_zero() -> None:
    def first(seed: int) -> list[ScheduledClick]:
        gen = poisson_schedule([3, 1, 4], 2.0, np.random.default_rng(seed), rounds=0)
        return list(itertools.islice(gen, 200))

    assert first(1) == first(1) != first(2)
    assert max(c.round for c in first(1)) >= 20
    with pytest.raises(ValueError, match="at least one click"):
        next(poisson_schedule([2, 0], 1.0, np.random.default_rng(0)))
