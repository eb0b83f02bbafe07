"""Reading a Prometheus server's HTTP API: instant and range queries, targets, and the online
metrics its recording rules compute once it has scraped the consumers' final counters."""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streamrec.contract.names import PRIMARY

# The online metrics carry a ``model`` label (primary; shadow or secondary beside it when a
# second model runs): the final figures read here are the primary model's, as Redis's
# ``overall``; the samples over time have every model's (``BY_MODEL``).
PRIMARY_MODEL = f'model="{PRIMARY}"'
EVALUATIONS = f"sum(streamrec_online_evaluations_total{{{PRIMARY_MODEL}}})"
# the online counters over time, one series per model (``overtime``'s samples)
BY_MODEL = {
    "evaluations": "sum by (model) (streamrec_online_evaluations_total)",
    "hits_10": 'sum by (model) (streamrec_online_hits_total{k="10"})',
    "rr_20": 'sum by (model) (streamrec_online_reciprocal_rank_sum{k="20"})',
}
# when the newest scrape of those counters was taken (a sample's own time, not the query's)
SCRAPED_AT = "max(timestamp(streamrec_online_evaluations_total))"
# the recording rules of infra/prometheus/rules.yml the demo reports (one series per model)
RULES = {
    "hit_at_10": "streamrec:online_hit_at_10:cumulative",
    "hit_at_20": "streamrec:online_hit_at_20:cumulative",
    "mrr_at_20": "streamrec:online_mrr_at_20:cumulative",
}


def primary_series(rule: str) -> str:
    """The primary model's series of a recording rule kept ``by (model)``."""
    return f"{rule}{{{PRIMARY_MODEL}}}"


class PrometheusQueryError(RuntimeError):
    """Prometheus answered with an error, or not at all; one readable line."""


class PromClient:
    """The HTTP API of the Prometheus at ``base`` (``http://host:port``)."""

    def __init__(self, base: str, timeout: float = 5.0) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        url = f"{self.base}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except (OSError, ValueError) as exc:
            raise PrometheusQueryError(f"Prometheus at {self.base}: {exc}") from None
        if body.get("status") != "success":
            raise PrometheusQueryError(f"Prometheus at {self.base}: {body.get('error', body)}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` now."""
        return list(self._get("/api/v1/query", {"query": expr})["result"])

    def scalar(self, expr: str) -> float | None:
        """The value of a one-element instant vector, or None when it is empty."""
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def query_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[tuple[float, float]]:
        """``(time, value)`` points of a one-series range query (empty when no data)."""
        data = self._get(
            "/api/v1/query_range",
            {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.3f}"},
        )
        result = data["result"]
        if not result:
            return []
        return [(float(t), float(v)) for t, v in result[0]["values"]]

    def query_range_by(
        self, expr: str, label: str, start: float, end: float, step: float
    ) -> dict[str, list[tuple[float, float]]]:
        """``(time, value)`` points of each series of a range query, by its ``label``."""
        data = self._get(
            "/api/v1/query_range",
            {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.3f}"},
        )
        return {
            series["metric"].get(label, ""): [(float(t), float(v)) for t, v in series["values"]]
            for series in data["result"]
        }

    def active_targets(self) -> list[dict[str, Any]]:
        """The targets Prometheus scrapes now."""
        return list(self._get("/api/v1/targets", {"state": "active"})["activeTargets"])


def wait_for_targets(client: PromClient, addresses: Iterable[str], timeout: float) -> None:
    """Wait until Prometheus has discovered and scraped every ``host:port`` in ``addresses``
    successfully (health ``up``); raises ``TimeoutError`` naming the missing ones."""
    wanted = set(addresses)
    deadline = time.monotonic() + timeout
    while True:
        up = {
            t["labels"].get("instance", "")
            for t in client.active_targets()
            if t.get("health") == "up"
        }
        missing = wanted - up
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"Prometheus did not scrape {', '.join(sorted(missing))} within {timeout:.0f}s"
            )
        time.sleep(0.1)


@dataclass(frozen=True)
class PrometheusReading:
    """The online metrics as Prometheus's recording rules computed them."""

    evaluations: int
    metrics: dict[str, float | None]  # hit_at_10, hit_at_20, mrr_at_20 (RULES)
    waited_s: float  # from the end of the replay's drain until the rules had the final counters

    def to_json(self) -> dict[str, Any]:
        """The summary's ``prometheus`` object (without the server's address)."""
        return {
            **{k: _round(v) for k, v in self.metrics.items()},
            "n_examples": self.evaluations,
            "rule": RULES["hit_at_10"],
            "waited_s": round(self.waited_s, 2),
        }


def final_reading(client: PromClient, evaluations: int, timeout: float) -> PrometheusReading:
    """Poll until Prometheus has scraped ``evaluations`` online evaluations (the consumers'
    final counter) and its rules were evaluated after that; then read the rules.

    Raises ``TimeoutError`` when that does not happen within ``timeout`` seconds."""
    started = time.monotonic()
    deadline = started + timeout
    seen = client.scalar(EVALUATIONS)
    while seen != evaluations:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"Prometheus saw {seen} online evaluations, not the consumers' {evaluations}, "
                f"after {timeout:.0f}s"
            )
        time.sleep(0.1)
        seen = client.scalar(EVALUATIONS)
    scraped_by = time.time()  # every rule evaluated after this saw the final counters
    while True:
        stamp = client.scalar(f"timestamp({primary_series(RULES['hit_at_10'])})")
        if stamp is not None and stamp >= scraped_by:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the rule {RULES['hit_at_10']} was not evaluated in time")
        time.sleep(0.1)
    values = {name: client.scalar(primary_series(rule)) for name, rule in RULES.items()}
    return PrometheusReading(evaluations, values, time.monotonic() - started)


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 6)
