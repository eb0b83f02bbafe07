"""The Kafka clients' settings: one place, the fetch wait from Settings, commits our own."""

from __future__ import annotations

from streamrec.clients import (
    CLICK_LINGER_MS,
    click_consumer_config,
    click_producer_config,
    output_producer_config,
)
from streamrec.config import Settings


def test_click_consumer_takes_its_fetch_wait_and_group_from_settings() -> None:
    conf = click_consumer_config(Settings(group="g1", fetch_wait_ms=40))
    assert conf["fetch.wait.max.ms"] == 40 and conf["group.id"] == "g1"
    assert conf["enable.auto.commit"] is False  # offsets only after outputs and state
    # a dead member's partitions must move well within the chaos test's deadlines
    assert conf["session.timeout.ms"] <= 10_000
    assert conf["heartbeat.interval.ms"] * 3 <= conf["session.timeout.ms"]


def test_extra_settings_win_and_producers_wait_for_every_replica() -> None:
    assert click_consumer_config(Settings(), **{"fetch.wait.max.ms": 7})["fetch.wait.max.ms"] == 7
    click = click_producer_config(Settings())
    assert click["linger.ms"] == CLICK_LINGER_MS and click["acks"] == "all"
    assert click_producer_config(Settings(), **{"linger.ms": 0})["linger.ms"] == 0
    output = output_producer_config(Settings())
    assert output["acks"] == "all" and output["delivery.report.only.error"] is True
