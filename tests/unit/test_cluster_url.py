"""Redis Cluster URLs: ``redis+cluster://host:port[,host:port...]``, parsed and validated."""

from __future__ import annotations

import pytest

from streamrec.cli.exits import EXIT_UNREACHABLE, EXIT_USAGE
from streamrec.cluster_url import cluster_nodes
from streamrec.config import ConfigError, Settings, settings_from_env
from tests.unit.cli.helpers import run_main


@pytest.mark.parametrize(
    "url, nodes",
    [
        ("redis+cluster://127.0.0.1:7000", [("127.0.0.1", 7000)]),
        (
            "redis+cluster://a:7000,b:7001,c:7002",
            [("a", 7000), ("b", 7001), ("c", 7002)],
        ),
        ("redis+cluster://redis-0.redis", [("redis-0.redis", 6379)]),
        ("redis+cluster://a:7000/0", [("a", 7000)]),
        ("redis+cluster://a:7000/", [("a", 7000)]),
        ("rediss+cluster://a:6380, b:6380", [("a", 6380), ("b", 6380)]),
        ("redis+cluster://[::1]:7000,[fe80::2]", [("::1", 7000), ("fe80::2", 6379)]),
    ],
)
def test_cluster_urls_name_their_startup_nodes(url: str, nodes: list[tuple[str, int]]) -> None:
    assert cluster_nodes(url) == nodes
    settings = Settings().with_overrides({"redis_url": url})
    assert settings.redis_cluster


@pytest.mark.parametrize(
    "url, message",
    [
        ("redis+cluster://", "redis_url: a cluster node needs a host: '' in 'redis+cluster://'"),
        ("redis+cluster://a:1,,b:2", "redis_url: a cluster node needs a host: '' in"),
        ("redis+cluster://:7000", "redis_url: a cluster node needs a host: ':7000'"),
        ("redis+cluster://a:0", "redis_url: port must be 1..65535: 'a:0'"),
        ("redis+cluster://a:70000", "redis_url: port must be 1..65535: 'a:70000'"),
        ("redis+cluster://a:port", "redis_url: port must be 1..65535: 'a:port'"),
        ("redis+cluster://a:7000/1", "redis_url: a Redis Cluster has only database 0, got /1"),
        ("redis+cluster://u:pw@a:7000", "redis_url: put the password in STREAMREC_REDIS_PASSWORD"),
        ("redis+cluster://a:7000?ssl=1", "redis_url: a cluster URL takes no query or fragment"),
        ("redis+cluster://::1:7000", "redis_url: write an IPv6 node as [addr]:port: '::1:7000'"),
        ("redis+cluster://[::1", "redis_url: bad node address '[::1'"),
        ("redis+cluster://[::1]x", "redis_url: bad node address '[::1]x'"),
        ("cluster://a:7000", "redis_url must start with redis://, rediss://, unix:// or (a Redis"),
    ],
)
def test_bad_cluster_urls_get_one_line(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        Settings().with_overrides({"redis_url": url})
    assert str(exc.value).startswith(message)
    assert "\n" not in str(exc.value)


def test_plain_urls_are_not_clusters() -> None:
    assert not Settings().redis_cluster
    assert not Settings().with_overrides({"redis_url": "rediss://db:6380/2"}).redis_cluster
    with pytest.raises(ConfigError, match="not a Redis Cluster URL"):
        cluster_nodes("redis://a:7000/0")


def test_the_environment_chooses_a_cluster() -> None:
    settings = settings_from_env({"STREAMREC_REDIS_URL": "redis+cluster://r1:7000,r2:7000"})
    assert settings.redis_cluster and "redis_url" in settings.explicit
    with pytest.raises(ConfigError, match="only database 0"):
        settings_from_env({"STREAMREC_REDIS_URL": "redis+cluster://r1:7000/3"})


def test_a_bad_cluster_url_on_the_command_line_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = run_main(capsys, "report", "--redis-url", "redis+cluster://db:99999")
    assert status == EXIT_USAGE
    assert err.strip().splitlines() == [
        "streamrec: error: redis_url: port must be 1..65535: 'db:99999' in "
        "'redis+cluster://db:99999'"
    ]


def test_an_unreachable_cluster_exits_4(capsys: pytest.CaptureFixture[str]) -> None:
    url = "redis+cluster://127.0.0.1:1,127.0.0.1:2"
    status, _, err = run_main(capsys, "report", "--redis-url", url, "--connect-timeout", "0.2")
    assert status == EXIT_UNREACHABLE
    lines = err.strip().splitlines()
    assert lines[0] == f"streamrec: waiting up to 0.2s for Redis at {url}"
    assert lines[-1] == f"streamrec: error: Redis at {url} not reachable after 0.2s"
