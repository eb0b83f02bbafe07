"""Pure pieces of the streaming side: names, interleaving, click logs, histogram quantiles."""

from __future__ import annotations

import numpy as np
import pytest

from streamrec.config import ConfigError, Settings, settings_from_env
from streamrec.contract.names import Names
from streamrec.model.data.corpus import SessionCorpus
from streamrec.pipeline.scrape import histogram_quantile
from streamrec.producer.replay import interleave
from streamrec.producer.sources import ReplaySessions


def test_session_key_and_totals_share_a_hash_slot() -> None:
    names = Names("ns")
    key = names.session_key("abc")
    totals = names.totals_key_for("abc")
    tag = key[key.index("{") : key.index("}") + 1]
    assert tag in totals and key.startswith("streamrec:ns:")
    assert Names().clicks == "clicks" and Names("x").dlq == "x.clicks.dlq"
    assert len(set(Names().all_totals_keys())) == 64


def test_interleave_keeps_each_session_in_order() -> None:
    corpus = SessionCorpus(
        sessions=[[1, 2, 3], [4, 5], [6, 7, 8, 9], [10]],
        session_ids=["a", "b", "c", "d"],
        behaviors=["explorer", None, "deep_dive", None],
        n_items=11,
        source="test",
        item_ids=np.arange(100, 111),
    )
    events = list(interleave(ReplaySessions(corpus, [0, 1, 2, 3]), concurrency=2, seed=0))
    assert len(events) == 10
    for sid, clicks in zip("abcd", corpus.sessions):
        mine = [(seq, item) for s, seq, item, _ in events if s == sid]
        assert mine == [(i, 100 + c) for i, c in enumerate(clicks)]  # the log's own ids
    # sessions interleave (not one after another)
    order = [s for s, *_ in events]
    assert order != sorted(order)


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    text = (
        "# TYPE h histogram\n"
        'h_bucket{le="0.1"} 50\nh_bucket{le="0.2"} 100\nh_bucket{le="+Inf"} 100\n'
        "h_count 100\nh_sum 10\n"
    )
    assert histogram_quantile([text], "h", 0.5) == pytest.approx(0.1)
    assert histogram_quantile([text, text], "h", 0.75) == pytest.approx(0.15)
    assert histogram_quantile([], "h", 0.5) is None


def test_settings_from_environment() -> None:
    settings = settings_from_env({"STREAMREC_PARTITIONS": "8", "STREAMREC_SESSION_TTL": "60"})
    assert settings.partitions == 8 and settings.session_ttl == 60.0
    with pytest.raises(ConfigError, match="not a valid"):
        settings_from_env({"STREAMREC_PARTITIONS": "eight"})
    with pytest.raises(ConfigError, match="redis_url"):
        Settings().with_overrides({"redis_url": "http://x"})
    with pytest.raises(ConfigError, match="namespace"):
        Settings().with_overrides({"namespace": "a b"})


def test_secrets_are_masked_and_sasl_configured() -> None:
    from streamrec.clients import kafka_config

    settings = Settings().with_overrides(
        {"redis_password": "hunter2", "kafka_username": "svc", "kafka_password": "pw-42"}
    )
    assert "hunter2" not in repr(settings) and "pw-42" not in repr(settings)
    conf = kafka_config(settings)
    assert conf["sasl.mechanism"] == "PLAIN" and conf["sasl.username"] == "svc"
    assert conf["security.protocol"] == "SASL_SSL"
    assert "sasl.username" not in kafka_config(Settings())
    with pytest.raises(ConfigError, match="both"):
        Settings().with_overrides({"kafka_username": "svc"})


def test_repeated_kafka_log_lines_are_folded() -> None:
    import logging

    from streamrec.clients import RepeatFilter

    folded = RepeatFilter(window=60)

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("k", logging.ERROR, __file__, 1, msg, None, None)

    assert folded.filter(record("Connect to 127.0.0.1:1234 failed"))
    assert not folded.filter(record("Connect to 127.0.0.1:1234 failed"))
    assert not folded.filter(record("Connect to 127.0.0.1:5678 failed"))  # same kind
    assert folded.filter(record("something else"))
