"""Generation at scale: time and peak RSS of `streamrec generate` by catalog size and users.

Each point runs `streamrec generate --items N --users U --generator KIND --out FILE` in its
own process and reads that process's peak resident set size from the kernel (``wait4``),
so points do not share a high-water mark. Two sweeps:

- catalog: ``--items`` at ``--catalog-users`` users, for every ``--kinds``;
- users: ``--users`` at ``--users-items`` items, for the first kind. Sizes above
  ``--max-measured-users`` are projected, not run: time linearly from the largest measured
  point's seconds per user, RSS as that point's (the generator holds the catalog and one
  session, so memory does not grow with users; the measured sweep shows whether it does).

``--parity`` also regenerates each kind at today's defaults (20,000 users, 5,000 items,
seed 42) and compares the sha256 of the file with the one pinned before the scale work
(``DEFAULT_HASHES``; tests/unit/model/data/test_generate_scale.py pins 2,000 users, which
is faster).

    python bench/generate_scale.py [--items 5000,50000,500000,1000000] \\
        [--users 10000,100000,1000000,10000000] [--max-measured-users 1000000] [--parity]

Writes bench/results/generate_scale.json; the last line printed is the same JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
KINDS = ("seed", "series", "anchor")
# sha256 of `streamrec generate --generator KIND` (defaults) at 142595a, before the change
DEFAULT_HASHES = {
    "seed": "dbcb1f4cd0c489b525e7d3619a29050a34c521ab77269d780f81ad627584bd09",
    "series": "9cf58c92c8a5b5b10c7fe7f3ef9b6ecd7ca065de1abc8be690921a98d9ff37a0",
    "anchor": "1aa7ceb61d65b3f08c5332852136504125a53627e85ccc7c729c756aacf81237",
}


def ints(text: str) -> list[int]:
    """Comma-separated integers."""
    return [int(x) for x in text.split(",") if x.strip()]


def run_generate(kind: str, items: int, users: int, out: Path) -> dict[str, Any]:
    """One `streamrec generate` run: wall seconds, peak RSS (MiB), sessions and file size."""
    cmd = [
        sys.executable, "-m", "streamrec", "generate", "--generator", kind,
        "--items", str(items), "--users", str(users), "--out", str(out), "--no-progress",
    ]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"generate failed ({' '.join(cmd)}): {stderr.strip()}")
    with open(out, "rb") as f:
        sessions = sum(1 for _ in f)
    point = {
        "kind": kind,
        "items": items,
        "users": users,
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        "sessions": sessions,
        "file_mib": round(out.stat().st_size / 2**20, 1),
        "us_per_user": round(seconds / users * 1e6, 1),
    }
    print(json.dumps(point), file=sys.stderr, flush=True)
    return point


def digest(path: Path) -> str:
    """sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def main() -> None:
    """Run the sweeps."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", type=ints, default=[5000, 50000, 500000, 1000000])
    ap.add_argument("--catalog-users", type=int, default=10_000)
    ap.add_argument("--users", type=ints, default=[10_000, 100_000, 1_000_000, 10_000_000])
    ap.add_argument("--users-items", type=int, default=1_000_000)
    ap.add_argument("--max-measured-users", type=int, default=1_000_000)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--parity", action="store_true", help="check the default-size hashes")
    ap.add_argument("--out", type=Path, default=RESULTS / "generate_scale.json")
    args = ap.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    if any(k not in KINDS for k in kinds):
        ap.error(f"--kinds must name some of {', '.join(KINDS)}")

    work = Path(tempfile.mkdtemp(prefix="streamrec-genscale-"))
    out = work / "sessions.jsonl"
    load = os.getloadavg()[0]
    catalog = [run_generate(k, n, args.catalog_users, out) for k in kinds for n in args.items]
    measured = [
        run_generate(kinds[0], args.users_items, u, out)
        for u in args.users
        if u <= args.max_measured_users
    ]
    projected = []
    if measured:
        base = max(measured, key=lambda p: p["users"])
        for u in (u for u in args.users if u > args.max_measured_users):
            projected.append({
                "kind": kinds[0], "items": args.users_items, "users": u, "projected": True,
                "seconds": round(base["seconds"] * u / base["users"], 0),
                "peak_rss_mib": base["peak_rss_mib"],
                "file_mib": round(base["file_mib"] * u / base["users"], 0),
            })  # fmt: skip
    parity: dict[str, bool] = {}
    if args.parity:
        for kind in kinds:
            subprocess.run(
                [sys.executable, "-m", "streamrec", "generate", "--generator", kind,
                 "--out", str(out), "--no-progress"],
                check=True, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            parity[kind] = digest(out) == DEFAULT_HASHES[kind]
    out.unlink(missing_ok=True)
    work.rmdir()
    rss = [p["peak_rss_mib"] for p in measured]
    result = {
        "load_average_1m_at_start": round(load, 2),
        "catalog_sweep": catalog,
        "users_sweep": measured + projected,
        "rss_growth_over_users_sweep": round(max(rss) / min(rss), 3) if rss else None,
        "default_parity": parity or None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
