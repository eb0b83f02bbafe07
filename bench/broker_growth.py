"""Whether the embedded broker (Tansu, memory storage) slows as it holds more data.

On one fresh embedded broker per run, one group member does the consumer's Kafka work and
nothing else (``bench/broker_requests.py``'s member: poll the clicks, produce one output per
event, flush, commit every 0.25 s; no Redis, no model) while a click producer offers
``--rate`` events/s for ``--seconds``, the outputs as the consumer writes them
(``encode_recommendation``: 20 items and scores, about 390 bytes; ``--outputs tiny``: ``{}``).
Two runs:
  same topics              one clicks and one recommendations topic throughout;
  new topics each window   a new namespace's topics (and member) every window.
Sampled every ``--window`` seconds: the broker's CPU (cores, from /proc) and the Kafka path's
latency (event timestamp to output acknowledged, p50/p99 of that window's events, exact).
A broker whose cost per event stays flat shows flat lines. The embedded one's CPU climbs with
the records its topics hold (2-byte outputs climb the same way), to a whole core, and the
Kafka path's tail with it; on new topics it starts low again.
This is why ``streamrec loadtest`` runs each step at a fraction of the saturation on fresh
servers. Prints one line per window, writes ``bench/results/broker-growth.{json,png}``; the
last stdout line is the JSON with ``--json``.

    python bench/broker_growth.py [--rate 1400] [--seconds 40] [--window 5]
        [--outputs realistic|tiny] [--json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` as a package

from bench.broker_requests import Member
from streamrec.cli.validators import number
from streamrec.clients import ensure_topics
from streamrec.config import Settings
from streamrec.contract.messages import encode_recommendation
from streamrec.contract.names import Names
from streamrec.pipeline.bench import BenchPipeline, embedded_pipeline, save_results
from streamrec.pipeline.load_plots import log_latency_axis
from streamrec.pipeline.process_cpu import cpu_seconds
from streamrec.plotting import from_zero, legend_outside, new_figure, save, title
from streamrec.producer.replay import ClickProducer

RESULTS = Path(__file__).parent / "results"
PARTITIONS = 8
ASSIGN_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 60.0


def realistic_outputs(count: int = 1000, items: int = 5000) -> list[bytes]:
    """``count`` recommendation bodies as the consumer encodes them (seeded)."""
    rng = np.random.default_rng(0)
    bodies = []
    for i in range(count):
        scores = [float(x) for x in np.sort(rng.normal(size=20))[::-1] * 3]
        items_ = [int(x) for x in rng.integers(0, items, 20)]
        body = encode_recommendation(f"s-{i}", i % 20, items_, scores, "lstm-attn-1a2b3c4d",
                                     1.765e9 + i)  # fmt: skip
        bodies.append(body.encode())
    return bodies


def percentile_ms(values: list[float], q: float) -> float | None:
    """The ``q`` percentile of latencies in seconds, in ms (None for no values)."""
    return round(float(np.percentile(np.asarray(values) * 1000, q)), 1) if values else None


def start_member(bench: BenchPipeline, outputs: list[bytes]) -> tuple[Member, Settings]:
    """A group member on topics of a new namespace, once it holds every partition."""
    run_id = uuid.uuid4().hex[:8]
    settings = bench.settings.with_overrides(
        {"group": f"growth-{run_id}", "namespace": f"growth-{run_id}"}
    )
    ensure_topics(settings)
    member = Member(settings, Names(settings.namespace), outputs)
    member.thread.start()
    deadline = time.monotonic() + ASSIGN_TIMEOUT_S
    while member.assigned < PARTITIONS:
        if time.monotonic() > deadline:
            raise SystemExit("broker_growth: the member did not get the partitions in 60 s")
        time.sleep(0.1)
    return member, settings


def stop_member(member: Member, events: int) -> bool:
    """Wait until ``member`` has done ``events`` events (at most a minute), then stop it;
    whether it did them all."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while member.events < events and time.monotonic() < deadline:
        time.sleep(0.05)
    member.stop.set()
    member.thread.join(15)
    return member.events >= events


def one_run(label: str, new_topics: bool, args: argparse.Namespace) -> dict[str, Any]:
    """A fresh broker; one member producing realistic outputs, on the same topics throughout
    or (``new_topics``) on new topics each window; the figures of each window."""
    outputs = realistic_outputs() if args.outputs == "realistic" else [b"{}"]
    with embedded_pipeline("brokergrowth", partitions=PARTITIONS) as bench:
        broker = bench.pids["broker"]
        member, settings = start_member(bench, outputs)
        windows: list[dict[str, Any]] = []
        drained, elapsed, offered = True, 0.0, 0
        for index in range(int(args.seconds // args.window)):
            if new_topics and index:
                drained &= stop_member(member, offered)
                member, settings = start_member(bench, outputs)
                offered = 0
            before, cpu_before = len(member.latencies), cpu_seconds(broker) or 0.0
            started = time.monotonic()
            sent = ClickProducer(settings).replay(
                bench.sessions, rate=args.rate, limit=int(args.rate * args.window), rounds=0,
                seed=index, first_round=(index + 1) * 1000,
            )  # fmt: skip
            seconds = time.monotonic() - started
            elapsed += seconds
            offered += sent.sent
            latencies = member.latencies[before:]
            cpu = ((cpu_seconds(broker) or 0.0) - cpu_before) / seconds
            window = {
                "t_s": round(elapsed, 1),
                "sent": sent.sent,
                "done": len(latencies),
                "broker_cores": round(cpu, 3),
                "p50_ms": percentile_ms(latencies, 50),
                "p99_ms": percentile_ms(latencies, 99),
            }
            windows.append(window)
            print(f"{label:>22}  {window['t_s']:>5.1f} s  broker {cpu:.2f} cores  done "
                  f"{window['done']:>6,} of {window['sent']:,}  p50 {window['p50_ms']} ms  "
                  f"p99 {window['p99_ms']} ms", flush=True)  # fmt: skip
        drained &= stop_member(member, offered)
    first, last = windows[0]["broker_cores"], windows[-1]["broker_cores"]
    return {
        "topics": label,
        "windows": windows,
        "drained": drained,
        "broker_cores_last_over_first": round(last / first, 2) if first else None,
    }


def plot(result: dict[str, Any], path: Path) -> None:
    """Broker cores (left) and the Kafka path's p99 (right, log) per window, one line a run
    (``result``: what ``main`` writes as JSON)."""
    fig, (ax_cpu, ax_p99) = new_figure(1, 2, figsize=(12.0, 4.2))
    for run in result["runs"]:
        t = [w["t_s"] for w in run["windows"]]
        label = run["topics"]
        ax_cpu.plot(t, [w["broker_cores"] for w in run["windows"]], marker="o", label=label)
        ax_p99.plot(t, [w["p99_ms"] if w["p99_ms"] is not None else np.nan
                        for w in run["windows"]], marker="o", label=label)  # fmt: skip
    ax_cpu.set_ylabel("broker CPU (cores)")
    log_latency_axis(ax_p99)
    ax_p99.set_ylabel("Kafka-path p99, ms (log scale)")
    from_zero(ax_cpu)
    for ax in (ax_cpu, ax_p99):
        ax.set_xlabel("seconds offered (setup between windows left out)")
        ax.grid(alpha=0.3)
        legend_outside(ax)
    title(fig, f"Embedded broker (Tansu, memory storage) at a steady {result['rate']:,.0f} "
               "events/s: its CPU grows with the records its topics hold\none group member "
               f"doing only the consumer's Kafka work, {os.cpu_count()} cores")  # fmt: skip
    save(fig, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, validated (one-line errors, exit 2)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=number(float, above=0), default=1400.0,
                    help="offered events/s (default: 1400)")  # fmt: skip
    ap.add_argument("--seconds", type=number(float, above=0), default=40.0,
                    help="seconds offered per run (default: 40)")  # fmt: skip
    ap.add_argument("--window", type=number(float, above=0), default=5.0,
                    help="seconds per sample (default: 5)")  # fmt: skip
    ap.add_argument("--outputs", choices=("realistic", "tiny"), default="realistic",
                    help="the outputs' bodies: recommendations as the consumer writes them "
                    "(about 390 bytes), or '{}' (default: realistic)")  # fmt: skip
    ap.add_argument("--json", action="store_true", help="last stdout line: the runs as JSON")
    ap.add_argument("--out", type=Path, default=RESULTS / "broker-growth.json",
                    help="where the JSON goes; the PNG goes beside it")  # fmt: skip
    args = ap.parse_args(argv)
    if args.window > args.seconds:
        ap.error("--window must not exceed --seconds")
    return args


def main() -> None:
    """Both runs, one line per window, then the JSON and the PNG."""
    args = parse_args()
    runs = [one_run("same topics", False, args), one_run("new topics each window", True, args)]
    out = {
        "rate": args.rate,
        "seconds": args.seconds,
        "window_s": args.window,
        "partitions": PARTITIONS,
        "outputs": args.outputs,
        "runs": runs,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    plot(out, args.out.with_suffix(".png"))
    save_results(out, args.out, args.json)


if __name__ == "__main__":
    main()
