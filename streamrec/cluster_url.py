"""Redis Cluster URLs: ``redis+cluster://host:port[,host:port...]``, parsed and checked."""

from __future__ import annotations

from streamrec.config import CLUSTER_SCHEMES, ConfigError


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The startup nodes of a Redis Cluster URL, ``redis+cluster://host:port[,host:port...]``
    (``rediss+cluster://``: TLS), in order; a missing port is 6379; a path may only name
    database 0 (a cluster has no other). Raises ``ConfigError`` naming what is wrong."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme + "://" not in CLUSTER_SCHEMES:
        raise ConfigError(f"not a Redis Cluster URL (redis+cluster://host:port,...): {url!r}")
    hosts, _, path = rest.partition("/")
    if "?" in rest or "#" in rest:
        raise ConfigError(f"redis_url: a cluster URL takes no query or fragment: {url!r}")
    if "@" in hosts:
        raise ConfigError(
            f"redis_url: put the password in STREAMREC_REDIS_PASSWORD, not the URL: {url!r}"
        )
    if path not in ("", "0"):
        raise ConfigError(f"redis_url: a Redis Cluster has only database 0, got /{path}: {url!r}")
    nodes: list[tuple[str, int]] = []
    for node in hosts.split(","):
        host, port = _host_port(node.strip(), url)
        nodes.append((host, port))
    return nodes


def _host_port(node: str, url: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` of one cluster startup node."""
    if node.startswith("["):
        host, bracket, tail = node[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise ConfigError(f"redis_url: bad node address {node!r} in {url!r}")
        port_text = tail[1:] if tail else ""
    else:
        host, _, port_text = node.partition(":")
        if ":" in port_text:
            raise ConfigError(f"redis_url: write an IPv6 node as [addr]:port: {node!r} in {url!r}")
    if not host or any(c.isspace() for c in host):
        raise ConfigError(f"redis_url: a cluster node needs a host: {node!r} in {url!r}")
    if not port_text:
        return host, 6379
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ConfigError(f"redis_url: port must be 1..65535: {node!r} in {url!r}")
    return host, int(port_text)
