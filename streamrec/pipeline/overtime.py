"""Online metrics over time: the consumers' cumulative counters sampled during a run, cut
into windows, and each window's online Hit@10 and MRR@20, per model (the primary, and a
shadow or A/B arm beside it when one runs).

Samples come from Prometheus range queries when an embedded Prometheus runs, else from
periodic scrapes of the consumers' /metrics (``ScrapeSampler``). A window's figures are the
differences of the cumulative counters at its two ends, so the windows add up to the run's
totals exactly (as long as no consumer restarted and reset its counters). Its rate is over
the seconds between those two samples (``Window.seconds``), which for the last window, cut
short by the end of the run (``partial``), can be more than its nominal span. The figure is
``overtime_plot``'s.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from prometheus_client.parser import text_string_to_metric_families

from streamrec.contract.names import MODEL_LABELS, PRIMARY
from streamrec.pipeline.promql import BY_MODEL, SCRAPED_AT, PromClient
from streamrec.pipeline.scrape import metric_sum

# the most points one Prometheus range query returns per series is 11,000
MAX_RANGE_POINTS = 10_000
# an oracle's line for the plot: (seconds since the start, Hit@10); drift scenarios supply it
OracleLine = Sequence[tuple[float, float]]
S = TypeVar("S")  # what a ScrapeSampler's samples are
OVER_TIME_PNG = "online-over-time.png"
# /metrics sample name -> (ModelCounts field, the ``k`` label it must have, or None)
_COUNTERS = {
    "streamrec_online_evaluations_total": ("evaluations", None),
    "streamrec_online_hits_total": ("hits_10", "10"),
    "streamrec_online_reciprocal_rank_sum": ("rr_20", "20"),
}


@dataclass(frozen=True)
class ModelCounts:
    """One model's cumulative online counters, all consumers together."""

    evaluations: float = 0.0
    hits_10: float = 0.0
    rr_20: float = 0.0


@dataclass(frozen=True)
class CounterSample:
    """The consumers' cumulative online counters, summed, at wall-clock time ``t``: the
    primary model's, and in ``others`` a second model's (``shadow`` or ``secondary``) once it
    has evaluated something."""

    t: float
    evaluations: float
    hits_10: float
    rr_20: float
    others: Mapping[str, ModelCounts] = field(default_factory=dict)

    def counts(self, model: str = PRIMARY) -> ModelCounts:
        """``model``'s counters (zeros for a model that has evaluated nothing yet)."""
        if model == PRIMARY:
            return ModelCounts(self.evaluations, self.hits_10, self.rr_20)
        return self.others.get(model, ModelCounts())


def models_in(samples: Sequence[CounterSample]) -> list[str]:
    """The models the samples have counters of: the primary first, then the others in
    ``MODEL_LABELS`` order."""
    seen = {model for s in samples for model in s.others}
    return [m for m in MODEL_LABELS if m == PRIMARY or m in seen]


@dataclass(frozen=True)
class Window:
    """What one model's evaluations were between ``start_s`` and ``end_s`` (seconds since
    the first sample): counted between the samples that bound the window, ``seconds`` apart
    (0 when no sample fell inside it: its evaluations count in the next window). ``partial``:
    the last window, cut short by the end of the run."""

    start_s: float
    end_s: float
    evaluations: int
    hits_10: int
    rr_20: float
    seconds: float = 0.0
    partial: bool = False

    @property
    def hit_at_10(self) -> float | None:
        """Online Hit@10 of this window (None when nothing was evaluated)."""
        return self.hits_10 / self.evaluations if self.evaluations else None

    @property
    def mrr_at_20(self) -> float | None:
        """Online MRR@20 of this window (None when nothing was evaluated)."""
        return self.rr_20 / self.evaluations if self.evaluations else None

    @property
    def evaluations_per_s(self) -> float | None:
        """Evaluations per second over the seconds the window's counts cover (None when
        they cover none)."""
        return self.evaluations / self.seconds if self.seconds > 0 else None

    def to_json(self) -> dict[str, Any]:
        """One entry of the ``windows`` list."""
        hit, mrr = self.hit_at_10, self.mrr_at_20
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "seconds": round(self.seconds, 3),
            "partial": self.partial,
            "evaluations": self.evaluations,
            "hits_at_10": self.hits_10,
            "rr_sum_at_20": round(self.rr_20, 6),
            "hit_at_10": None if hit is None else round(hit, 6),
            "mrr_at_20": None if mrr is None else round(mrr, 6),
        }

    @classmethod
    def from_json(cls, row: Mapping[str, Any], window_s: float | None = None) -> Window:
        """The window of one ``windows`` entry (``to_json``'s). A report written before
        ``seconds`` and ``partial`` were stored: its span, and partial when shorter than
        ``window_s``."""
        start, end = float(row["start_s"]), float(row["end_s"])
        short = window_s is not None and end - start < window_s - 1e-6
        return cls(
            start_s=start,
            end_s=end,
            evaluations=int(row["evaluations"]),
            hits_10=int(row["hits_at_10"]),
            rr_20=float(row["rr_sum_at_20"]),
            seconds=float(row.get("seconds", end - start)),
            partial=bool(row.get("partial", short)),
        )


def auto_window(duration_s: float, step_s: float, target: int = 30, floor_steps: int = 2) -> float:
    """A window of whole sampling steps giving about ``target`` windows over ``duration_s``,
    and at least ``floor_steps`` steps: a window of one step holds one scrape or none, and a
    consumer counts a batch's evaluations only when the batch is done, so windows that short
    alternate between nothing and twice the rate."""
    return step_s * max(floor_steps, math.ceil(duration_s / (target * step_s)))


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


def windows(
    samples: Sequence[CounterSample], window_s: float, model: str = PRIMARY
) -> list[Window]:
    """Cut the run into windows of ``window_s`` from the first sample, ``model``'s counters;
    each window ends at the last sample inside it, the last window at the last sample."""
    ordered = sorted(samples, key=lambda s: s.t)
    return [
        window_between(ordered[i], ordered[j], start, end, end - start < window_s - 1e-9, model)
        for start, end, i, j in window_cuts([s.t for s in ordered], window_s)
    ]


def windows_by_model(samples: Sequence[CounterSample], window_s: float) -> dict[str, list[Window]]:
    """``windows`` of every model the samples count (``models_in``), primary first."""
    return {model: windows(samples, window_s, model) for model in models_in(samples)}


def window_between(
    first: CounterSample,
    last: CounterSample,
    start_s: float,
    end_s: float,
    partial: bool = False,
    model: str = PRIMARY,
) -> Window:
    """The window from ``start_s`` to ``end_s``: ``model``'s counters' differences from
    ``first`` to ``last``."""
    a, b = first.counts(model), last.counts(model)
    return Window(
        start_s=start_s,
        end_s=end_s,
        evaluations=round(b.evaluations - a.evaluations),
        hits_10=round(b.hits_10 - a.hits_10),
        rr_20=b.rr_20 - a.rr_20,
        seconds=last.t - first.t,
        partial=partial,
    )


def sample_texts(t: float, texts: Sequence[str]) -> CounterSample:
    """The sample that the /metrics expositions ``texts`` (one per consumer) make together:
    each model's counters by its ``model`` label (a second model's once it has evaluated)."""
    sums: dict[str, dict[str, float]] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                wanted = _COUNTERS.get(sample.name)
                if wanted is None or (
                    wanted[1] is not None and sample.labels.get("k") != wanted[1]
                ):
                    continue
                per_model = sums.setdefault(sample.labels.get("model", PRIMARY), {})
                per_model[wanted[0]] = per_model.get(wanted[0], 0.0) + sample.value
    primary = ModelCounts(**sums.pop(PRIMARY, {}))
    others = {m: ModelCounts(**c) for m, c in sums.items() if c.get("evaluations", 0.0) > 0}
    return CounterSample(t, primary.evaluations, primary.hits_10, primary.rr_20, others)


def samples_from_prometheus(
    client: PromClient, start: float, end: float, step_s: float
) -> list[CounterSample]:
    """The summed counters from ``start`` to ``end`` (wall-clock seconds), one sample per
    scrape that brought something new, at the time of that scrape.

    A range query evaluates every ``step_s``; each evaluation sees the last scrape before it.
    Its points are laid out back from ``end`` (Prometheus evaluates at ``start + k * step``
    only), so the last one holds the final counters. Each point is dated by the newest scrape
    it holds (``SCRAPED_AT``), and a point with no newer scrape than the one before is the
    same sample again, left out: a window's rate is then over the seconds between scrapes,
    not between evaluations that saw the same scrape. A series with no point yet at a time
    is 0 there: a consumer exports a labelled counter only from its first evaluation on."""
    step_ms = max(round(step_s * 1000), math.ceil((end - start) * 1000 / MAX_RANGE_POINTS), 1)
    end_ms = math.ceil(end * 1000)
    start_ms = end_ms - step_ms * math.ceil((end_ms - start * 1000) / step_ms)
    start, end, step = start_ms / 1000, end_ms / 1000, step_ms / 1000
    # field -> model -> {time: value}
    series = {
        name: {m: dict(points) for m, points in client.query_range_by(expr, "model", start, end,
                                                                       step).items()}
        for name, expr in BY_MODEL.items()
    }  # fmt: skip
    scraped = dict(client.query_range(SCRAPED_AT, start, end, step))
    times = sorted({t for by_model in series.values() for p in by_model.values() for t in p})
    models = sorted({m for by_model in series.values() for m in by_model})
    last = {(name, m): 0.0 for name in series for m in models}
    out: list[CounterSample] = []
    for t in times:
        for name, by_model in series.items():
            for m, points in by_model.items():
                last[name, m] = points.get(t, last[name, m])
        at = scraped.get(t, t)
        if out and at <= out[-1].t:
            continue  # no scrape since the previous point: nothing new
        counts = {m: ModelCounts(*(last[name, m] for name in BY_MODEL)) for m in models}
        primary = counts.pop(PRIMARY, ModelCounts())
        others = {m: c for m, c in counts.items() if c.evaluations > 0}
        out.append(CounterSample(at, primary.evaluations, primary.hits_10, primary.rr_20, others))
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
