"""Run one consumer process: load the model, build the clients, export metrics, consume.

This is the one place that builds the consumer's Kafka and Redis clients.
"""

from __future__ import annotations

import errno
import functools
import gc
import logging
from collections.abc import Callable
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from confluent_kafka import Consumer, Producer
from prometheus_client import start_http_server

from streamrec.clients import (
    click_consumer_config,
    ensure_topics,
    output_producer_config,
    wait_for_redis,
)
from streamrec.config import Settings
from streamrec.consumer.arms import SecondModel
from streamrec.consumer.follow import VersionFollower
from streamrec.consumer.loop import ClickConsumer
from streamrec.consumer.offsets import report_commit
from streamrec.consumer.reload import FileStamp, ModelReloader
from streamrec.consumer.serving import ServedModel
from streamrec.consumer.store import SessionStore
from streamrec.consumer.telemetry import ConsumerMetrics
from streamrec.contract.names import Names
from streamrec.model.runtime import configure_torch

log = logging.getLogger("streamrec.consumer")
# Net container allocations between young-generation collections (CPython's default: 700).
# A batch allocates a few objects per event that live until the batch ends, so at 700 the
# collector ran about nine times per 500-event batch, rescanning them each time.
GC_YOUNG_THRESHOLD = 10_000


def settle_garbage_collector() -> None:
    """Keep what start-up built (the model, the clients, imported modules: a few hundred
    thousand objects that live as long as the process) out of the cyclic collector's scans,
    and collect the young generation less often (``GC_YOUNG_THRESHOLD``). Measured on the
    batch path in one process (``bench/batch_path.py``): the collector's share fell from about
    16 us per event (full collections rescanning the start-up objects) to under 1 us."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


class MetricsPortError(Exception):
    """The metrics endpoint could not listen where it was asked to (``in_use``: the port is
    taken, e.g. by another consumer)."""

    def __init__(self, host: str, port: int, reason: str, in_use: bool) -> None:
        super().__init__(f"cannot serve metrics on {host}:{port}: {reason}")
        self.host, self.port, self.reason, self.in_use = host, port, reason, in_use


def serve_metrics(metrics: ConsumerMetrics, host: str, port: int) -> WSGIServer:
    """Serve ``metrics`` on ``host:port`` (port 0: any free one, logged) from a daemon thread;
    returns the server (``server_port`` is the port it got). Raises ``MetricsPortError`` when
    it cannot listen there."""
    try:
        server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise MetricsPortError(host, port, reason, exc.errno == errno.EADDRINUSE) from None
    log.info("metrics on http://%s:%d/metrics", host, server.server_port)
    return server


def load_second_model(
    settings: Settings, load: Callable[[Path], ServedModel], primary: ServedModel
) -> SecondModel | None:
    """The ``--shadow-model`` checkpoint as a shadow, or as the A/B arm serving
    ``--split-traffic`` of the sessions; None when none is configured. It is loaded once:
    a hot swap (``consumer.reload``) replaces the primary only."""
    if not settings.shadow_model:
        return None
    model = load(Path(settings.shadow_model))
    second = SecondModel(model, settings.split_traffic, primary, bool(settings.follow_dir))
    if second.is_shadow:
        log.info("shadow model %s scores every event (not served)", model.model_version)
    else:
        log.info(
            "A/B: %.1f%% of the sessions served by %s",
            100 * settings.split_traffic,
            model.model_version,
        )
    return second


def run_consumer(
    settings: Settings,
    stop: Callable[[], bool] = lambda: False,
    reload: Callable[[], bool] = lambda: False,
) -> None:
    """Check servers and model, start the metrics endpoint, then consume until ``stop()``
    (e.g. a ``StopRequest`` set by SIGTERM: drain, commit, leave the group). ``reload()``
    (e.g. a ``ReloadRequest`` set by SIGHUP) or a new file at the model path swaps the model
    in between batches (``consumer.reload``). With ``follow_dir`` the learner's versions are
    served instead, each event by the version its time calls for (``consumer.follow``)."""
    metrics = ConsumerMetrics()
    # first: a port in use fails before the model loads
    serve_metrics(metrics, settings.metrics_host, settings.metrics_port)
    device = configure_torch(settings.threads, settings.device)
    load = functools.partial(
        ServedModel,
        device=device,
        scoring=settings.scoring,
        cache_bytes=settings.scorer_cache_mb << 20,
        retrieval=settings.retrieval,
        candidates=settings.candidates,
        ann_probes=settings.ann_probes,
    )
    follower: VersionFollower | None = None
    if settings.follow_dir:
        follower = VersionFollower(
            Path(settings.follow_dir),
            lambda path, label: load(path, label=label),
            metrics,
            settings.version_wait_ms / 1000,
        )
        scorer = follower.start(settings.connect_timeout, stop).model
        log.info("following the versions in %s", settings.follow_dir)
    else:
        served_stamp = FileStamp.of(settings.model_path)  # before loading: a newer file is seen
        scorer = load(settings.model_path)
    log.info("scoring: %s", scorer.mode)
    second = load_second_model(settings, load, scorer)
    if scorer.max_len != settings.max_len:
        log.info("using the checkpoint's window max_len=%d", scorer.max_len)
    if stop():
        log.info("stopped during start-up; nothing consumed")
        return
    redis_conn = wait_for_redis(settings)
    ensure_topics(settings)
    store = SessionStore(
        redis_conn,
        Names(settings.namespace),
        scorer.max_len,
        settings.session_ttl,
        second.label if second is not None else None,
    )
    consumer = ClickConsumer(
        settings,
        Consumer(click_consumer_config(settings, on_commit=report_commit)),
        Producer(output_producer_config(settings)),
        store,
        scorer,
        metrics,
        stop,
        None
        if follower is not None
        else ModelReloader(
            settings.model_path,
            load,
            served_stamp,
            metrics,
            settings.model_watch_interval,
            reload,
            second=second.model if second is not None else None,
        ),
        second,
        follower,
    )
    settle_garbage_collector()
    consumer.run()
