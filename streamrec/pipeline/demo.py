"""``streamrec demo``: the whole pipeline on one machine, start to summary.

Starts embedded servers (unless external ones are configured), makes sure a model exists,
starts consumer processes, replays held-out sessions, waits until every event is accounted
for, then compares the online metrics (exact totals from Redis) with offline evaluation of the
same model on the same sessions, and stops everything it started. With a shadow model
(``--shadow-model``) the consumers score every event with it too, and the summary has each
model's online and offline figures (``models``).

When a Prometheus binary is installed, a Prometheus server with the repository's recording
rules scrapes the consumers too; the summary then has the online Hit@10 its rule computed
beside the exact Redis one (the primary model's, ``model="primary"``). Either way the demo
writes a PNG of online Hit@10, MRR@20 and evaluations/s per time window (``online_watch``),
one series per model: the primary's, and the shadow's beside it.

Under a drift scenario (``--scenario``) the replay crosses the moment in stream order, the
PNG shows the oracle's Hit@10 on each side of it and a marker where the drift reached the
stream, and the summary's ``drift`` object has each phase's figures (``drift.py``).

With ``--learn`` a learner process publishes versions that the consumers follow (the learning
arm), the frozen model scores beside them as a shadow, and the summary's ``learn`` object has
both arms' online and offline figures (``demo_learn.py``).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from streamrec.clients import RedisClient, ensure_topics, wait_for_redis
from streamrec.config import Settings
from streamrec.consumer.telemetry import LATENCY_HISTOGRAM
from streamrec.consumer.totals import OnlineTotals, read_totals, wait_until_accounted
from streamrec.contract.names import PRIMARY, SHADOW, Names
from streamrec.pipeline.demo_learn import (
    IDLE_TIMEOUT_S,
    LEARN_MD,
    VERSION_WAIT_MS,
    LearnPlan,
    SentLog,
    arm_names,
    learn_markdown,
    learn_report,
    learning_model,
)
from streamrec.pipeline.drift import DriftMark, DriftReport, drift_report, online_phases
from streamrec.pipeline.latency import percentiles, percentiles_json
from streamrec.pipeline.models import ensure_model
from streamrec.pipeline.offline import offline_report
from streamrec.pipeline.online_watch import OnlineWatch, WatchResult
from streamrec.pipeline.oracle_line import flat_line, oracle_hit_at_10
from streamrec.pipeline.overtime import OVER_TIME_PNG
from streamrec.pipeline.phases import PhaseClock, rounded
from streamrec.pipeline.processes import (
    ConsumerProcess,
    learner_command,
    start_consumers,
    start_learner,
    stop_consumers,
    wait_for_assignment,
)
from streamrec.pipeline.prometheus import run_prometheus
from streamrec.pipeline.scrape import histogram_buckets
from streamrec.pipeline.servers import free_port, pipeline_servers
from streamrec.producer.replay import ClickProducer, ReplayResult
from streamrec.producer.sources import ReplaySessions, replay_sessions
from streamrec.progress import ProgressBoard
from streamrec.traffic.clock import ClockSpec

DRAIN_TIMEOUT_S = 300.0
PROMETHEUS_TIMEOUT_S = 60.0  # for the final scrape and rule evaluation after the drain


class DemoError(RuntimeError):
    """The demo could not complete; one readable line."""


@dataclass
class DemoResult:
    """Everything the summary shows."""

    produced: int
    totals: OnlineTotals
    offline: dict[str, Any]
    latency_ms: dict[str, object]  # p50, p99 and which are bounds only (latency.py)
    consumers: int
    consumer_exit_codes: list[int]
    timings_s: dict[str, float]  # every phase (PhaseClock), back to back, and their total
    backend: str
    watch: WatchResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    shadow_offline: dict[str, Any] | None = None  # the shadow model's offline report
    drift: DriftReport | None = None  # under a drift scenario

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object."""
        online = self.totals.report()
        pick = ("hit_at_10", "hit_at_20", "mrr_at_20", "n_examples", "per_behavior")
        models = {}
        if self.shadow_offline is not None:
            offline_by_model = {PRIMARY: self.offline, SHADOW: self.shadow_offline}
            models = {
                label: {
                    "online": {k: online["models"][label][k] for k in pick},
                    "offline": {k: report[k] for k in pick},
                }
                for label, report in offline_by_model.items()
                if label in online["models"]
            }
        return {
            "events_produced": self.produced,
            "events_scored": self.totals.applied,
            "events_duplicate": self.totals.duplicate,
            "events_invalid": self.totals.invalid,
            "events_unknown_item": self.totals.unknown_item,
            "events_gap": self.totals.gap,
            "online": {k: online[k] for k in pick},
            "offline": {k: self.offline[k] for k in pick},
            "latency_ms": self.latency_ms,
            "consumers": self.consumers,
            "consumer_exit_codes": self.consumer_exit_codes,
            "seconds": round(self.timings_s["total"], 1),
            "timings_s": rounded(self.timings_s),
            "backend": self.backend,
            **({"models": models} if models else {}),
            "prometheus": None if self.watch is None else self.watch.prometheus_json(),
            "over_time": None if self.watch is None else self.watch.over_time_json(),
            **({"drift": self.drift.to_json()} if self.drift is not None else {}),
            **self.extra,
        }


def run_demo(
    settings: Settings,
    sessions: int,
    consumers: int,
    console: Console,
    rate: float = 0.0,
    concurrency: int = 200,
    out_dir: Path | None = None,
    window_s: float = 0.0,
    learn: LearnPlan | None = None,
    clock: ClockSpec | None = None,
) -> DemoResult:
    """Run the whole pipeline once; see the module docstring. The over-time PNG goes to
    ``out_dir`` (default ``<artifacts>/demo``), cut into ``window_s`` windows (0: about 30).
    ``learn``: the learning arm beside the frozen one; ``clock``: the producer's (default:
    the flat clock at ``rate``)."""
    out_dir = out_dir or settings.artifacts / "demo"
    phases = PhaseClock(console)
    work = Path(tempfile.mkdtemp(prefix="streamrec-demo-"))
    procs: list[ConsumerProcess] = []
    learner: list[ConsumerProcess] = []
    sent = SentLog() if learn is not None else None
    if settings.external_servers:  # shared servers: keep this run's topics and keys apart
        run_id = uuid.uuid4().hex[:8]
        settings = settings.with_overrides(
            {"namespace": f"demo-{run_id}", "group": f"demo-{run_id}"}
        )
    try:
        if settings.split_traffic:
            raise DemoError("the demo scores a shadow model; run an A/B split with `consume`")
        if settings.shadow_model and not Path(settings.shadow_model).is_file():
            raise DemoError(f"no checkpoint at {settings.shadow_model} (--shadow-model)")
        phases.begin("training")  # ensure_model says so when it trains
        if learn is not None:
            model_path, learn_settings = learning_model(settings, work, console)
            trained = model_path.parent == work
            settings = settings.with_overrides(
                {"shadow_model": settings.shadow_model or str(model_path)}
            )
        else:
            model_path, trained = ensure_model(settings, console)
        phases.begin("setup")
        console.print(f"serving {model_path}{' (trained now)' if trained else ''}")
        with (
            pipeline_servers(settings, work, console) as servers,
            run_prometheus(settings, work / "prometheus-run", console) as prometheus,
        ):
            settings = servers.settings
            client = wait_for_redis(settings)
            ensure_topics(settings)
            replay = replay_sessions(settings, held_out_only=True, max_sessions=sessions)
            if len(replay) < sessions:
                console.print(f"only {len(replay)} held-out sessions exist; replaying all of them")
            console.print(
                f"starting {consumers} consumer process(es) in group {settings.group!r} "
                f"over {settings.partitions} partitions ..."
            )
            served = settings
            if learn is not None:
                versions = work / "versions"
                learner = [_start_learner(settings, learn_settings, model_path, versions, learn)]
                console.print(f"learner: {learn.describe()} -> {versions}")
                served = settings.with_overrides(
                    {"follow_dir": str(versions), "version_wait_ms": VERSION_WAIT_MS}
                )
            procs = start_consumers(served, model_path, consumers, work)
            watch = OnlineWatch(procs, prometheus.server, prometheus.note)
            watch.announce()
            wait_for_assignment(procs, settings.partitions)
            watch.begin(settings.connect_timeout)

            phases.begin(
                "replay",
                f"replaying {len(replay):,} held-out sessions ({replay.n_events:,} click events)",
            )
            names = Names(settings.namespace)
            mark = DriftMark(replay) if replay.phases() is not None else None
            with _LiveStatus(console, replay.n_events, client, names) as status:
                result = _replay_once(
                    settings, replay, rate, concurrency, status, mark, clock, sent
                )
                totals = status.wait_until_consumed(result.sent, DRAIN_TIMEOUT_S)
            phases.begin("final metrics", watch.final_doing())
            watched = watch.finish(PROMETHEUS_TIMEOUT_S, totals.overall.n)
            latency = latency_percentiles(procs, phases.timings()["replay"])
            phases.begin("shutdown", f"stopping {consumers} consumer(s) and the servers")
            codes = stop_consumers(procs)
            procs = []
            learner_codes = stop_consumers(learner) if learner else []
            learner = []
        phases.begin("offline evaluation")
        shadow = settings.shadow_model
        learned = None
        if learn is not None and sent is not None:
            learned = learn_report(
                learn_settings, learn, versions, Path(shadow), sent, totals.report(),
                mark.after if mark is not None else None, console,
            )  # fmt: skip
            learned.stale, learned.unknown_item = totals.stale, totals.unknown_item
            learned.legend = arm_names(learn, Path(shadow), model_path)
            offline = learned.arms[PRIMARY]["offline"]
            shadow_offline = learned.arms[SHADOW]["offline"]
        else:
            offline = offline_report(model_path, replay, console)
            shadow_offline = offline_report(Path(shadow), replay, console) if shadow else None
        drift = None
        if mark is not None:
            phases.begin("drift", "measuring Hit@10 before and after the drift offline")
            start = watched.samples[0].t if watched.samples else None
            drift = drift_report(settings, model_path, replay, mark, start)
        oracle_level = None
        if drift is None and replay.corpus.generated is not None:
            phases.begin("oracle")
            oracle_level = oracle_hit_at_10(replay, console)
        oracle = (
            drift.oracle_line(watched.duration_s)
            if drift is not None
            else flat_line(oracle_level, watched.duration_s)
        )
        phases.begin("plot", f"plotting online metrics over time -> {out_dir / OVER_TIME_PNG}")
        watched.plot(
            out_dir / OVER_TIME_PNG,
            window_s,
            f"StreamRec demo, {consumers} consumer(s): online Hit@10, MRR@20 and "
            f"evaluations/s per window (from {watched.source})"
            + (f", drift: {settings.scenario}" if drift is not None else "")
            + (f", learning vs frozen, {learn.describe()}" if learn is not None else ""),
            oracle=oracle,
            marker_s=None if drift is None else drift.drift_s,
            names=None if learned is None else learned.legend,
        )
        if drift is not None:
            drift.note_windows(watched.series)
            if learned is not None and drift.drift_s is not None:
                by_arm = {PRIMARY: watched.series, **watched.others}
                learned.online_phases = {
                    arm: online_phases(ws, drift.drift_s) for arm, ws in by_arm.items() if ws
                }
        if learned is not None:
            (out_dir / LEARN_MD).write_text(learn_markdown(learned.to_json()))
        timings = phases.timings()
        return DemoResult(
            produced=result.sent,
            totals=totals,
            offline=offline,
            latency_ms=latency,
            consumers=consumers,
            consumer_exit_codes=codes,
            timings_s=timings,
            backend=servers.backend,
            watch=watched,
            extra={
                "model": str(model_path),
                "sessions": len(replay),
                # the over-time PNG's flat oracle line (generated data without a drift)
                "oracle_hit_at_10": oracle_level,
                **(
                    {"learn": {**learned.to_json(), "learner_exit_codes": learner_codes}}
                    if learned is not None
                    else {}
                ),
            },
            shadow_offline=shadow_offline,
            drift=drift,
        )
    finally:
        if procs or learner:
            stop_consumers(procs + learner)
        if settings.keep_demo_dir:
            console.print(f"demo files (consumer logs) kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _replay_once(
    settings: Settings,
    replay: ReplaySessions,
    rate: float,
    concurrency: int,
    status: _LiveStatus,
    mark: DriftMark | None,
    clock: ClockSpec | None = None,
    sent: SentLog | None = None,
) -> ReplayResult:
    """Replay with a producer that is gone (connections closed) when this returns."""
    producer = ClickProducer(settings)
    result = producer.replay(
        replay,
        rate=rate,
        concurrency=concurrency,
        seed=settings.seed,
        progress=status.sent,
        clock=clock,
        on_session_start=None if mark is None else mark.on_session_start,
        on_sent=sent,
    )
    if result.failed:
        raise DemoError(f"{result.failed} of {result.sent} events were not acknowledged")
    return result


def _start_learner(
    settings: Settings, learn_settings: Settings, model: Path, versions: Path, plan: LearnPlan
) -> ConsumerProcess:
    """The learner process, on ``settings``' servers, with the training data of
    ``learn_settings`` (what ``model`` was fitted on), its log in the versions' folder."""
    data = settings.with_overrides({"max_train_sessions": learn_settings.max_train_sessions})
    command = learner_command(
        data, model, versions, f"{plan.event_refresh_s!r}s", free_port(), IDLE_TIMEOUT_S
    )
    return start_learner(command, versions.parent / "learner.log")


def latency_percentiles(procs: list[ConsumerProcess], replay_s: float) -> dict[str, object]:
    """p50 and p99 from the consumers' latency histograms, at most the replay's span (every
    event was sent after it began and written before the drain ended): ``latency.py``."""
    texts = [t for t in (c.metrics_text() for c in procs) if t]
    found = percentiles(histogram_buckets(texts, LATENCY_HISTOGRAM), (0.5, 0.99), replay_s)
    return percentiles_json(found)


class _LiveStatus:
    """Live progress: events sent, events accounted for, online Hit@10."""

    def __init__(self, console: Console, total: int, client: RedisClient, names: Names) -> None:
        self.client = client
        self.names = names
        self.board = ProgressBoard(console)
        self.sent_task = self.board.add("produced", total)
        self.done_task = self.board.add("consumed", total)
        self._last_poll = 0.0
        self._t0 = time.monotonic()

    def __enter__(self) -> _LiveStatus:
        self.board.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.board.__exit__(*exc)

    def sent(self, sent: int, _total: int) -> None:
        """Producer progress hook; also refreshes the consumed count now and then."""
        rate = sent / max(time.monotonic() - self._t0, 1e-6)
        self.board.update(self.sent_task, sent, info=f"{rate:8,.0f} ev/s")
        if time.monotonic() - self._last_poll > 0.5:
            self.show(read_totals(self.client, self.names))

    def show(self, totals: OnlineTotals) -> None:
        """Update the consumed count from a totals reading."""
        self._last_poll = time.monotonic()
        hit = totals.overall.metrics()["hit_at_10"]
        self.board.update(self.done_task, totals.accounted, info=f"online Hit@10 {hit:.4f}")

    def wait_until_consumed(self, produced: int, timeout: float) -> OnlineTotals:
        """Poll Redis until every produced event is applied or counted as rejected."""
        try:
            return wait_until_accounted(self.client, self.names, produced, timeout, self.show)
        except TimeoutError as exc:
            raise DemoError(str(exc)) from None
