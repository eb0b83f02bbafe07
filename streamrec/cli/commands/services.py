"""``services up|down|status``: the embedded broker and Valkey."""

from __future__ import annotations

import argparse
import json

from streamrec.cli.exits import EXIT_NOT_RUNNING, EXIT_OK, UsageError
from streamrec.config import Settings


def port_of(address: str) -> int:
    """The port of ``host:port`` or a ``redis://host:port/db`` URL."""
    try:
        return int(address.rsplit(":", 1)[1].split("/")[0])
    except (IndexError, ValueError):
        raise UsageError(f"cannot read a port from {address!r}") from None


def services(args: argparse.Namespace, settings: Settings) -> int:
    """Start, stop or show the embedded servers; status is 3 when not every one runs."""
    from streamrec.pipeline.servers import EmbeddedServices

    embedded = EmbeddedServices(
        settings.run_dir,
        args.kafka_port or port_of(settings.kafka_bootstrap),
        args.redis_port or port_of(settings.redis_url),
        settings.redis_password or None,
    )
    if args.action == "up":
        for r in embedded.start(timeout=settings.connect_timeout):
            print(f"{r.name:7s} pid {r.pid:<8d} 127.0.0.1:{r.port}  log {r.log}")
        print(
            f"export STREAMREC_KAFKA_BOOTSTRAP={embedded.kafka_bootstrap} "
            f"STREAMREC_REDIS_URL={embedded.redis_url}"
        )
        return EXIT_OK
    if args.action == "down":
        stopped = embedded.stop()
        print("stopped " + ", ".join(stopped) if stopped else "nothing was running")
        return EXIT_OK
    status = embedded.status()
    if args.json:
        print(json.dumps(status))
    else:
        for name, st in status.items():
            state = "running" if st["running"] else "stopped"
            print(f"{name:7s} {state:8s} port {st['port']}  pid {st['pid']}  log {st['log']}")
    return EXIT_OK if all(st["running"] for st in status.values()) else EXIT_NOT_RUNNING
