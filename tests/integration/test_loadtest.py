"""`streamrec loadtest --profile steps --json`: a short profile end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.models import TinyModel

pytestmark = pytest.mark.integration


def test_short_step_profile(generated_model: TinyModel, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    result = subprocess.run(
        [sys.executable, "-m", "streamrec", "loadtest", "--profile", "steps",
         "--steps", "100,200", "--step-seconds", "4", "--model", str(generated_model.path),
         "--out-dir", str(tmp_path), "--json"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert json.loads((tmp_path / "loadtest.json").read_text()) == report
    assert (tmp_path / "loadtest.png").read_bytes()[:4] == b"\x89PNG"
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
    if len(kept) == len(steps):  # every step kept up: the saturation is only a lower bound
        assert f"saturation: at least {max(kept):,.0f} events/s (every step kept up)" in (
            result.stderr
        )
    else:
        assert "saturation throughput:" in result.stderr or "saturation: below" in result.stderr
