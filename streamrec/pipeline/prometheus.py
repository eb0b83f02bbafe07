"""An embedded Prometheus server on loopback, scraping the consumers of this machine.

Optional: it runs when a ``prometheus`` binary is found (``STREAMREC_PROMETHEUS_BIN``, else
``PATH``; Debian's ``prometheus`` package provides one). It evaluates the repository's own
recording rules (``infra/prometheus/rules.yml``, the file the compose stack mounts) and finds
its targets two ways:

- a static target, the default consumer metrics port (``streamrec consume`` run by hand);
- file-based service discovery: launchers (the demo) write one JSON file per group of
  consumer processes into ``<dir>/targets/``; Prometheus picks files up as they come and go.

Like the broker and Valkey it is a process group with a pid file (``prometheus.pid``) and a
log (``prometheus.log``) in the run directory; its data lives in ``prometheus/data``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from streamrec.config import Settings
from streamrec.pipeline.servers import (
    ServiceError,
    ServiceRecord,
    ServiceUnreachable,
    free_port,
    port_open,
    server_pid,
    spawn_server,
    stop_server,
)

NAME = "prometheus"
# the repository's recording rules, shared with the compose stack
RULES_FILE = Path(__file__).resolve().parents[2] / "infra" / "prometheus" / "rules.yml"
# short: a demo replays 39k events in seconds, and the over-time plot wants several points
SCRAPE_INTERVAL_S = 0.5
JOB = "streamrec-consumer"


def find_prometheus(settings: Settings) -> tuple[str | None, str]:
    """The Prometheus binary to run and ``""``, or None and why there is none (one line)."""
    if settings.prometheus_bin:
        found = shutil.which(settings.prometheus_bin)
        if found is None:  # Settings.validate refused this already, unless it changed since
            return None, f"prometheus_bin {settings.prometheus_bin!r} is not an executable"
    else:
        found = shutil.which(NAME)
        if found is None:
            return None, (
                "no prometheus binary on PATH (Debian's prometheus package has one; or set "
                "STREAMREC_PROMETHEUS_BIN)"
            )
    if not RULES_FILE.is_file():
        return None, f"the recording rules {RULES_FILE} are missing (run from a checkout)"
    return found, ""


def scrape_config(
    targets_dir: Path, static_targets: Iterable[str] = (), interval_s: float = SCRAPE_INTERVAL_S
) -> dict[str, Any]:
    """Prometheus's configuration: the repository's rules, the static consumer targets and
    every ``*.json`` target file in ``targets_dir``."""
    interval = f"{round(interval_s * 1000)}ms"
    static = sorted(set(static_targets))
    job: dict[str, Any] = {
        "job_name": JOB,
        "scrape_interval": interval,
        "scrape_timeout": interval,
        "file_sd_configs": [{"files": [str(targets_dir / "*.json")], "refresh_interval": "5s"}],
    }
    if static:
        job["static_configs"] = [{"targets": static, "labels": {"source": "static"}}]
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(RULES_FILE)],
        "scrape_configs": [job],
    }


def write_targets(targets_dir: Path, name: str, addresses: Iterable[str]) -> Path:
    """Write (atomically: Prometheus may read at any time) the file-discovery file ``name``
    listing ``host:port`` metrics addresses; returns its path."""
    targets_dir.mkdir(parents=True, exist_ok=True)
    path = targets_dir / f"{name}.json"
    tmp = targets_dir / f".{name}.json.tmp"  # not matched by *.json
    tmp.write_text(json.dumps([{"targets": sorted(addresses), "labels": {"source": name}}]))
    os.replace(tmp, path)
    return path


def remove_targets(targets_dir: Path, name: str) -> None:
    """Remove the file-discovery file ``name`` (its targets stop being scraped)."""
    (targets_dir / f"{name}.json").unlink(missing_ok=True)


@dataclass
class EmbeddedPrometheus:
    """The Prometheus of one run directory, on ``127.0.0.1:port``."""

    run_dir: Path
    port: int
    binary: str
    static_targets: tuple[str, ...] = ()
    interval_s: float = SCRAPE_INTERVAL_S

    @property
    def home(self) -> Path:
        """Its directory: configuration, data and target files."""
        return self.run_dir / NAME

    @property
    def targets_dir(self) -> Path:
        """Where launchers write the file-discovery target files."""
        return self.home / "targets"

    @property
    def url(self) -> str:
        """Base URL of its HTTP API and UI."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServiceRecord:
        """Write the configuration, start it (unless it runs already) and wait until ready."""
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        config = self.home / "prometheus.yml"
        # JSON is YAML: no YAML library needed at run time
        config.write_text(
            json.dumps(scrape_config(self.targets_dir, self.static_targets, self.interval_s))
        )
        cmd = [
            self.binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.home / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=2d",
        ]
        record = spawn_server(self.run_dir, NAME, cmd, self.port)
        self._wait_ready(timeout)
        return record

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server_pid(self.run_dir, NAME) is None:
                log = self.run_dir / f"{NAME}.log"
                raise ServiceError(f"embedded prometheus exited at start-up; see {log}")
            if self.ready():
                return
            time.sleep(0.1)
        raise ServiceUnreachable(f"embedded prometheus not ready after {timeout:.0f}s")

    def ready(self) -> bool:
        """Whether it answers ``/-/ready``."""
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop it; whether it was running."""
        return stop_server(self.run_dir, NAME, timeout)

    def status(self) -> dict[str, object]:
        """Running, pid, port, log, URL."""
        pid = server_pid(self.run_dir, NAME)
        return {
            "running": pid is not None and port_open(self.port),
            "pid": pid,
            "port": self.port,
            "log": str(self.run_dir / f"{NAME}.log"),
            "url": self.url,
        }


@dataclass
class PrometheusRun:
    """A run's embedded Prometheus, or None and why there is none."""

    server: EmbeddedPrometheus | None
    note: str = ""


@contextmanager
def run_prometheus(
    settings: Settings, work_dir: Path, console: Console | None = None
) -> Iterator[PrometheusRun]:
    """A fresh Prometheus on a free port in ``work_dir`` for one run (demo), stopped at exit;
    none when no binary is installed or it does not start (Prometheus is optional)."""
    binary, why = find_prometheus(settings)
    if binary is None:
        if console is not None:
            console.print(f"Prometheus: {why}; carrying on without it", markup=False)
        yield PrometheusRun(None, why)
        return
    server = EmbeddedPrometheus(work_dir, free_port(), binary)
    if console is not None:
        console.print(f"starting Prometheus ({binary}) on {server.url} ...", markup=False)
    try:
        try:
            server.start(timeout=settings.connect_timeout)
        except ServiceError as exc:
            if console is not None:
                console.print(f"Prometheus: {exc}; carrying on without it", markup=False)
            yield PrometheusRun(None, str(exc))
            return
        yield PrometheusRun(server)
    finally:
        server.stop()
