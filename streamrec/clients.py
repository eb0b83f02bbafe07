"""Kafka and Redis clients built from ``Settings``, topic creation, and bounded waits."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import (
    ClusterDownError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)

from streamrec.cluster_url import cluster_nodes
from streamrec.config import ConfigError, Settings
from streamrec.contract.names import Names

if TYPE_CHECKING:  # confluent_kafka is imported where used: `streamrec report` needs Redis only
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient

NEEDS_PASSWORD = "Redis requires a password (set STREAMREC_REDIS_PASSWORD)"

# what a node's refusal of the credentials says (wrapped in RedisClusterException's message)
AUTH_FAILURE_SIGNS = ("NOAUTH", "WRONGPASS", "invalid username-password", "authenticated")

RedisClient = redis.Redis | RedisCluster
"""What ``redis_client`` builds: one Redis, or a Redis Cluster (``redis+cluster://``)."""

REDIS_OUTAGES: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    ClusterDownError,  # CLUSTERDOWN: some slot is not served (a master is down)
    TryAgainError,  # TRYAGAIN: a slot is being moved
    SlotNotCoveredError,  # the client's slot map has no node for a key's slot
)
"""Errors that mean Redis (or part of a cluster) is unavailable for now: retry, don't crash."""
# and while waiting: a cluster client that no startup node answered cannot even be built
WAITED_FOR: tuple[type[Exception], ...] = (*REDIS_OUTAGES, RedisClusterException)


class UnreachableError(ConnectionError):
    """A server did not answer within the configured wait; one readable line."""


WaitHook = Callable[[str], None]
"""Told once, in one line, what a wait is for, when a server does not answer at once."""

START_HINT = "start them with: streamrec services up"
WAIT_LOG = logging.getLogger("streamrec.clients")


class RepeatFilter(logging.Filter):
    """Let one of each kind of message through per ``window`` seconds (librdkafka retries
    a dead broker many times a second; one line says it as clearly)."""

    def __init__(self, window: float = 30.0) -> None:
        super().__init__()
        self.window = window
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = re.sub(r"\d+", "#", record.getMessage())[:120]
        now = time.monotonic()
        if now - self._last.get(key, -self.window) < self.window:
            return False
        self._last[key] = now
        return True


KAFKA_LOG = logging.getLogger("streamrec.kafka")
KAFKA_LOG.addFilter(RepeatFilter())


def kafka_error(err: KafkaError) -> None:
    """librdkafka's error callback: say plainly what a broker outage means for us."""
    from confluent_kafka import KafkaError

    if err.code() == KafkaError._ALL_BROKERS_DOWN:
        KAFKA_LOG.warning(
            "all Kafka brokers are unreachable; retrying in the background (the consumer "
            "pauses and commits nothing, the producer queues events until message.timeout.ms)"
        )
    else:
        KAFKA_LOG.warning("Kafka: %s", err)


def kafka_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """librdkafka configuration common to every client (its logs go through ``logging``).

    SASL/PLAIN credentials come from ``kafka_username``/``kafka_password`` (environment
    ``STREAMREC_KAFKA_USERNAME``/``STREAMREC_KAFKA_PASSWORD``) and are never logged.
    """
    conf: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "logger": KAFKA_LOG,
        "error_cb": kafka_error,
    }
    if settings.kafka_username:
        conf.update(
            {
                "security.protocol": settings.kafka_security_protocol,
                "sasl.mechanism": "PLAIN",
                "sasl.username": settings.kafka_username,
                "sasl.password": settings.kafka_password,
            }
        )
    conf.update(extra)
    return conf


# How the pipeline's Kafka clients trade latency for broker requests. On the embedded broker
# (Tansu) every fetch is held for fetch.wait.max.ms, data or not, so that wait is both the
# latency a click spends in the broker and, per consumer, 1000 / wait fetch requests a second,
# whatever the load (docs/architecture.md, "Broker requests and latency").
CLICK_FETCH_MIN_BYTES = 16_384  # Apache Kafka answers a fetch as soon as this much is there
CLICK_LINGER_MS = 10  # the click producer: events per produce request vs latency
OUTPUT_LINGER_MS = 5  # the consumer's outputs are flushed per batch, which sends them at once


def click_consumer_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """librdkafka settings of a clicks consumer-group member (``settings.group``).

    Offsets are committed by the consumer itself (after outputs and state), never
    automatically. ``fetch.wait.max.ms`` is ``settings.fetch_wait_ms``.
    """
    conf: dict[str, Any] = {
        "group.id": settings.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        # a dead member's partitions move within 6 s (tests/integration/test_chaos.py)
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "max.poll.interval.ms": 300_000,
        "fetch.min.bytes": CLICK_FETCH_MIN_BYTES,
        "fetch.wait.max.ms": settings.fetch_wait_ms,
    }
    conf.update(extra)
    return kafka_config(settings, **conf)


def learner_consumer_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """librdkafka settings of the online learner (``streamrec learn``): its own group on the
    clicks topic, partitions assigned (not subscribed), offsets committed only as a report
    (it resumes from its versions' offsets)."""
    conf: dict[str, Any] = {
        "group.id": Names(settings.namespace).learner_group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.min.bytes": CLICK_FETCH_MIN_BYTES,
        "fetch.wait.max.ms": settings.fetch_wait_ms,
    }
    conf.update(extra)
    return kafka_config(settings, **conf)


def output_producer_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """librdkafka settings of the consumer's recommendations and DLQ producer.

    acks=all plus a flush before every commit make outputs at-least-once; only failed
    deliveries are reported (a Python callback per message was measurable).
    """
    conf: dict[str, Any] = {
        "linger.ms": OUTPUT_LINGER_MS,
        "acks": "all",
        "delivery.report.only.error": True,
    }
    conf.update(extra)
    return kafka_config(settings, **conf)


def click_producer_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """librdkafka settings of the click producer (``streamrec produce``, demo, load test)."""
    conf: dict[str, Any] = {
        "linger.ms": CLICK_LINGER_MS,
        "acks": "all",
        "message.timeout.ms": 120_000,
        "queue.buffering.max.messages": 200_000,
    }
    conf.update(extra)
    return kafka_config(settings, **conf)


def redis_client(settings: Settings) -> RedisClient:
    """A Redis client; the password comes from ``settings.redis_password`` (never logged).

    A ``redis+cluster://`` (or ``rediss+cluster://``) URL gives redis-py's cluster client,
    bootstrapped from the URL's nodes; building it already asks the cluster for its slot map,
    so it raises ``redis.ConnectionError`` or ``RedisClusterException`` when none answers
    (``wait_for_redis`` waits for it instead)."""
    common: dict[str, Any] = {
        "password": settings.redis_password or None,
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
        "health_check_interval": 30,
    }
    if not settings.redis_cluster:
        return redis.Redis.from_url(settings.redis_url, **common)
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in cluster_nodes(settings.redis_url)],
        ssl=settings.redis_url.startswith("rediss+"),
        **common,
    )


def _embedded_default(settings: Settings, name: str) -> bool:
    """Whether ``name`` is still the address of the embedded servers (the default)."""
    return bool(getattr(settings, name) == getattr(Settings(), name))


def _not_reachable(settings: Settings, what: str, name: str) -> UnreachableError:
    """The one-line failure, with how to start the servers when they are the embedded ones."""
    message = (
        f"{what} at {getattr(settings, name)} not reachable after {settings.connect_timeout:g}s"
    )
    if _embedded_default(settings, name):
        message += f"; {START_HINT}"
    return UnreachableError(message)


def _announce(settings: Settings, what: str, name: str, on_wait: WaitHook | None) -> None:
    message = f"waiting up to {settings.connect_timeout:g}s for {what} at {getattr(settings, name)}"
    if on_wait is None:
        WAIT_LOG.warning("%s", message)
    else:
        on_wait(message)


def wait_for_redis(settings: Settings, on_wait: WaitHook | None = None) -> RedisClient:
    """Connect and PING within ``connect_timeout``; raise a one-line error otherwise.

    A cluster is waited for until its client can be built (some node answers with the slot
    map) and the node asked says ``cluster_state:ok`` (every slot served).
    When the first try fails, what it waits for is said once: to ``on_wait`` if given,
    else as a warning on the ``streamrec.clients`` logger.
    """
    deadline = time.monotonic() + settings.connect_timeout
    announced = False
    client: RedisClient | None = None
    while True:
        try:
            if client is None:
                client = redis_client(settings)
            if _redis_ready(client):
                return client
        except redis.AuthenticationError:
            # the server answered: a settings problem (exit status 2), not an unreachable one
            if not settings.redis_password:
                raise ConfigError(NEEDS_PASSWORD) from None
            raise ConfigError(
                "Redis refused the credentials (check STREAMREC_REDIS_PASSWORD)"
            ) from None
        except redis.ResponseError as exc:
            if "NOAUTH" in str(exc):
                raise ConfigError(NEEDS_PASSWORD) from None
            if not isinstance(exc, REDIS_OUTAGES):
                raise
        except WAITED_FOR as exc:
            if _auth_failure(exc):
                raise ConfigError(_auth_message(settings, exc)) from None
        if not announced:
            _announce(settings, "Redis", "redis_url", on_wait)
            announced = True
        if time.monotonic() > deadline:
            raise _not_reachable(settings, "Redis", "redis_url") from None
        time.sleep(0.2)


def _redis_ready(client: RedisClient) -> bool:
    """PING answered; for a cluster, also ``cluster_state:ok`` on the node asked."""
    client.ping()
    if not isinstance(client, RedisCluster):
        return True
    return bool(client.cluster_info().get("cluster_state") == "ok")


def _auth_failure(exc: Exception) -> bool:
    """Whether a cluster client failed to start because a node refused the credentials
    (redis-py wraps the node's answer in a ``RedisClusterException`` message)."""
    return any(sign in str(exc) for sign in AUTH_FAILURE_SIGNS)


def _auth_message(settings: Settings, exc: Exception) -> str:
    if not settings.redis_password or "NOAUTH" in str(exc) or "authenticated" in str(exc):
        return NEEDS_PASSWORD
    return "Redis refused the credentials (check STREAMREC_REDIS_PASSWORD)"


def wait_for_kafka(settings: Settings, on_wait: WaitHook | None = None) -> AdminClient:
    """An admin client whose broker answered a metadata request within ``connect_timeout``.

    When the first request gets no answer (within a second), what it waits for is said once:
    to ``on_wait`` if given, else as a warning on the ``streamrec.clients`` logger.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    # Connection failures are expected while waiting: keep librdkafka quiet, report once.
    admin = AdminClient(kafka_config(settings, log_level=0))
    deadline = time.monotonic() + settings.connect_timeout
    announced = False
    while True:
        try:
            admin.list_topics(timeout=2 if announced else 1)
            return admin
        except KafkaException:
            if not announced:
                _announce(settings, "Kafka", "kafka_bootstrap", on_wait)
                announced = True
            if time.monotonic() > deadline:
                raise _not_reachable(settings, "Kafka", "kafka_bootstrap") from None


def ensure_topics(settings: Settings, admin: AdminClient | None = None) -> dict[str, int]:
    """Create the pipeline's topics if missing; refuse a clicks topic with other partitions.

    ``clicks`` and ``recommendations`` get ``settings.partitions`` partitions, the DLQ one.
    Returns topic -> partition count.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic

    names = Names(settings.namespace)
    admin = admin or wait_for_kafka(settings)
    wanted = {
        names.clicks: settings.partitions,
        names.recommendations: settings.partitions,
        names.dlq: 1,
    }
    existing = admin.list_topics(timeout=10).topics
    missing = [
        NewTopic(t, num_partitions=n, replication_factor=1)
        for t, n in wanted.items()
        if t not in existing
    ]
    if missing:
        for topic, future in admin.create_topics(missing).items():
            try:
                future.result(timeout=15)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise UnreachableError(f"could not create topic {topic}: {exc}") from None
    deadline = time.monotonic() + 15
    while True:
        topics = admin.list_topics(timeout=10).topics
        counts = {t: len(topics[t].partitions) for t in wanted if t in topics}
        if len(counts) == len(wanted) and all(counts.values()):
            break
        if time.monotonic() > deadline:
            raise UnreachableError(f"topics {sorted(set(wanted) - set(counts))} did not appear")
        time.sleep(0.1)
    if counts[names.clicks] != settings.partitions:
        raise ConfigError(
            f"topic {names.clicks} has {counts[names.clicks]} partitions, "
            f"settings ask for {settings.partitions}"
        )
    return counts
