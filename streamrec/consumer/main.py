"""Run one consumer process: load the model, export metrics, consume until SIGTERM."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

from streamrec.clients import ensure_topics, wait_for_redis
from streamrec.config import Settings
from streamrec.consumer.loop import ClickConsumer, ConsumerStats
from streamrec.consumer.serving import ServedModel
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.model.runtime import configure_torch

log = logging.getLogger("streamrec.consumer")


def run_consumer(settings: Settings, metrics_host: str = "127.0.0.1") -> ConsumerStats:
    """Check servers and model, start the metrics endpoint, then consume until stopped."""
    device = configure_torch(settings.threads or 1, settings.device)
    scorer = ServedModel(
        settings.model_path, device, settings.scoring, settings.scorer_cache_mb << 20
    )
    log.info("scoring: %s", scorer.mode)
    if scorer.max_len != settings.max_len:
        log.info("using the checkpoint's window max_len=%d", scorer.max_len)
    wait_for_redis(settings)
    ensure_topics(settings)
    metrics = ConsumerMetrics()
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=metrics_host, registry=metrics.registry)
        log.info("metrics on http://%s:%d/metrics", metrics_host, settings.metrics_port)
    consumer = ClickConsumer(settings, scorer, metrics)
    consumer.install_signal_handlers()
    return consumer.run()
