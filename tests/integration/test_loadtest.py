"""`streamrec loadtest --json` end to end: a short step profile, and a short clock-driven run
with a flash crowd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.models import TinyModel

pytestmark = pytest.mark.integration


PNG = b"\x89PNG"


def run_loadtest(model: TinyModel, out_dir: Path, *flags: str) -> tuple[dict[str, Any], str]:
    """(the report, stderr) of `streamrec loadtest FLAGS --json`; its files are checked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    result = subprocess.run(
        [sys.executable, "-m", "streamrec", "loadtest", *flags, "--model", str(model.path),
         "--out-dir", str(out_dir), "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert json.loads((out_dir / "loadtest.json").read_text()) == report
    for png in ("loadtest.png", "online-over-time.png"):
        assert (out_dir / png).read_bytes()[:4] == PNG, png
    assert report["over_time_png"] == str(out_dir / "online-over-time.png")
    oracle = report["oracle_hit_at_10"]  # the over-time PNG's oracle line (generated data)
    assert oracle is not None and 0 < oracle < 1
    # after the load: each phase said as it began, and timed; the parts add up to the total
    for said in ("consumer(s) and the servers ...", "evaluating the oracle (the best possible",
                 "writing the report and plots to "):  # fmt: skip
        assert said in result.stderr, said
    timings = report["timings_s"]
    parts = [seconds for name, seconds in timings.items() if name != "total"]
    assert {"setup", "shutdown", "oracle"} <= set(timings)
    assert abs(sum(parts) - timings["total"]) <= 0.05 * len(parts) + 1e-9, timings
    return report, result.stderr


def events(windows: list[dict[str, Any]], rate: str) -> float:
    """Events over the windows from their rates (each over the window's ``seconds``)."""
    return sum((w[rate] or 0.0) * w["seconds"] for w in windows)


def test_short_step_profile(generated_model: TinyModel, tmp_path: Path) -> None:
    report, stderr = run_loadtest(
        generated_model, tmp_path, "--profile", "steps", "--steps", "100,200",
        "--step-seconds", "4",
    )  # fmt: skip
    steps = report["steps"]
    assert 1 <= len(steps) <= 2
    assert [s["offered_events_per_s"] for s in steps] == [100.0, 200.0][: len(steps)]
    for step in steps:
        assert step["produced"] == int(step["offered_events_per_s"] * 4)
        assert step["achieved_events_per_s"] > 0 and step["seconds"] > 0
        latency = step["latency_ms"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
        assert step["lag_end"] >= 0
        assert step["cpu_cores"]["consumer-0"] > 0 and "broker" in step["cpu_cores"]
    kept = [s["offered_events_per_s"] for s in steps if s["keeps_up"]]
    assert report["saturation_events_per_s"] == (max(kept) if kept else 0.0)
    assert report["partitions"] == 1  # its own topics: one partition per consumer by default
    if len(kept) == len(steps):  # every step kept up: the saturation is only a lower bound
        assert f"saturation: at least {max(kept):,.0f} events/s (every step kept up)" in stderr
    else:
        assert "saturation throughput:" in stderr or "saturation: below" in stderr
    # the whole run over time: windows of the online metrics, with no offered rate (per step)
    windows = report["windows"]
    assert len(windows) >= 4 and report["window_s"] > 0
    assert all(w["offered_events_per_s"] is None for w in windows)
    assert sum(w["evaluations"] for w in windows) > 0
    # the warm-up ran before the steps, at the first step's rate, and was drained
    warmup = report["warmup"]
    assert warmup["rate"] == 100.0 and warmup["events"] == 300 and warmup["drain_seconds"] >= 0
    assert "warm-up: 100 events/s for 3s, not measured" in stderr
    assert "warm-up" in report["timings_s"]
    assert events(windows, "sent_events_per_s") == pytest.approx(
        sum(s["produced"] for s in steps) + warmup["events"], rel=0.01
    )
    # two steps that keep up measure no saturation, so no steps at fractions of it
    if len(kept) == len(steps):
        assert report["at_saturation_fractions"] == []


def test_clock_run_with_a_flash_crowd(generated_model: TinyModel, tmp_path: Path) -> None:
    # 5 sessions/s of ~19 clicks (~95 events/s), 4x from 4 s to 8 s; at 3000x a session's
    # clicks span about a second
    report, stderr = run_loadtest(
        generated_model, tmp_path, "--clock", "poisson", "--sessions-per-s", "5",
        "--speedup", "3000", "--rate-profile", "burst", "--burst-start", "4",
        "--burst-seconds", "4", "--burst-factor", "4", "--duration", "12",
        "--window-seconds", "1",
    )  # fmt: skip
    assert report["mode"] == "clock" and report["duration_s"] == 12.0
    windows = report["windows"]
    assert report["window_s"] == 1.0 and len(windows) >= 12

    # the schedule's offered rate is higher in the flash crowd than before and after it
    # (window times count from the first sample, the clock's start a few ms later)
    def offered(start: float, end: float) -> float:
        rates = [w["offered_events_per_s"] for w in windows if w["start_s"] >= start
                 and w["end_s"] <= end]  # fmt: skip
        assert rates, (start, end)
        return sum(rates) / len(rates)

    assert 0 <= report["clock_started_s"] < 1.0
    calm = (offered(1.0, 4.0) + offered(10.0, 12.0)) / 2
    assert offered(5.0, 8.0) > 2 * calm > 0

    # every event sent was given an outcome: the lag drained
    assert report["events_produced"] == report["events_scheduled"] > 0
    assert report["events_accounted"] == report["events_produced"]
    assert report["lag_end"] == 0 and windows[-1]["lag"] == 0
    assert report["drain_seconds"] >= 0
    # the windows add up to the run: online evaluations exactly, offered events as scheduled
    online = report["online"]
    assert online["hit_at_10"] < report["oracle_hit_at_10"]
    assert sum(w["evaluations"] for w in windows) == online["n_examples"] > 0
    assert sum(w["hits_at_10"] for w in windows) == round(
        online["hit_at_10"] * online["n_examples"]
    )
    offered_events = events(windows, "offered_events_per_s")
    assert offered_events == pytest.approx(report["events_scheduled"], rel=0.01)
    latency = report["latency_ms"]
    assert 0 < latency["p50"] <= latency["p99"]
    busy = [w for w in windows if w["achieved_events_per_s"]]
    assert busy and all(w["latency_ms"]["p99"] is not None for w in busy)
    assert "events accounted for" in stderr and "offered/s" in stderr
