"""`streamrec demo --learn`: a learner and consumers following it beside the frozen model (a
shadow), replaying a YOOCHOOSE day at its own times (--clock replay) through the embedded
broker and Valkey.

Both arms are in the JSON, each online figure equals the offline one (the learning arm's by
the prequential evaluator under the learner's schedule, the frozen arm's with refresh never),
the learning arm's clicks on new items stop being unknown once a version has learned them,
and the over-time figure has one labelled series per arm.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from streamrec.contract.names import PRIMARY, SHADOW
from streamrec.model.versions import MANIFEST_FILE, Manifest, listed
from streamrec.pipeline.overtime import Window
from streamrec.pipeline.overtime_plot import over_time_figure
from tests.conftest import yoochoose_path
from tests.unit.figures import legend_names, series

pytestmark = pytest.mark.integration
NEW_ITEMS = 30  # the test day's most clicked items, removed from the training days
FIGURES = ("hit_at_10", "hit_at_20", "mrr_at_20")


def write_log(path: Path) -> set[int]:
    """One session-rec log: the training days without the test day's 30 most clicked items,
    then every fourth session of the test day (`--split time --test-days 1` holds it out).
    Returns the new items."""
    header, *train = (yoochoose_path() / "train_tr.txt").read_text().splitlines()
    _, *test = (yoochoose_path() / "test.txt").read_text().splitlines()
    sessions = sorted({r.split("\t")[0] for r in test}, key=int)[::4]
    kept = set(sessions)
    test = [r for r in test if r.split("\t")[0] in kept]
    trained = {r.split("\t")[1] for r in train}
    counts = Counter(r.split("\t")[1] for r in test if r.split("\t")[1] in trained)
    new = {item for item, _ in counts.most_common(NEW_ITEMS)}
    train = [r for r in train if r.split("\t")[1] not in new]
    path.write_text("\n".join([header, *train, *test]) + "\n")
    return {int(i) for i in new}


def run_learning_demo(log: Path, out_dir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    result = subprocess.run(
        [sys.executable, "-m", "streamrec", "demo", "--from-csv", str(log), "--format",
         "session-rec", "--split", "time", "--test-days", "1", "--learn", "--refresh", "1h",
         "--clock", "replay", "--speedup", "8000", "--sessions", "100000", "--json",
         "--keep-demo-dir", "--out-dir", str(out_dir)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    summary["_stderr"] = result.stderr
    return summary


def test_demo_learn_beside_a_frozen_shadow_on_a_replayed_day(tmp_path: Path) -> None:
    log = tmp_path / "clicks.txt"
    write_log(log)
    summary = run_learning_demo(log, tmp_path / "out")
    learn = summary["learn"]

    # both arms, each online == offline (same clicks, same event times, same versions)
    assert set(learn["arms"]) == {PRIMARY, SHADOW}
    assert learn["arms"][PRIMARY]["role"] == "learning"
    assert learn["arms"][SHADOW]["role"] == "frozen"
    assert learn["agreement"] is True and learn["stale"] == 0
    for arm in learn["arms"].values():
        online, offline = arm["online"], arm["offline"]
        assert online["n_examples"] == offline["n_examples"] > 1000
        for key in FIGURES:
            assert online[key] == pytest.approx(offline[key], abs=0.002), (arm["role"], key)
    for arm, figures in summary["models"].items():  # the summary's table shows the same
        assert figures["offline"]["hit_at_20"] == learn["arms"][arm]["offline"]["hit_at_20"]
    # versions that served a prediction, of those published (one every hour of the day)
    assert 10 <= learn["arms"][PRIMARY]["offline"]["versions"] <= learn["versions_published"]
    assert learn["learner_exit_codes"] == [0]
    assert "learning arm: online equal to offline" in summary["_stderr"]

    # new items: unknown to version 0, learned by the versions after their first clicks
    frozen_misses = learn["arms"][SHADOW]["offline"]["unknown_targets"]
    learning_misses = learn["arms"][PRIMARY]["offline"]["unknown_targets"]
    assert learn["new_item_clicks"] > 300 and frozen_misses > 200
    assert learning_misses < frozen_misses / 2
    assert learn["unknown_item"] == summary["events_unknown_item"] < learn["new_item_clicks"] / 2
    work = Path(summary["_stderr"].split("demo files (consumer logs) kept in ")[1].split()[0])
    manifests = [
        Manifest.from_json((path / MANIFEST_FILE).read_bytes(), str(path))
        for _, path in sorted(listed(work / "versions").items())
    ]
    first = next(m for m in manifests if m.new_items > 0)
    assert first.version >= 1 and manifests[-1].catalog_size > manifests[0].catalog_size

    # the figure: one labelled series per arm on every panel
    over = summary["over_time"]
    assert Path(over["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    by_arm = {
        PRIMARY: [Window.from_json(w) for w in over["windows"]],
        SHADOW: [Window.from_json(w) for w in over["other_models"][SHADOW]],
    }
    fig = over_time_figure(by_arm, "demo --learn", names=learn["legend"])
    for ax in fig.axes:
        names = legend_names(ax)
        assert names[:2] == [learn["legend"][PRIMARY], learn["legend"][SHADOW]]
        assert len({n for n in series(ax) if n in learn["legend"].values()}) == 2
    assert learn["legend"][PRIMARY].startswith("learning") and "frozen" in learn["legend"][SHADOW]
    assert (tmp_path / "out" / "learn.md").read_text().count("| learning (primary) |") == 1
