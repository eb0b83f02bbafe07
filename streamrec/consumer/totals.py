"""Exact online totals: every shard's hash summed, and a bounded wait for a stream to finish.

The Lua script in ``store`` adds each applied event's evaluation and every outcome (applied,
duplicate, gap, unknown item; stale: served by an older version than its time called for) to
its shard's totals hash; invalid events are counted in the stats hash. A
second model's evaluations (shadow or A/B arm) have their own hash per shard, summed apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streamrec.clients import RedisClient
from streamrec.contract.names import MODEL_LABELS, PRIMARY, Names
from streamrec.model.evaluation.ranking import RankingTotals


@dataclass
class ModelTotals:
    """One model's exact online evaluation totals, overall and per behaviour."""

    overall: RankingTotals
    per_behavior: dict[str, RankingTotals]

    def report(self) -> dict[str, Any]:
        """JSON-ready figures with the same keys as offline evaluation."""
        out: dict[str, Any] = dict(self.overall.metrics())
        out["per_behavior"] = {k: v.metrics() for k, v in sorted(self.per_behavior.items())}
        return out


@dataclass
class OnlineTotals:
    """Exact online totals summed over shards (``overall`` and ``per_behavior``: the primary
    model's; ``models``: every model's that has totals, the primary's always)."""

    overall: RankingTotals
    per_behavior: dict[str, RankingTotals]
    applied: int
    duplicate: int
    gap: int
    invalid: int
    unknown_item: int = 0  # valid clicks on items the serving model did not know
    stale: int = 0  # events served by an older version than their time called for (--follow)
    models: dict[str, ModelTotals] = field(default_factory=dict)

    @property
    def accounted(self) -> int:
        """Events with an outcome: applied, unknown item, duplicate, gap or invalid."""
        return self.applied + self.unknown_item + self.duplicate + self.gap + self.invalid

    def report(self) -> dict[str, Any]:
        """JSON-ready figures with the same keys as offline evaluation."""
        out: dict[str, Any] = dict(self.overall.metrics())
        out["per_behavior"] = {k: v.metrics() for k, v in sorted(self.per_behavior.items())}
        out["events"] = {
            "applied": self.applied,
            "unknown_item": self.unknown_item,
            "duplicate": self.duplicate,
            "gap": self.gap,
            "invalid": self.invalid,
            "stale": self.stale,
        }
        out["models"] = {label: m.report() for label, m in self.models.items()}
        return out


def read_totals(client: RedisClient, names: Names) -> OnlineTotals:
    """Sum every shard's totals, every model's (one round trip)."""
    pipe = client.pipeline(transaction=False)
    for model in MODEL_LABELS:
        for key in names.all_totals_keys(model):
            pipe.hgetall(key)
    pipe.hget(names.stats_key, "invalid")
    *shards, invalid = pipe.execute()
    per_model = {
        model: _sum_hashes(shards[i * names.shards : (i + 1) * names.shards])
        for i, model in enumerate(MODEL_LABELS)
    }
    sums = per_model[PRIMARY]
    models = {
        model: _model_totals(model_sums)
        for model, model_sums in per_model.items()
        if model == PRIMARY or model_sums
    }
    return OnlineTotals(
        overall=models[PRIMARY].overall,
        per_behavior=models[PRIMARY].per_behavior,
        applied=int(sums.get("applied", 0)),
        duplicate=int(sums.get("duplicate", 0)),
        gap=int(sums.get("gap", 0)),
        invalid=int(invalid or 0),
        unknown_item=int(sums.get("unknown_item", 0)),
        stale=int(sums.get("stale", 0)),
        models=models,
    )


def _sum_hashes(shards: list[dict[bytes, bytes]]) -> dict[str, float]:
    sums: dict[str, float] = {}
    for shard in shards:
        for raw_key, raw_value in shard.items():
            key = raw_key.decode()
            sums[key] = sums.get(key, 0.0) + float(raw_value)
    return sums


def _model_totals(sums: dict[str, float]) -> ModelTotals:
    def totals(suffix: str) -> RankingTotals:
        return RankingTotals(
            n=int(sums.get("n" + suffix, 0)),
            hits_10=int(sums.get("h10" + suffix, 0)),
            hits_20=int(sums.get("h20" + suffix, 0)),
            rr_sum_20=sums.get("rr" + suffix, 0.0),
        )

    behaviors = sorted({k.split(":", 1)[1] for k in sums if k.startswith("n:")})
    return ModelTotals(totals(""), {b: totals(":" + b) for b in behaviors})


def wait_until_accounted(
    client: RedisClient,
    names: Names,
    expected: int,
    timeout: float,
    on_poll: Callable[[OnlineTotals], None] | None = None,
    interval: float = 0.2,
) -> OnlineTotals:
    """Poll the totals until ``expected`` events have an outcome; TimeoutError after
    ``timeout`` seconds. ``on_poll`` sees every reading (progress displays, sampling)."""
    deadline = time.monotonic() + timeout
    while True:
        totals = read_totals(client, names)
        if on_poll is not None:
            on_poll(totals)
        if totals.accounted >= expected:
            return totals
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"only {totals.accounted:,} of {expected:,} events accounted for "
                f"after {timeout:.0f}s"
            )
        time.sleep(interval)
