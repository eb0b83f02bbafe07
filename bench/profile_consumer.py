"""Where a consumer's time goes: py-spy samples one consumer draining a backlog.

Starts the embedded servers, pre-fills the clicks topic with ``--events`` held-out events,
starts one consumer, attaches ``py-spy record`` to it once it owns the partitions, and stops
both when every event is accounted for. Writes the collapsed stacks (``.folded``, loadable in
speedscope or flamegraph.pl) and a summary of inclusive and self time per function (``.txt``,
also printed), which starts with the share of samples inside the model's scoring
(``ServedModel.top_k``, what ``bench/scorer.py`` and ``bench/pipeline.py`` time alone) and
outside it.

    python bench/profile_consumer.py [--model artifacts/model.pt] [--events 30000]
        [--scoring incremental|full] [--out bench/results/profile-consumer]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

from streamrec.clients import redis_client
from streamrec.config import SCORING_MODES
from streamrec.consumer.totals import read_totals
from streamrec.contract.names import Names
from streamrec.pipeline.bench import embedded_pipeline
from streamrec.pipeline.processes import start_consumers, stop_consumers, wait_for_assignment

RESULTS = Path(__file__).parent / "results"
LINE_NUMBER = re.compile(r":\d+\)$")


SCORING_FRAME = "ServedModel.top_k ("


def summarise(folded: str, top: int = 25) -> str:
    """Inclusive and self share of samples per function, from py-spy's collapsed stacks, after
    the share inside the model's scoring (any stack through ``ServedModel.top_k``)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [LINE_NUMBER.sub(")", f) for f in stack.split(";")]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    if total == 0:
        return "no samples"
    scoring = sum(c for f, c in inclusive.items() if f.startswith(SCORING_FRAME))
    rows = [
        f"{total} samples (busy time only)",
        f"inside the model's scoring (ServedModel.top_k): {100 * scoring / total:.1f}%, "
        f"outside: {100 * (total - scoring) / total:.1f}%",
        "",
        "inclusive  function",
    ]
    rows += [f"{100 * c / total:8.1f}%  {f}" for f, c in inclusive.most_common(top)]
    rows += ["", "self       function"]
    rows += [f"{100 * c / total:8.1f}%  {f}" for f, c in own.most_common(top)]
    return "\n".join(rows)


def main() -> None:
    """Profile one consumer and write the results."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=30_000)
    ap.add_argument("--model", type=Path, default=Path("artifacts/model.pt"))
    ap.add_argument("--scoring", choices=SCORING_MODES, default="incremental")
    ap.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    ap.add_argument("--out", type=Path, default=RESULTS / "profile-consumer")
    args = ap.parse_args()
    if shutil.which("py-spy") is None:
        ap.error("py-spy is not installed (pip install py-spy, or ./dev shell)")
    if args.events < 1000 or not args.model.is_file():
        ap.error("need --events >= 1000 and an existing --model checkpoint")
    with embedded_pipeline("profile", scoring=args.scoring) as bench:
        settings = bench.settings
        n = bench.prefill(args.events)
        consumers = start_consumers(settings, args.model, 1, bench.work)
        wait_for_assignment(consumers, settings.partitions)
        folded = args.out.with_suffix(".folded")
        folded.parent.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen(
            ["py-spy", "record", "--pid", str(consumers[0].proc.pid), "--format", "raw",
             "--rate", str(args.rate), "--output", str(folded)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis_client(settings)
        names = Names(settings.namespace)
        started = time.monotonic()
        deadline = started + 600
        while read_totals(client, names).accounted < n and time.monotonic() < deadline:
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        stop_consumers(consumers)
        spy.wait(timeout=60)
    summary = f"{n} events, {args.scoring} scoring, drained in {elapsed:.1f}s\n"
    summary += summarise(folded.read_text())
    args.out.with_suffix(".txt").write_text(summary + "\n")
    print(summary)
    print(f"-> {folded}, {args.out.with_suffix('.txt')}")


if __name__ == "__main__":
    main()
