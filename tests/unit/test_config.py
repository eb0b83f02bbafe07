"""Settings: environment overrides, validation, secrets."""

from __future__ import annotations

import pytest

from streamrec.config import ConfigError, Settings, settings_from_env


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


def test_split_traffic_is_a_share_and_needs_the_second_model() -> None:
    ok = Settings().with_overrides({"shadow_model": "b.pt", "split_traffic": 0.25})
    assert ok.split_traffic == 0.25
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ConfigError, match="split_traffic must be > 0 and < 1"):
            Settings().with_overrides({"shadow_model": "b.pt", "split_traffic": bad})
    with pytest.raises(ConfigError, match="needs the second model"):
        Settings().with_overrides({"split_traffic": 0.5})


def test_model_watch_interval_must_be_a_finite_non_negative_number() -> None:
    assert Settings(model_watch_interval=0).validate().model_watch_interval == 0
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="model_watch_interval must be >= 0"):
            Settings(model_watch_interval=bad).validate()
