"""A real Prometheus server scrapes a live consumer; its recording rules agree with Redis."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streamrec.clients import ensure_topics, redis_client
from streamrec.consumer.totals import read_totals
from streamrec.contract.names import Names
from streamrec.learner.telemetry import LearnerMetrics
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment
from streamrec.pipeline.scrape import scrape
from streamrec.pipeline.servers import free_port
from streamrec.producer.replay import ClickProducer
from streamrec.producer.sources import replay_sessions
from tests.backends import Endpoints
from tests.integration.helpers import RawProducer, isolated_settings, log_tails, wait_for_totals
from tests.models import TinyModel
from tests.unit.test_compose_files import PROMETHEUS_DIR, _require, dashboard_exprs, recording_rules

pytestmark = pytest.mark.integration


def query(base: str, expr: str) -> list[dict[str, object]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def scalar(base: str, expr: str) -> float | None:
    result = query(base, expr)
    return float(result[0]["value"][1]) if result else None  # type: ignore[index]


def start_prometheus(tmp: Path, target: str) -> tuple[subprocess.Popen[bytes], str]:
    binary = _require("prometheus")
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROMETHEUS_DIR / "rules.yml")],
        "scrape_configs": [{"job_name": "consumer", "static_configs": [{"targets": [target]}]}],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = open(tmp / "prometheus.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/-/ready", timeout=1)
            return proc, base
        except OSError:
            assert proc.poll() is None, (tmp / "prometheus.log").read_text()[-2000:]
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("prometheus did not become ready")


def test_prometheus_rules_agree_with_exact_totals(
    generated_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    settings = isolated_settings(generated_model.settings, servers, partitions=2)
    ensure_topics(settings)
    consumers = start_consumers(settings, generated_model.path, 1, tmp_path)
    prometheus = None
    try:
        wait_for_assignment(consumers, 2)
        target = consumers[0].metrics_url.split("//")[1].split("/")[0]
        prometheus, base = start_prometheus(tmp_path, target)
        replay = replay_sessions(settings, held_out_only=True, max_sessions=150)
        producer = ClickProducer(settings)
        result = producer.replay(replay, concurrency=50, seed=3)
        raw = RawProducer(settings)
        raw.send(b"s-bad", b"{not json")  # so the invalid outcome has samples too
        assert raw.flush() == 0 and raw.failed == 0
        totals = wait_for_totals(settings, result.sent + 1)

        # every raw metric the rules and the dashboard use is exported by the live consumer,
        # or (the learner's families) by the learner's registry
        text = scrape(consumers[0].metrics_url)
        exported = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
        learner_text = generate_latest(LearnerMetrics().registry).decode()
        exported |= {
            s.name for f in text_string_to_metric_families(learner_text) for s in f.samples
        }
        exprs = list(recording_rules().values()) + dashboard_exprs()
        referenced = {m for e in exprs for m in re.findall(r"\bstreamrec_[a-z0-9_]+", e)}
        assert referenced and referenced <= exported, referenced - exported

        # Prometheus has scraped the final counters; its rule equals `streamrec report`
        exact = read_totals(redis_client(settings), Names(settings.namespace)).report()
        assert exact["n_examples"] == totals.overall.n > 0
        deadline = time.monotonic() + 60
        while scalar(base, "sum(streamrec_online_evaluations_total)") != exact["n_examples"]:
            assert time.monotonic() < deadline, "Prometheus never saw the final counters"
            time.sleep(0.5)
        deadline = time.monotonic() + 30
        while True:
            hit10 = scalar(base, "streamrec:online_hit_at_10:cumulative")
            evaluated_after = scalar(base, "sum(streamrec_online_evaluations_total)")
            if hit10 is not None and evaluated_after == exact["n_examples"]:
                break
            assert time.monotonic() < deadline, "recording rule has no value"
            time.sleep(0.5)
        assert hit10 == pytest.approx(exact["hit_at_10"], abs=0.01)
        mrr = scalar(base, "streamrec:online_mrr_at_20:cumulative")
        assert mrr == pytest.approx(exact["mrr_at_20"], abs=0.01)
        by_behavior = {
            r["metric"]["behavior"]: float(r["value"][1])  # type: ignore[index]
            for r in query(base, "streamrec:online_hit_at_10_by_behavior:cumulative")
        }
        assert by_behavior.keys() == exact["per_behavior"].keys()
        for label, value in by_behavior.items():
            assert value == pytest.approx(exact["per_behavior"][label]["hit_at_10"], abs=0.01)
        # every rule, the per-minute ones included, evaluates without error
        deadline = time.monotonic() + 30
        while True:
            with urllib.request.urlopen(f"{base}/api/v1/rules", timeout=5) as response:
                groups = json.loads(response.read())["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            if all(rule["health"] != "unknown" for rule in rules):
                break
            assert time.monotonic() < deadline, "rules never evaluated"
            time.sleep(0.5)
        assert len(rules) == len(recording_rules())
        assert all(rule["health"] == "ok" for rule in rules), [
            r for r in rules if r["health"] != "ok"
        ]
    finally:
        codes = stop_consumers(consumers)
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(30)
    assert codes == [0], log_tails([c.log_path for c in consumers])
