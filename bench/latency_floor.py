"""What sets the end-to-end latency floor: the Kafka path alone against the whole pipeline.

For each offered rate, one after the other on this machine:
  kafka     the consumer's Kafka work and nothing else (``bench/broker_requests.py``'s
            group member: poll, produce one output per event, flush, commit every 0.25 s;
            no Redis, no model), on fresh embedded servers: event timestamp to output
            acknowledged, percentiles of every event (exact);
  pipeline  ``streamrec loadtest --profile fixed --rate R``: one ``streamrec consume``
            process with the model and Redis, event timestamp to recommendation written
            (the consumer's latency histogram; percentiles interpolated in its buckets).
Both use the default Kafka settings (``streamrec.clients``: click producer linger, fetch
wait) and the topics a one-consumer load test gets (``load_partitions``: one partition unless
``STREAMREC_PARTITIONS`` is set). Prints one line per rate and path, then as its last stdout line
``{"rates": [{"rate", "kafka": {p50, p99}, "pipeline": {p50, p99, batch_ms, ...},
"kafka_p99_over_pipeline_p99", "kafka_p99_over_target"}...]}``: how much of the pipeline's
tail, and of the target (``--target-ms``), the Kafka path alone takes.

``--loadtest PATH`` takes the rates from a load test's report instead: the rates of its steps
at fractions of the saturation it measured (``at_saturation_fractions``), and it adds to each
row that step's p99 and ``pipeline_p99_over_loadtest_p99``: whether the two harnesses agree
at the same rate (issue 21 asks for within 20%). ``--repeats N`` runs the pipeline N times per
rate (fresh servers each time) and compares medians, as ``loadtest --saturation-repeats N``
reports them.

    python bench/latency_floor.py [--rates 2000,4000 | --loadtest DIR/loadtest.json]
        [--repeats 1] [--seconds 20] [--target-ms 50] [--model PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` as a package

from bench.broker_requests import one_run
from streamrec.cli.validators import number, number_list
from streamrec.clients import CLICK_LINGER_MS
from streamrec.config import ConfigError, Settings, settings_from_env
from streamrec.pipeline.bench import embedded_pipeline, save_results
from streamrec.pipeline.load_pipeline import load_partitions
from streamrec.pipeline.load_warmup import median_of
from streamrec.pipeline.loadtest import run_loadtest

RESULTS = Path(__file__).parent / "results"


def kafka_path(settings: Settings, rate: float, seconds: float, run_no: int) -> dict[str, Any]:
    """One group member doing only the consumer's Kafka work at ``rate`` for ``seconds``, with
    ``settings``' fetch wait and the partitions a one-consumer load test gets."""
    partitions = load_partitions(settings, 1)  # the same topics as the pipeline path's
    run = argparse.Namespace(rate=rate, seconds=seconds, partitions=partitions,
                             linger_ms=CLICK_LINGER_MS)  # fmt: skip
    with embedded_pipeline("latfloor", partitions=partitions) as bench:
        return one_run(bench, bench.pids["broker"], settings.fetch_wait_ms, 1, run, run_no)


def pipeline_path(
    settings: Settings, rate: float, seconds: float, console: Console
) -> dict[str, Any]:
    """``streamrec loadtest --profile fixed --rate R``: the step's figures."""
    with tempfile.TemporaryDirectory(prefix="streamrec-latfloor-") as out:
        report, _, _ = run_loadtest(settings, [rate], seconds, 1, Path(out), console)
    step = report.steps[0]
    return {
        "p50": step.latency_ms["p50"],
        "p99": step.latency_ms["p99"],
        "achieved_events_per_s": step.achieved_events_per_s,
        "batch_mean_events": step.batch_mean_events,
        "batch_ms": round(sum(step.batch_stage_ms.values()), 2),
        "batch_stage_ms": step.batch_stage_ms,
        "cpu_cores": step.cpu_cores,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is 0."""
    return None if a is None or not b else round(a / b, 3)


AGREEMENT = 0.2  # the two harnesses agree when their p99 differ by at most this fraction


def loadtest_rates(path: Path) -> list[dict[str, Any]]:
    """A load-test report's steps at fractions of its saturation (``SystemExit`` with one line
    when the file is missing, not JSON, or has none)."""
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"latency_floor: cannot read the load-test report {path}: {exc}") from None
    rows = report.get("at_saturation_fractions") if isinstance(report, dict) else None
    if not rows:
        raise SystemExit(
            f"latency_floor: {path} has no steps at fractions of a saturation; run "
            "`streamrec loadtest --profile steps --json` until a step falls behind"
        )
    return [row for row in rows if row.get("offered_events_per_s")]


def agreement(fraction_row: dict[str, Any], pipeline_p99: float | None) -> dict[str, Any]:
    """The load test's step at this rate beside this run's pipeline p99, printed as a line."""
    loadtest_p99 = fraction_row.get("p99_ms")
    over = ratio(pipeline_p99, loadtest_p99)
    agree = over is not None and abs(over - 1) <= AGREEMENT
    print(f"{fraction_row['offered_events_per_s']:>7,.0f} ev/s  the load test's step at "
          f"{fraction_row['fraction']:.0%} of saturation: p99 {loadtest_p99} ms; this run / "
          f"load test {over} ({'agree' if agree else 'DISAGREE'} within {AGREEMENT:.0%})",
          flush=True)  # fmt: skip
    return {
        "fraction": fraction_row.get("fraction"),
        "loadtest_p99": loadtest_p99,
        "pipeline_p99_over_loadtest_p99": over,
        "agree_within_20pct": agree,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, validated (one-line errors, exit 2)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rates", type=number_list(number(float, above=0)), default=[2000.0, 4000.0],
                    help="offered events/s, comma-separated (default: 2000,4000)")  # fmt: skip
    ap.add_argument("--loadtest", type=Path, default=None,
                    help="a load test's loadtest.json: run at its fraction steps' rates and "
                    "compare p99 with them (instead of --rates)")  # fmt: skip
    ap.add_argument("--repeats", type=number(int, min=1), default=1,
                    help="pipeline runs per rate, each on fresh servers; rows give the median "
                    "p50 and p99 (default: 1)")  # fmt: skip
    ap.add_argument("--seconds", type=number(float, above=0), default=20.0,
                    help="seconds offered per rate and path (default: 20)")  # fmt: skip
    ap.add_argument("--target-ms", type=number(float, above=0), default=50.0,
                    help="p99 target to compare the Kafka path with (default: 50)")  # fmt: skip
    ap.add_argument("--model", type=Path, default=None,
                    help="checkpoint the pipeline serves (default: the load test's quick model, "
                    "trained first if missing)")  # fmt: skip
    ap.add_argument("--json", action="store_true", help="last stdout line: the runs as JSON")
    ap.add_argument("--out", type=Path, default=RESULTS / "latency-floor.json")
    return ap.parse_args(argv)


def main() -> None:
    """Each rate: the Kafka path, then the pipeline; one line each, JSON at the end."""
    args = parse_args()
    try:
        settings = settings_from_env()
        if args.model is not None:
            settings = settings.with_overrides({"model_path": args.model})
    except ConfigError as exc:
        sys.exit(f"latency_floor: {exc}")
    console = Console(stderr=True, soft_wrap=True)
    fractions = loadtest_rates(args.loadtest) if args.loadtest is not None else []
    rates = [row["offered_events_per_s"] for row in fractions] or args.rates
    rows = []
    for index, rate in enumerate(rates):
        kafka = kafka_path(settings, rate, args.seconds, index)["latency_ms"]
        print(f"{rate:>7,.0f} ev/s  kafka path alone  p50 {kafka['p50']} ms  p99 {kafka['p99']} ms",
              flush=True)  # fmt: skip
        runs = []
        for _ in range(args.repeats):
            runs.append(pipeline_path(settings, rate, args.seconds, console))
            print(f"{rate:>7,.0f} ev/s  whole pipeline    p50 {runs[-1]['p50']} ms  p99 "
                  f"{runs[-1]['p99']} ms  ({runs[-1]['batch_mean_events']} events, "
                  f"{runs[-1]['batch_ms']} ms a batch)", flush=True)  # fmt: skip
        pipeline = {**runs[0], "p50": median_of([r["p50"] for r in runs]),
                    "p99": median_of([r["p99"] for r in runs]),
                    "p99_runs": [r["p99"] for r in runs]}  # fmt: skip
        rows.append({
            "rate": rate,
            "kafka": kafka,
            "pipeline": pipeline,
            "kafka_p99_over_pipeline_p99": ratio(kafka["p99"], pipeline["p99"]),
            "kafka_p99_over_target": ratio(kafka["p99"], args.target_ms),
        })  # fmt: skip
        if fractions:
            rows[-1].update(agreement(fractions[index], pipeline["p99"]))
    out = {
        "rates": rows,
        "loadtest": str(args.loadtest) if args.loadtest is not None else None,
        "seconds": args.seconds,
        "target_ms": args.target_ms,
        "partitions": load_partitions(settings, 1),
        "fetch_wait_ms": settings.fetch_wait_ms,
        "click_linger_ms": CLICK_LINGER_MS,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    save_results(out, args.out, args.json)


if __name__ == "__main__":
    main()
