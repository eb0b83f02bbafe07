"""A click log replayed into a consumer serving a generated-data model: the consumer (on a
metrics port it picked itself) and ``report`` say the catalog does not match; ``report``
into a pipe closed early ends quietly."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from streamrec.cli.exits import EXIT_BROKEN_PIPE
from streamrec.consumer.serving import ServedModel
from streamrec.pipeline.scrape import metric_sum, scrape
from tests.backends import Endpoints
from tests.conftest import yoochoose_path
from tests.integration.helpers import poll_until
from tests.models import TinyModel

pytestmark = pytest.mark.integration
EVENTS = 1500  # more than the consumer's check looks at (the first 1,000)


def test_a_log_served_by_a_generated_model_is_warned_about(
    generated_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    env.update(
        STREAMREC_KAFKA_BOOTSTRAP=servers.kafka_bootstrap,
        STREAMREC_REDIS_URL=servers.redis_url,
        STREAMREC_NAMESPACE=f"mismatch{os.getpid()}",
        STREAMREC_GROUP=f"mismatch{os.getpid()}",
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "streamrec", *args],
            capture_output=True, text=True, env=env, timeout=180, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    log_path = tmp_path / "consumer.log"
    with open(log_path, "wb") as log:
        consumer = subprocess.Popen(
            [sys.executable, "-m", "streamrec", "consume", "--model", str(generated_model.path),
             "--metrics-port", "0", "--threads", "1"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        log_text = lambda: log_path.read_text(errors="replace")  # noqa: E731
        poll_until(lambda: "consuming " in log_text(), "the consumer did not start", 120)
        found = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", log_text())
        assert found is not None, log_text()
        url = f"http://127.0.0.1:{int(found[1])}/metrics"  # the free port it picked

        produced = cli(
            "produce", "--from-csv", str(yoochoose_path() / "train_valid.txt"),
            "--format", "session-rec", "--split", "none", "--limit", str(EVENTS), "--no-progress",
        )  # fmt: skip
        assert produced.returncode == 0, produced.stderr
        poll_until(
            lambda: (
                metric_sum([scrape(url)], "streamrec_events_total", outcome="unknown_item")
                >= EVENTS
            ),
            f"the consumer did not count {EVENTS} unknown items: {log_text()[-2000:]}",
            120,
        )
        served = ServedModel(generated_model.path)
        warnings = [line for line in log_text().splitlines() if " WARNING " in line]
        assert len(warnings) == 1, warnings
        assert warnings[0].endswith(
            "1,000 of the first 1,000 events (100%) click items outside the catalog of model "
            f"{served.model_version} ({served.meta.n_items:,} items): the model was trained on "
            "other data than this stream carries, so they are counted as unknown_item and not "
            "scored; "
            "serve a model trained on the stream's source (e.g. `streamrec train --from-csv "
            "LOG` for a replayed click log)"
        ), warnings[0]
    finally:
        consumer.terminate()
        assert consumer.wait(60) == 0, log_path.read_text()[-2000:]

    report = cli("report")
    assert report.returncode == 0, report.stderr
    assert report.stderr.strip().splitlines() == [
        "streamrec: warning: 100% of the events clicked items outside the served model's "
        "catalog (unknown item, not scored): the model was trained on other data than the "
        "stream carries"
    ]

    # `streamrec report | head -0`: the reader is gone before report writes
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        closed = subprocess.run(
            [sys.executable, "-m", "streamrec", "report"],
            stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=120,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert closed.stderr == b"", closed.stderr.decode()
    assert closed.returncode == EXIT_BROKEN_PIPE
