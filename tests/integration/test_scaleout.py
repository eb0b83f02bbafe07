"""`python bench/scaleout.py`: two consumer counts end to end, a row each and the efficiency."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.models import TinyModel

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_scaleout_rows_efficiency_and_plot(generated_model: TinyModel, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scaleout.py"), "--consumers", "1,2",
         "--partitions", "2", "--rates", "100", "--step-seconds", "3",
         "--model", str(generated_model.path), "--out-dir", str(tmp_path), "--json"],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert json.loads((tmp_path / "scaleout.json").read_text()) == out
    assert (tmp_path / "scaleout.png").read_bytes()[:4] == b"\x89PNG"
    assert [r["consumers"] for r in out["rows"]] == [1, 2]
    for row in out["rows"]:
        # 100 events/s is far below what even a loaded machine does: each count keeps up
        assert row["saturation_events_per_s"] == 100.0 and row["saturation_is_lower_bound"]
        assert row["p99_ms_at_saturation"] > 0
        assert row["broker_cores"] > 0 and row["consumer_cores"] > 0
    assert out["efficiency"] == 0.5  # 100 / (2 x 100): both only lower bounds, as it says
    assert "lower bound" in out["efficiency_caveat"]
    assert "2 consumer(s): saturation 100 ev/s (lower bound)" in result.stderr
