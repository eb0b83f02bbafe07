"""How long ``streamrec`` takes to start: the light commands against bare Python and torch.

Runs each command ``--runs`` times, one after the other, in a fresh process, and reports the
median wall time (and the fastest and slowest run) and its ratio to ``python -c pass``, the
interpreter's own start:

  python -c pass          the floor every command pays
  streamrec --version     argument parsing only
  streamrec --help        the top-level help
  services status         with fresh embedded servers running (and Prometheus, when a
                          prometheus binary is installed: `services up` starts it too)
  report                  the exact totals, read from that embedded Valkey (empty totals)
  python -c "import torch"  what a command pays when it loads torch, for reference

With ``--no-servers`` nothing is started: ``services status`` finds nothing running (status 3)
and ``report`` is timed to its connection error, with ``--connect-timeout 0.2`` (that wait is
inside its time). Timings vary with the machine's load; compare ratios on one machine, run
after run. Prints a table, then one JSON object as the last stdout line.

    python bench/startup.py [--runs 7] [--no-servers]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` as a package

from streamrec.cli.validators import number
from streamrec.pipeline.servers import free_port

UNREACHABLE_TIMEOUT_S = 0.2


def streamrec_command() -> list[str]:
    """The installed ``streamrec`` console script beside this interpreter, else ``-m``."""
    script = Path(sys.executable).with_name("streamrec")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "streamrec"]


def time_runs(argv: Sequence[str], env: Mapping[str, str], runs: int) -> tuple[list[float], int]:
    """Wall seconds of ``runs`` runs of ``argv`` (output discarded) and the last exit status."""
    seconds, status = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seconds.append(time.perf_counter() - started)
        status = done.returncode
    return seconds, status


@contextmanager
def embedded_servers(env: dict[str, str], work: Path) -> Iterator[None]:
    """Fresh embedded broker and Valkey on free ports, named in ``env``; stopped after."""
    env["STREAMREC_RUN_DIR"] = str(work / "run")
    env["STREAMREC_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{free_port()}"
    env["STREAMREC_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    up = subprocess.run([*streamrec_command(), "services", "up"], env=env, capture_output=True)
    try:
        if up.returncode != 0:
            raise SystemExit(f"services up failed ({up.returncode}): {up.stderr.decode()[-500:]}")
        yield
    finally:
        subprocess.run([*streamrec_command(), "services", "down"], env=env, capture_output=True)


def summarise(name: str, seconds: list[float], status: int, floor: float) -> dict[str, Any]:
    """One command's figures: median, fastest, slowest, ratio over ``python -c pass``."""
    median = statistics.median(seconds)
    return {
        "command": name,
        "median_s": round(median, 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "ratio_to_python": round(median / floor, 1) if floor else None,
        "exit_status": status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=number(int, min=1), default=7, help="runs per command (default: 7)"
    )
    parser.add_argument(
        "--no-servers",
        action="store_true",
        help="start nothing: time report to its connection error",
    )
    args = parser.parse_args()
    cmd = streamrec_command()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="streamrec-startup-") as tmp:
        if args.no_servers:
            env["STREAMREC_RUN_DIR"] = str(Path(tmp) / "run")
            env["STREAMREC_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
            report_args = ["report", "--connect-timeout", str(UNREACHABLE_TIMEOUT_S)]
            report_against = f"no server: time to the connection error ({UNREACHABLE_TIMEOUT_S}s)"
        else:
            report_args = ["report"]
            report_against = "a fresh embedded Valkey (empty totals)"
        commands: list[tuple[str, list[str]]] = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("streamrec --version", [*cmd, "--version"]),
            ("streamrec --help", [*cmd, "--help"]),
            ("streamrec services status", [*cmd, "services", "status"]),
            ("streamrec report", [*cmd, *report_args]),
            ('python -c "import torch"', [sys.executable, "-c", "import torch"]),
        ]
        with nullcontext() if args.no_servers else embedded_servers(env, Path(tmp)):
            timed = [(name, *time_runs(argv, env, args.runs)) for name, argv in commands]
    floor = statistics.median(timed[0][1])
    rows = [summarise(name, seconds, status, floor) for name, seconds, status in timed]
    print(f"{'command':<28s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'x python':>9s}")
    for r in rows:
        print(
            f"{r['command']:<28s} {r['median_s']:9.3f} {r['min_s']:7.3f} {r['max_s']:7.3f} "
            f"{r['ratio_to_python']:9.1f}  (exit {r['exit_status']})"
        )
    print(f"runs per command: {args.runs}; report against {report_against}")
    print(json.dumps({"runs": args.runs, "report_against": report_against, "commands": rows}))


if __name__ == "__main__":
    main()
