"""Rate profiles: their shapes, their integrals, and integrals inverted exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streamrec.traffic.profiles import (
    BurstProfile,
    DiurnalProfile,
    FlatProfile,
    RateProfile,
    make_profile,
)

PROFILES: list[RateProfile] = [
    FlatProfile(),
    DiurnalProfile(day_seconds=60.0),
    DiurnalProfile(day_seconds=7.0, amplitude=0.95),
    BurstProfile(start=10.0, seconds=5.0, factor=8.0),
    BurstProfile(start=0.0, seconds=3.0, factor=0.25),  # a dip works the same way
]


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: repr(p))
def test_time_at_inverts_work(profile: RateProfile) -> None:
    for t in np.linspace(0.0, 200.0, 1001):
        assert profile.time_at(profile.work(float(t))) == pytest.approx(t, abs=1e-9)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: repr(p))
def test_work_is_the_integral_of_the_multiplier(profile: RateProfile) -> None:
    edges = np.linspace(0.0, 100.0, 20_001)
    mids = (edges[:-1] + edges[1:]) / 2
    riemann = sum(profile.multiplier(float(t)) for t in mids) * (edges[1] - edges[0])
    assert profile.work(100.0) == pytest.approx(riemann, rel=1e-3)


def test_diurnal_day_starts_at_the_trough_peaks_at_noon_and_averages_one() -> None:
    day = DiurnalProfile(day_seconds=40.0, amplitude=0.7)
    assert day.multiplier(0.0) == pytest.approx(0.3)
    assert day.multiplier(20.0) == pytest.approx(1.7)
    assert day.multiplier(40.0) == pytest.approx(0.3)
    assert day.work(40.0) == pytest.approx(40.0)  # the base rate is the day's mean
    assert day.work(120.0) == pytest.approx(120.0)
    # the midday half carries (1 + 2a/pi) / (1 - 2a/pi) times the night half's events
    night = day.work(10.0) + (day.work(40.0) - day.work(30.0))
    noon = day.work(30.0) - day.work(10.0)
    ratio = (1 + 2 * 0.7 / math.pi) / (1 - 2 * 0.7 / math.pi)
    assert noon / night == pytest.approx(ratio)


def test_burst_multiplies_the_rate_inside_its_window_only() -> None:
    burst = BurstProfile(start=10.0, seconds=5.0, factor=4.0)
    assert [burst.multiplier(t) for t in (0.0, 9.99, 10.0, 14.99, 15.0, 100.0)] == [
        1.0, 1.0, 4.0, 4.0, 1.0, 1.0,
    ]  # fmt: skip
    assert burst.work(10.0) == 10.0
    assert burst.work(15.0) == 30.0
    assert burst.work(20.0) == 35.0
    assert burst.time_at(30.0) == 15.0


def test_make_profile_builds_each_profile_and_refuses_bad_parameters() -> None:
    assert make_profile("flat") == FlatProfile()
    assert make_profile("diurnal", day_seconds=12.0) == DiurnalProfile(12.0)
    assert make_profile("burst", burst_start=1, burst_seconds=2, burst_factor=3) == BurstProfile(
        1, 2, 3
    )
    with pytest.raises(ValueError, match="unknown rate profile 'weekly'"):
        make_profile("weekly")
    with pytest.raises(ValueError, match="day length must be > 0"):
        DiurnalProfile(0.0)
    with pytest.raises(ValueError, match=r"amplitude must be in \[0, 1\)"):
        DiurnalProfile(10.0, amplitude=1.0)
    with pytest.raises(ValueError, match="burst factor must be > 0"):
        BurstProfile(factor=0.0)
    with pytest.raises(ValueError, match="burst start must be >= 0"):
        BurstProfile(start=-1.0)
