"""Dwell times: the seconds between a session's consecutive clicks, drawn or fitted.

Dwell times are heavy-tailed: most gaps are short, a few are very long. Liu, White and Dumais
(SIGIR 2010) fit page dwell times with a Weibull of shape < 1; the log-normal is the other
common choice. On YOOCHOOSE-100k (``data/yoochoose-100k/train_tr.txt``, 39,622 positive
gaps) the maximum-likelihood log-normal fits better than the maximum-likelihood Weibull
(mean log-likelihood -5.792 vs -5.820 per gap; the Weibull's shape is 0.71, the "negative
aging" Liu et al. report), and its MLE is closed-form (the mean and standard deviation of
log gaps), so StreamRec draws log-normal dwell times. The defaults are that fit: median 53 s,
sigma 1.5. Draws are capped at 30 minutes, the inactivity that conventionally ends a session.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: the CLI's help shows these defaults
    import numpy as np

DEFAULT_DWELL_MEDIAN_S = 53.0
DEFAULT_DWELL_SIGMA = 1.5
DEFAULT_DWELL_MAX_S = 1800.0
MIN_GAPS_TO_FIT = 10


@dataclass(frozen=True)
class LogNormalDwell:
    """Log-normal dwell times: log(seconds) ~ Normal(log(median_s), sigma), capped at max_s."""

    median_s: float = DEFAULT_DWELL_MEDIAN_S
    sigma: float = DEFAULT_DWELL_SIGMA
    max_s: float = DEFAULT_DWELL_MAX_S

    def __post_init__(self) -> None:
        for what, value in (("median", self.median_s), ("cap", self.max_s)):
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"dwell-time {what} must be > 0 seconds, got {value}")
        if not (self.sigma >= 0 and math.isfinite(self.sigma)):
            raise ValueError(f"dwell-time sigma must be >= 0, got {self.sigma}")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` dwell times in seconds."""
        import numpy as np

        draws = rng.lognormal(math.log(self.median_s), self.sigma, n)
        return np.minimum(draws, self.max_s)

    def describe(self) -> str:
        """One line for reports, e.g. ``log-normal dwell: median 53.0 s, sigma 1.50``."""
        return (
            f"log-normal dwell: median {self.median_s:.1f} s, sigma {self.sigma:.2f}, "
            f"capped at {self.max_s:g} s"
        )


def session_gaps(click_times: Sequence[Sequence[float]]) -> np.ndarray:
    """Every gap between consecutive clicks of a session, over all sessions (NaN-free)."""
    import numpy as np

    parts = [np.diff(np.asarray(t, dtype=np.float64)) for t in click_times if len(t) > 1]
    gaps = np.concatenate(parts) if parts else np.empty(0)
    return gaps[np.isfinite(gaps)]


def fit_lognormal(gaps: np.ndarray, max_s: float = DEFAULT_DWELL_MAX_S) -> LogNormalDwell:
    """The maximum-likelihood log-normal of the positive ``gaps`` (zero gaps, clicks logged in
    the same instant, carry no dwell time and are left out); ``ValueError`` when fewer than
    ``MIN_GAPS_TO_FIT`` remain."""
    import numpy as np

    positive = gaps[(gaps > 0) & np.isfinite(gaps)]
    if len(positive) < MIN_GAPS_TO_FIT:
        raise ValueError(
            f"fitting dwell times needs at least {MIN_GAPS_TO_FIT} positive gaps between clicks "
            f"of a session, the log has {len(positive)}"
        )
    logs = np.log(positive)
    return LogNormalDwell(float(np.exp(logs.mean())), float(logs.std()), max_s)
