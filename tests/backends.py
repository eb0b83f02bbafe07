"""Pick and start the servers integration tests talk to (always real servers)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from streamrec.pipeline.servers import EmbeddedServices, free_port

KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
REDIS_IMAGE = "redis:7.2.5-alpine"


@dataclass(frozen=True)
class Endpoints:
    """Where the test servers listen."""

    kafka_bootstrap: str
    redis_url: str
    backend: str
    embedded: EmbeddedServices | None = None


def docker_answers() -> bool:
    """Whether a Docker daemon answers a ping (testcontainers needs one)."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def choose_backend() -> tuple[str, str]:
    """(backend, reason) for this session."""
    if os.environ.get("STREAMREC_TEST_KAFKA_BOOTSTRAP") and os.environ.get(
        "STREAMREC_TEST_REDIS_URL"
    ):
        return "external", "STREAMREC_TEST_KAFKA_BOOTSTRAP and STREAMREC_TEST_REDIS_URL are set"
    if os.environ.get("STREAMREC_TEST_BACKEND") == "embedded":
        return "embedded", "STREAMREC_TEST_BACKEND=embedded"
    if docker_answers():
        return "testcontainers", "a Docker daemon answers"
    return "embedded", "no Docker daemon answers; Tansu broker + valkey-server from PyPI wheels"


@contextlib.contextmanager
def start_backend(run_dir: Path) -> Iterator[Endpoints]:
    """Start (or name) the servers for the test session and stop them afterwards."""
    backend, _ = choose_backend()
    if backend == "external":
        yield Endpoints(
            os.environ["STREAMREC_TEST_KAFKA_BOOTSTRAP"],
            os.environ["STREAMREC_TEST_REDIS_URL"],
            backend,
        )
    elif backend == "testcontainers":
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.redis import RedisContainer

        # KRaft, default bridge network: the module's advertised listener is then reachable
        # from the host (its known issue is with custom networks).
        with KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka, RedisContainer(REDIS_IMAGE) as rd:
            host = rd.get_container_host_ip()
            port = rd.get_exposed_port(6379)
            yield Endpoints(kafka.get_bootstrap_server(), f"redis://{host}:{port}/0", backend)
    else:
        services = EmbeddedServices(run_dir, free_port(), free_port())
        services.start()
        try:
            yield Endpoints(services.kafka_bootstrap, services.redis_url, backend, services)
        finally:
            services.stop()
