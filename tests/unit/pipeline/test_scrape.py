"""Reading /metrics: histogram quantiles as Prometheus computes them."""

from __future__ import annotations

import pytest

from streamrec.pipeline.scrape import histogram_quantile


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    text = (
        "# TYPE h histogram\n"
        'h_bucket{le="0.1"} 50\nh_bucket{le="0.2"} 100\nh_bucket{le="+Inf"} 100\n'
        "h_count 100\nh_sum 10\n"
    )
    assert histogram_quantile([text], "h", 0.5) == pytest.approx(0.1)
    assert histogram_quantile([text, text], "h", 0.75) == pytest.approx(0.15)
    assert histogram_quantile([], "h", 0.5) is None
