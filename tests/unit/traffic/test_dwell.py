"""Dwell times: log-normal draws (capped), gaps of a log, and the fit that recovers them."""

from __future__ import annotations

import numpy as np
import pytest

from streamrec.traffic.dwell import LogNormalDwell, fit_lognormal, session_gaps


def test_draws_have_the_median_and_sigma_and_respect_the_cap() -> None:
    dwell = LogNormalDwell(median_s=40.0, sigma=1.2, max_s=600.0)
    draws = dwell.sample(np.random.default_rng(0), 50_000)
    assert np.median(draws) == pytest.approx(40.0, rel=0.03)
    assert draws.max() == 600.0  # P(draw > 600) ~ 1.2%: some were capped
    uncapped = draws[draws < 600.0]
    assert np.log(uncapped).std() == pytest.approx(1.2, rel=0.05)


def test_fit_recovers_the_parameters_of_its_own_draws() -> None:
    truth = LogNormalDwell(median_s=53.0, sigma=1.5, max_s=1e9)
    gaps = truth.sample(np.random.default_rng(4), 20_000)
    fitted = fit_lognormal(np.concatenate([gaps, np.zeros(500)]))  # zero gaps are left out
    assert fitted.median_s == pytest.approx(53.0, rel=0.03)
    assert fitted.sigma == pytest.approx(1.5, rel=0.02)


def test_session_gaps_are_within_sessions_only() -> None:
    gaps = session_gaps([[0.0, 2.0, 7.0], [100.0], [50.0, 51.0], [1.0, float("nan")]])
    assert gaps.tolist() == [2.0, 5.0, 1.0]


def test_fit_and_parameters_refuse_what_they_cannot_use() -> None:
    with pytest.raises(ValueError, match=r"at least 10 positive gaps.*has 3"):
        fit_lognormal(np.array([1.0, 2.0, 3.0, 0.0]))
    with pytest.raises(ValueError, match="dwell-time median must be > 0"):
        LogNormalDwell(median_s=0.0)
    with pytest.raises(ValueError, match="dwell-time sigma must be >= 0"):
        LogNormalDwell(sigma=-1.0)
