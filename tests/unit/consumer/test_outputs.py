"""Outputs that the producer gives up on are counted and logged (librdkafka, no broker)."""

from __future__ import annotations

import logging
import socket

import pytest
from confluent_kafka import Producer

from streamrec.consumer.outputs import Outputs
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.contract.names import Names


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_undeliverable_outputs_are_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    producer = Producer(
        {
            "bootstrap.servers": f"127.0.0.1:{unused_port()}",  # nothing listens there
            "message.timeout.ms": 200,
            "delivery.report.only.error": True,
            "log_level": 0,
        }
    )
    metrics = ConsumerMetrics()
    outputs = Outputs(producer, Names("t"), "m1", metrics, should_stop=lambda: False)
    outputs.recommend("s", 0, [1, 2], [0.5, 0.25], ts=1.0)
    outputs.recommend("s", 1, [2, 1], [0.5, 0.25], ts=2.0)
    with caplog.at_level(logging.ERROR, logger="streamrec.consumer"):
        assert outputs.flush() is True  # returns once each message is settled, failed or not
    failures = metrics.registry.get_sample_value("streamrec_output_delivery_failures_total")
    assert failures == 2
    assert sum("delivery failed" in r.message for r in caplog.records) == 2
    assert metrics.summary()["delivery_failures"] == 2
