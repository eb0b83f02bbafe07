"""Pure parts of the latency benchmarks: reading a load test's fraction steps, the harness
agreement, and the broker-growth bench's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.broker_growth import realistic_outputs
from bench.latency_floor import agreement, loadtest_rates
from streamrec.contract.messages import decode_recommendation


def test_loadtest_rates_come_from_the_fraction_steps(tmp_path: Path) -> None:
    rows = [{"fraction": 0.5, "offered_events_per_s": 1496.0, "p99_ms": 29.7},
            {"fraction": 0.8, "offered_events_per_s": 2393.0, "p99_ms": 56.7}]  # fmt: skip
    report = tmp_path / "loadtest.json"
    report.write_text(json.dumps({"at_saturation_fractions": rows}))
    assert loadtest_rates(report) == rows


def test_loadtest_rates_refuse_a_report_without_them_in_one_line(tmp_path: Path) -> None:
    report = tmp_path / "loadtest.json"
    report.write_text(json.dumps({"at_saturation_fractions": []}))
    with pytest.raises(SystemExit, match="no steps at fractions of a saturation; run"):
        loadtest_rates(report)
    with pytest.raises(SystemExit, match="cannot read the load-test report"):
        loadtest_rates(tmp_path / "missing.json")
    report.write_text("{not json")
    with pytest.raises(SystemExit, match="cannot read the load-test report"):
        loadtest_rates(report)


def test_agreement_is_within_a_fifth(capsys: pytest.CaptureFixture[str]) -> None:
    row = {"fraction": 0.8, "offered_events_per_s": 2393.0, "p99_ms": 56.7}
    assert agreement(row, 49.7) == {
        "fraction": 0.8, "loadtest_p99": 56.7, "pipeline_p99_over_loadtest_p99": 0.877,
        "agree_within_20pct": True,
    }  # fmt: skip
    assert agreement(row, 39.0)["agree_within_20pct"] is False  # 0.688
    assert agreement(row, None)["agree_within_20pct"] is False
    assert "DISAGREE within 20%" in capsys.readouterr().out


def test_broker_growth_writes_what_the_consumer_writes() -> None:
    bodies = realistic_outputs(count=50)
    assert len(bodies) == 50 and len(set(bodies)) == 50
    first = decode_recommendation(bodies[0])
    assert len(first.items) == 20 and list(first.scores) == sorted(first.scores, reverse=True)
    assert 300 < sum(map(len, bodies)) / len(bodies) < 500
