"""``services up|down|status``: the embedded broker and Valkey, and Prometheus when installed."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from streamrec.cli.exits import EXIT_NOT_RUNNING, EXIT_OK, UsageError
from streamrec.cli.validators import writable_folder
from streamrec.config import Settings

if TYPE_CHECKING:
    from streamrec.pipeline.prometheus import EmbeddedPrometheus
    from streamrec.pipeline.servers import EmbeddedServices


def port_of(address: str) -> int:
    """The port of ``host:port`` or a ``redis://host:port/db`` URL."""
    try:
        return int(address.rsplit(":", 1)[1].split("/")[0])
    except (IndexError, ValueError):
        raise UsageError(f"cannot read a port from {address!r}") from None


def embedded_prometheus(settings: Settings) -> tuple[EmbeddedPrometheus | None, str]:
    """The run directory's Prometheus, or None and why there is none."""
    from streamrec.pipeline.prometheus import EmbeddedPrometheus, find_prometheus

    binary, why = find_prometheus(settings)
    if binary is None:
        return None, why
    consumer = (f"127.0.0.1:{settings.metrics_port}",) if settings.metrics_port else ()
    return EmbeddedPrometheus(settings.run_dir, settings.prometheus_port, binary, consumer), ""


def status_line(name: str, st: Mapping[str, Any], settings: Settings) -> str:
    """One server's line of ``services status``: what runs, and where it is not ours."""
    from streamrec.pipeline.servers import port_open

    if not st.get("installed", True):
        return f"{name:10s} absent   {st['reason']}"
    port, pid, log = st["port"], st["pid"], st["log"]
    if st["running"]:
        return f"{name:10s} running  port {port}  pid {pid}  log {log}"
    if pid is not None:
        return f"{name:10s} starting port {port}  pid {pid}, not answering yet  log {log}"
    if port_open(int(port)):
        return (
            f"{name:10s} other    port {port} answers, but not a server that `services up` "
            f"started from {settings.run_dir} (no running pid there)"
        )
    return f"{name:10s} stopped  port {port}  not running"


PORT_FLAGS = {"broker": "--kafka-port", "valkey": "--redis-port", "prometheus": "--prometheus-port"}


@contextmanager
def port_hint() -> Iterator[None]:
    """A server's port taken by another process is a usage error that names the flag."""
    from streamrec.pipeline.servers import PortInUse

    try:
        yield
    except PortInUse as exc:
        flag = PORT_FLAGS.get(exc.name, "")
        hint = f"; choose another with {flag} PORT" if flag else ""
        raise UsageError(f"{exc} (by a process not started here){hint}") from None


def services_up(
    embedded: EmbeddedServices,
    prometheus: EmbeddedPrometheus | None,
    why: str,
    settings: Settings,
) -> int:
    """Start the servers that do not run yet and print where they are."""
    for r in embedded.start(timeout=settings.connect_timeout):
        print(f"{r.name:10s} pid {r.pid:<8d} 127.0.0.1:{r.port}  log {r.log}")
    if prometheus is None:
        print(f"prometheus not started (it is optional): {why}")
    else:
        r = prometheus.start(timeout=settings.connect_timeout)
        print(f"{r.name:10s} pid {r.pid:<8d} {prometheus.url}  log {r.log}")
        print(
            f"prometheus scrapes {', '.join(prometheus.static_targets) or 'no fixed port'} "
            f"and the targets in {prometheus.targets_dir}"
        )
    print(
        f"export STREAMREC_KAFKA_BOOTSTRAP={embedded.kafka_bootstrap} "
        f"STREAMREC_REDIS_URL={embedded.redis_url}"
    )
    return EXIT_OK


def services(args: argparse.Namespace, settings: Settings) -> int:
    """Start, stop or show the embedded servers; status is 3 when not every one runs
    (Prometheus counts only when a binary is installed)."""
    from streamrec.pipeline.servers import EmbeddedServices

    embedded = EmbeddedServices(
        settings.run_dir,
        args.kafka_port or port_of(settings.kafka_bootstrap),
        args.redis_port or port_of(settings.redis_url),
        settings.redis_password or None,
    )
    prometheus, why = embedded_prometheus(settings)
    if args.action == "up":
        writable_folder(settings.run_dir, "--run-dir")
        with port_hint():
            return services_up(embedded, prometheus, why, settings)
    if args.action == "down":
        from streamrec.pipeline.prometheus import NAME
        from streamrec.pipeline.servers import stop_server

        stopped = embedded.stop()
        if stop_server(settings.run_dir, NAME):  # by its pid file, installed now or not
            stopped.append(NAME)
        print("stopped " + ", ".join(stopped) if stopped else "nothing was running")
        return EXIT_OK
    status = embedded.status()
    if prometheus is None:
        status["prometheus"] = {"running": False, "installed": False, "reason": why}
    else:
        status["prometheus"] = {**prometheus.status(), "installed": True}
    if args.json:
        print(json.dumps(status))
    else:
        for name, st in status.items():
            print(status_line(name, st, settings))
    needed = [st for st in status.values() if st.get("installed", True)]
    return EXIT_OK if all(st["running"] for st in needed) else EXIT_NOT_RUNNING
