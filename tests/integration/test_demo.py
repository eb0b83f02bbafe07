"""`streamrec demo --sessions 2000 --json`: the README's main command, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.models import TinyModel

pytestmark = pytest.mark.integration


def test_demo_json_summary(generated_model: TinyModel) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    result = subprocess.run(
        [sys.executable, "-m", "streamrec", "demo", "--sessions", "2000", "--json",
         "--model", str(generated_model.path)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["events_produced"] > 30_000
    assert summary["events_scored"] == summary["events_produced"]
    assert summary["events_invalid"] == summary["events_duplicate"] == 0
    assert summary["consumers"] == 2 and summary["consumer_exit_codes"] == [0, 0]
    for key in ("hit_at_10", "hit_at_20", "mrr_at_20"):
        assert summary["online"][key] == pytest.approx(summary["offline"][key], abs=0.002)
    assert summary["online"]["n_examples"] == summary["offline"]["n_examples"]
    assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"]
    assert "Hit@10" in result.stderr  # the human summary goes to stderr
