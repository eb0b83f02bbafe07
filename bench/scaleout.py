"""Scale-out of the embedded pipeline: saturation, p99 and CPU for each number of consumers.

For each consumer count, a load test of its own (fresh embedded broker and Valkey, the
`streamrec loadtest` machinery) offers the rates in turn until the consumers fall behind.
Prints one line per count while it runs and, as its last line, the result as JSON:
{"rows": [{"consumers", "saturation_events_per_s", "p99_ms_at_saturation", "broker_cores",
"consumer_cores", ...}], "efficiency": ...}; efficiency = saturation with the most consumers /
(consumers x saturation with one). Writes scaleout.json and scaleout.png under --out-dir.

    python bench/scaleout.py --consumers 1,2,4[,8] --partitions 8 [--rates R1,R2,...]
        [--step-seconds 6] [--fetch-wait-ms MS] [--model PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from streamrec.cli.validators import number, number_list
from streamrec.config import MAX_FETCH_WAIT_MS, ConfigError, settings_from_env

RESULTS = Path(__file__).parent / "results" / "scaleout"
DEFAULT_RATES = "500,1000,2000,3000,4000,5000,6000,8000,10000,12000,16000,20000,24000,32000,40000"
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, validated: a bad value ends in one ``scaleout: error:`` line."""
    ap = _Parser(
        prog="scaleout", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--consumers",
        type=number_list(number(int, min=1)),
        default=[1, 2, 4],
        metavar="N,N,...",
        help="consumer counts, rising, with 1 (default: 1,2,4)",
    )
    ap.add_argument(
        "--partitions",
        type=number(int, min=1),
        default=8,
        help="partitions of the clicks topic (default: %(default)s)",
    )
    ap.add_argument(
        "--rates",
        type=number_list(number(float, above=0)),
        default=DEFAULT_RATES,
        metavar="R,R,...",
        help=f"offered events/s, rising (default: {DEFAULT_RATES})",
    )
    ap.add_argument(
        "--step-seconds",
        type=number(float, above=0),
        default=6.0,
        help="seconds per rate (default: %(default)s)",
    )
    ap.add_argument(
        "--fetch-wait-ms",
        type=number(int, min=1, max=MAX_FETCH_WAIT_MS),
        help="the consumers' fetch wait (default: the setting's)",
    )
    ap.add_argument("--model", type=Path, help="checkpoint to serve (default: as the load test)")
    ap.add_argument(
        "--out-dir",
        type=Path,
        default=RESULTS,
        help="where scaleout.json and scaleout.png go (default: %(default)s)",
    )
    ap.add_argument("--json", action="store_true", help="print the result as JSON last")
    args = ap.parse_args(argv)
    if isinstance(args.rates, str):
        args.rates = [float(r) for r in args.rates.split(",")]
    counts, rates = args.consumers, args.rates
    if counts != sorted(set(counts)):
        ap.error(f"--consumers must rise without repeats, got {','.join(map(str, counts))}")
    if counts[0] != 1:
        ap.error("--consumers must include 1: efficiency is relative to one consumer")
    if counts[-1] > args.partitions:
        ap.error(f"--consumers {counts[-1]} is more than --partitions {args.partitions}: "
                 "some consumers would get no partition")  # fmt: skip
    if rates != sorted(set(rates)):
        ap.error("--rates must rise without repeats")
    if args.model is not None and not args.model.is_file():
        ap.error(f"no checkpoint at {args.model}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the scale-out benchmark; 0 when done, 2 on a usage or configuration error."""
    args = parse_args(argv)
    from streamrec.pipeline.scaleout import run_scaleout

    console = Console(stderr=True, soft_wrap=True, highlight=False)
    overrides = {"partitions": args.partitions, "fetch_wait_ms": args.fetch_wait_ms,
                 "model_path": args.model}  # fmt: skip
    try:
        settings = settings_from_env().with_overrides(overrides)
    except ConfigError as exc:
        print(f"scaleout: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result, json_path, png_path = run_scaleout(
        settings, args.consumers, args.rates, args.step_seconds, args.out_dir, console
    )
    console.print(f"efficiency {result['efficiency']} (report {json_path}, plot {png_path})")
    if result["efficiency_caveat"]:
        console.print(f"note: {result['efficiency_caveat']}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
