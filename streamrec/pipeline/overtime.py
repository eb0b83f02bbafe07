"""Online metrics over time: the consumers' cumulative counters sampled during a run, cut
into windows, each window's online Hit@10 and MRR@20, and a PNG of them.

Samples come from Prometheus range queries when an embedded Prometheus runs, else from
periodic scrapes of the consumers' /metrics (``ScrapeSampler``). A window's figures are the
differences of the cumulative counters at its two ends, so the windows add up to the run's
totals exactly (as long as no consumer restarted and reset its counters).
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from streamrec.contract.names import PRIMARY
from streamrec.pipeline.promql import EVALUATIONS, HITS_10, RR_20, PromClient
from streamrec.pipeline.scrape import metric_sum

# the most points one Prometheus range query returns per series is 11,000
MAX_RANGE_POINTS = 10_000
# an oracle's line for the plot: (seconds since the start, Hit@10); drift scenarios supply it
OracleLine = Sequence[tuple[float, float]]
S = TypeVar("S")  # what a ScrapeSampler's samples are
OVER_TIME_PNG = "online-over-time.png"


@dataclass(frozen=True)
class CounterSample:
    """The consumers' cumulative online counters, summed, at wall-clock time ``t``."""

    t: float
    evaluations: float
    hits_10: float
    rr_20: float


@dataclass(frozen=True)
class Window:
    """What the consumers evaluated between ``start_s`` and ``end_s`` (seconds since the
    first sample)."""

    start_s: float
    end_s: float
    evaluations: int
    hits_10: int
    rr_20: float

    @property
    def hit_at_10(self) -> float | None:
        """Online Hit@10 of this window (None when nothing was evaluated)."""
        return self.hits_10 / self.evaluations if self.evaluations else None

    @property
    def mrr_at_20(self) -> float | None:
        """Online MRR@20 of this window (None when nothing was evaluated)."""
        return self.rr_20 / self.evaluations if self.evaluations else None

    def to_json(self) -> dict[str, Any]:
        """One entry of the ``windows`` list."""
        hit, mrr = self.hit_at_10, self.mrr_at_20
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "evaluations": self.evaluations,
            "hits_at_10": self.hits_10,
            "rr_sum_at_20": round(self.rr_20, 6),
            "hit_at_10": None if hit is None else round(hit, 6),
            "mrr_at_20": None if mrr is None else round(mrr, 6),
        }


def auto_window(duration_s: float, step_s: float, target: int = 30) -> float:
    """A window of whole sampling steps giving about ``target`` windows over ``duration_s``."""
    return step_s * max(1, math.ceil(duration_s / (target * step_s)))


def window_cuts(times: Sequence[float], window_s: float) -> list[tuple[float, float, int, int]]:
    """Cut sorted sample ``times`` into windows of ``window_s`` from the first; per window
    (start_s, end_s, i, j): seconds since the first sample, and the samples at its two ends:
    ``i`` the last one inside the window before (the first sample for the first window),
    ``j`` the last one inside this window (the last sample for the last window)."""
    if window_s <= 0:
        raise ValueError(f"window_s must be > 0, got {window_s}")
    if len(times) < 2:
        return []
    since = [t - times[0] for t in times]
    count = math.ceil(since[-1] / window_s - 1e-9)
    out = []
    previous = 0
    for k in range(count):
        end = min((k + 1) * window_s, since[-1])
        last = bisect.bisect_right(since, end + 1e-9) - 1
        out.append((k * window_s, end, previous, last))
        previous = last
    return out


def windows(samples: Sequence[CounterSample], window_s: float) -> list[Window]:
    """Cut the run into windows of ``window_s`` from the first sample; each window ends at the
    last sample inside it, the last window at the last sample."""
    ordered = sorted(samples, key=lambda s: s.t)
    return [
        window_between(ordered[i], ordered[j], start, end)
        for start, end, i, j in window_cuts([s.t for s in ordered], window_s)
    ]


def window_between(
    first: CounterSample, last: CounterSample, start_s: float, end_s: float
) -> Window:
    """The window from ``start_s`` to ``end_s``: the counters' differences from ``first`` to
    ``last``."""
    return Window(
        start_s=start_s,
        end_s=end_s,
        evaluations=round(last.evaluations - first.evaluations),
        hits_10=round(last.hits_10 - first.hits_10),
        rr_20=last.rr_20 - first.rr_20,
    )


def sample_texts(t: float, texts: Sequence[str]) -> CounterSample:
    """The sample that the /metrics expositions ``texts`` (one per consumer) make together:
    the primary model's counters (a shadow's are labelled ``model="shadow"``)."""
    return CounterSample(
        t=t,
        evaluations=metric_sum(texts, "streamrec_online_evaluations_total", model=PRIMARY),
        hits_10=metric_sum(texts, "streamrec_online_hits_total", k="10", model=PRIMARY),
        rr_20=metric_sum(texts, "streamrec_online_reciprocal_rank_sum", k="20", model=PRIMARY),
    )


def samples_from_prometheus(
    client: PromClient, start: float, end: float, step_s: float
) -> list[CounterSample]:
    """The summed counters at every ``step_s`` from ``start`` to ``end`` (wall-clock seconds).

    The points are laid out back from ``end`` (Prometheus evaluates a range query at
    ``start + k * step`` only), so the last one is at ``end`` and holds the final counters.
    A series with no point yet at a time is 0 there: a consumer exports a labelled counter
    only from its first evaluation on."""
    step_ms = max(round(step_s * 1000), math.ceil((end - start) * 1000 / MAX_RANGE_POINTS), 1)
    end_ms = math.ceil(end * 1000)
    start_ms = end_ms - step_ms * math.ceil((end_ms - start * 1000) / step_ms)
    start, end, step = start_ms / 1000, end_ms / 1000, step_ms / 1000
    exprs = (EVALUATIONS, HITS_10, RR_20)
    series = [dict(client.query_range(expr, start, end, step)) for expr in exprs]
    times = sorted({t for points in series for t in points})
    out, last = [], [0.0, 0.0, 0.0]
    for t in times:
        last = [points.get(t, previous) for points, previous in zip(series, last)]
        out.append(CounterSample(t, *last))
    if not out or out[0].t > start:
        out.insert(0, CounterSample(start, 0.0, 0.0, 0.0))
    return out


class ScrapeSampler(Generic[S]):
    """Samples the consumers' /metrics every ``interval_s`` on a thread (the fallback when no
    Prometheus runs). ``fetch`` returns every consumer's exposition, or None while one does
    not answer (that moment is then not sampled); ``read`` makes a sample of the time and the
    expositions (``sample_texts``; the load test reads more into its samples)."""

    def __init__(
        self,
        fetch: Callable[[], list[str] | None],
        interval_s: float,
        read: Callable[[float, list[str]], S],
    ) -> None:
        self.fetch = fetch
        self.interval_s = interval_s
        self.read = read
        self.samples: list[S] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-sampler", daemon=True)

    def start(self) -> None:
        """Take the first sample now, then sample in the background."""
        self.sample()
        self._thread.start()

    def sample(self) -> bool:
        """Take one sample now; whether every consumer answered."""
        t = time.time()
        texts = self.fetch()
        if texts is None:
            return False
        self.samples.append(self.read(t, texts))
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def stop(self, timeout: float = 10.0) -> list[S]:
        """Stop sampling, take a final sample (retried until ``timeout``), return them all."""
        self._stop.set()
        self._thread.join()
        deadline = time.monotonic() + timeout
        while not self.sample():
            if time.monotonic() > deadline:
                raise TimeoutError(f"a consumer's /metrics did not answer within {timeout:.0f}s")
            time.sleep(0.1)
        return self.samples


def wait_for_evaluations(
    fetch: Callable[[], list[str] | None], expected: int, timeout: float
) -> int:
    """Poll the consumers' /metrics (``fetch``, as ``ScrapeSampler`` takes it) until their
    primary online evaluations add up to ``expected`` (Redis's exact count); returns it.

    A consumer counts a batch in its metrics just after the batch's Redis write, so right
    after a drain its counter can still be one batch short."""
    deadline = time.monotonic() + timeout
    while True:
        texts = fetch()
        if texts is not None:
            evaluations = round(
                metric_sum(texts, "streamrec_online_evaluations_total", model=PRIMARY)
            )
            if evaluations == expected:
                return evaluations
        if time.monotonic() > deadline:
            if texts is None:
                raise TimeoutError("a consumer's /metrics did not answer after the drain")
            raise TimeoutError(
                f"the consumers' /metrics count {evaluations} online evaluations after "
                f"the drain, Redis {expected}"
            )
        time.sleep(0.1)


def plot_over_time(
    series: Sequence[Window],
    path: Path,
    title: str,
    oracle: OracleLine | None = None,
    marker_s: float | None = None,
) -> None:
    """Per-window online Hit@10 and MRR@20 (top; the oracle's Hit@10 dashed when given) and
    evaluations per second (bottom) against time; ``marker_s``: a vertical line at that
    moment on both (a drift's)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    mids = [(w.start_s + w.end_s) / 2 for w in series]
    for name, values in (
        ("online Hit@10", [w.hit_at_10 for w in series]),
        ("online MRR@20", [w.mrr_at_20 for w in series]),
    ):
        top.plot(mids, [math.nan if v is None else v for v in values], marker="o", label=name)
    if oracle:
        top.plot([t for t, _ in oracle], [v for _, v in oracle], linestyle="--",
                 color="black", label="oracle Hit@10")  # fmt: skip
    if marker_s is not None:
        top.axvline(marker_s, color="tab:red", linestyle=":", label="drift")
        bottom.axvline(marker_s, color="tab:red", linestyle=":")
    top.set_ylabel("per window")
    top.set_ylim(bottom=0)
    top.grid(alpha=0.3)
    top.legend(loc="best")
    rates = [w.evaluations / max(w.end_s - w.start_s, 1e-9) for w in series]
    bottom.bar(mids, rates, width=[0.9 * (w.end_s - w.start_s) for w in series], color="tab:grey")
    bottom.set_ylabel("evaluations/s")
    bottom.set_xlabel("seconds since the replay started")
    bottom.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
