"""`streamrec demo --sessions 2000 --json`: the README's main command, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.models import TinyModel, train_tiny_model

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


def test_demo_with_a_shadow_model_matches_each_models_offline_figures(
    generated_model: TinyModel, tmp_path: Path
) -> None:
    markov = train_tiny_model(tmp_path / "markov.pt", architecture="markov")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    result = subprocess.run(
        [sys.executable, "-m", "streamrec", "demo", "--sessions", "600", "--json",
         "--model", str(generated_model.path), "--shadow-model", str(markov.path)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["events_scored"] == summary["events_produced"] > 5_000
    models = summary["models"]
    assert set(models) == {"primary", "shadow"}
    for label in ("primary", "shadow"):
        online, offline = models[label]["online"], models[label]["offline"]
        assert online["n_examples"] == offline["n_examples"] > 5_000
        for key in ("hit_at_10", "hit_at_20", "mrr_at_20"):
            assert online[key] == pytest.approx(offline[key], abs=0.002), (label, key)
    assert models["primary"]["online"] == summary["online"]  # the served model's figures
    # two different models: the shadow's totals are its own, not a copy of the primary's
    assert models["shadow"]["offline"]["hit_at_10"] != models["primary"]["offline"]["hit_at_10"]
    assert "shadow online" in result.stderr  # the human summary has each model's rows
