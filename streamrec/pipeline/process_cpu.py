"""CPU a process has used, from /proc: what the load tests and benchmarks report per process."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (None if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


CpuReading = dict[str, float | None]


def cpu_reading(pids: dict[str, int]) -> CpuReading:
    """``cpu_seconds`` of each named process."""
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def cpu_cores(pids: dict[str, int], before: CpuReading, elapsed: float) -> dict[str, float]:
    """Cores each process used since the ``before`` reading, ``elapsed`` seconds ago."""
    cores = {}
    for name, after in cpu_reading(pids).items():
        start = before.get(name)
        if after is not None and start is not None:
            cores[name] = round((after - start) / elapsed, 3)
    return cores
