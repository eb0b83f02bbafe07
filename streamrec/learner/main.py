"""Run the online learner: build the learner from a checkpoint and its training log, the
Kafka client and the metrics endpoint, then learn until stopped (``streamrec learn``).

This is the one place that builds the learner's clients. It meets the consumers only through
the clicks topic and the version directory (``model.versions``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from confluent_kafka import Consumer
from prometheus_client import start_http_server

from streamrec.clients import ensure_topics, learner_consumer_config, wait_for_kafka
from streamrec.config import ConfigError, Settings
from streamrec.contract.names import Names
from streamrec.learner.loop import OnlineLearner, lock_directory
from streamrec.learner.publisher import VersionPublisher
from streamrec.learner.telemetry import LearnerMetrics
from streamrec.model.checkpoint import CheckpointMeta
from streamrec.model.data.loading import TIME_SPLITS, read_filtered_log, split_training_log
from streamrec.model.data.stream_log import clicks_in_time_order
from streamrec.model.runtime import configure_torch
from streamrec.model.versions import latest_valid
from streamrec.model.zoo import learner_for, load_model
from streamrec.model.zoo.updates import Catalog, ClickBatch, LearnerStart, StreamLearner

log = logging.getLogger("streamrec.learner")


def training_history(settings: Settings) -> ClickBatch:
    """The training part of the run's click log in event-time order: the clicks the served
    checkpoint was trained on, as ``train`` and ``compare --refresh`` split the log
    (``--split time|day``: the part before the held-out days; else the whole log). Without a
    log, the generated sessions ``train`` trained on (``generated_history``)."""
    if not settings.csv_path:
        return generated_history(settings)
    if settings.split in TIME_SPLITS:
        log_sessions, train_idx, _ = split_training_log(settings)
        train = log_sessions.subset(train_idx)
    else:
        train = read_filtered_log(settings, settings.csv_path)
    return clicks_in_time_order(train, 0)


def generated_history(settings: Settings) -> ClickBatch:
    """The generated sessions a checkpoint trained on (the same ``--seed``, ``--users``,
    ``--generator``, ``--scenario``, ``--drift-at``, ``--split`` and ``--max-train-sessions``
    as ``train``): every session with a training example, whole, in session order. Generated
    sessions have no times: their clicks are learned at time 0, before any stream (so the
    recency variants weigh them as long past)."""
    if settings.split == "example":
        raise ConfigError(
            "streamrec learn on generated data needs whole training sessions: train the "
            "checkpoint with --split session or none, not example"
        )
    from streamrec.model.data.loading import prepare_data

    data = prepare_data(settings)
    chosen = np.unique(data.train.session_index)
    sessions = [data.corpus.sessions[i] for i in chosen]
    lengths = np.fromiter((len(s) for s in sessions), np.int64, len(sessions))
    keys = np.repeat(np.arange(len(sessions), dtype=np.int64), lengths)
    items = np.fromiter((i for s in sessions for i in s), np.int64, int(lengths.sum()))
    if data.corpus.item_ids is not None:
        items = np.asarray(data.corpus.item_ids, dtype=np.int64)[items]
    return ClickBatch(keys, items, np.zeros(len(items)))


def build_learner(settings: Settings, resuming: bool) -> tuple[StreamLearner, CheckpointMeta]:
    """The checkpoint's ``StreamLearner`` and the checkpoint's metadata. Resuming, the state
    comes from the newest version, so the training history is not read again."""
    model, meta = load_model(settings.model_path)
    ids = meta.item_ids if meta.item_ids is not None else list(range(meta.n_items))
    history = ClickBatch.empty() if resuming else training_history(settings)
    start = LearnerStart(model, Catalog(np.asarray(ids, dtype=np.int64)), history, settings)
    return learner_for(meta.architecture, start), meta


def run_learner(
    settings: Settings,
    out_dir: Path,
    refresh_s: float,
    idle_timeout_s: float,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Learn from the clicks topic into ``out_dir`` until ``stop()``; returns the last
    version published."""
    configure_torch(settings.threads, settings.device)
    lock = lock_directory(out_dir)
    try:
        learner, meta = build_learner(settings, latest_valid(out_dir) is not None)
        if stop():
            return -1
        ensure_topics(settings, wait_for_kafka(settings))
        metrics = LearnerMetrics()
        if settings.metrics_port:
            start_http_server(settings.metrics_port, settings.metrics_host, metrics.registry)
            log.info(
                "metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port
            )
        publisher = VersionPublisher(out_dir, meta, refresh_s, settings.update_budget_s or None)
        online = OnlineLearner(
            Consumer(learner_consumer_config(settings)),
            Names(settings.namespace),
            learner,
            publisher,
            metrics,
            refresh_s,
            idle_timeout_s,
            stop,
            budget_s=settings.update_budget_s or None,
            max_message_bytes=settings.max_message_bytes,
        )
        online.run()
        return online.version
    finally:
        os.close(lock)
