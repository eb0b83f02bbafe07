"""Learning from the stream online: a learner and two consumers following it replay a day of
YOOCHOOSE clicks with new items, through the embedded broker and Valkey.

Online Hit@10, Hit@20 and MRR@20 equal the offline prequential figures of the same schedule
(``version_time="served"``); ``unknown_item`` is exactly the clicks whose version did not know
their item, far fewer than the clicks on items the trained model never saw; a learner
SIGKILLed mid-run (with a corrupt version and a half-written one left in its directory)
resumes, and the totals are identical to the clean run's.
"""

from __future__ import annotations

import shutil
import signal
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from streamrec.clients import ensure_topics
from streamrec.config import Settings
from streamrec.consumer.totals import OnlineTotals
from streamrec.contract.events import ClickEvent, decode_event
from streamrec.contract.messages import decode_recommendation
from streamrec.contract.names import Names
from streamrec.learner.main import build_learner
from streamrec.model.checkpoint import read_checkpoint
from streamrec.model.data.clicklog import ClickLogFormat, LogSessions, read_log
from streamrec.model.data.stream_log import clicks_in_time_order
from streamrec.model.evaluation.prequential import Predictions, evaluate_stream
from streamrec.model.versions import (
    MANIFEST_FILE,
    MODEL_FILE,
    Manifest,
    latest_valid,
    listed,
    read_schedule,
    version_at,
    version_name,
)
from streamrec.pipeline.processes import (
    ConsumerProcess,
    learner_command,
    start_consumers,
    start_learner,
    stop_consumers,
    wait_for_assignment,
)
from streamrec.pipeline.scrape import metric_sum, scrape
from streamrec.pipeline.servers import free_port
from streamrec.producer.replay import ClickProducer
from tests.backends import Endpoints
from tests.conftest import yoochoose_path
from tests.integration.helpers import (
    assert_same_totals,
    isolated_settings,
    log_tails,
    poll_until,
    read_messages,
    read_topic,
    wait_for_totals,
)
from tests.models import TinyModel, train_tiny_model

pytestmark = pytest.mark.integration
METRICS = ("hit_at_10", "hit_at_20", "mrr_at_20")
# an hour and a 29th of a millisecond: the log's times are whole milliseconds, so for the 24
# boundaries of the day no click lies within rounding of one (offline and online agree on
# every click's version by construction, not by luck)
REFRESH_S = 3600 + 0.001 / 29
NEW_ITEMS = 30  # the stream's most clicked items, removed from the training log


@dataclass(frozen=True)
class Stream:
    """The replayed day: its sessions, the events in event-time order, the new items."""

    test: LogSessions
    events: list[ClickEvent]
    new_items: set[int]


@pytest.fixture(scope="module")
def stream_and_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Stream, TinyModel]:
    """Every third session of the test day, and a markov model trained without the day's 30
    most clicked items (they are new to it)."""
    folder = tmp_path_factory.mktemp("learning")
    day = read_log(yoochoose_path() / "test.txt", ClickLogFormat("session-rec"))
    test = day.subset(list(range(0, len(day), 3)))
    counts = Counter(i for s in test.items for i in s)
    header, *rows = (yoochoose_path() / "train_tr.txt").read_text().splitlines()
    trained = {int(r.split("\t")[1]) for r in rows}
    new_items = {i for i, _ in counts.most_common() if i in trained}
    new_items = set(sorted(new_items, key=lambda i: -counts[i])[:NEW_ITEMS])
    train = folder / "train.txt"
    kept = [r for r in rows if int(r.split("\t")[1]) not in new_items]
    train.write_text("\n".join([header, *kept]) + "\n")
    model = train_tiny_model(
        folder / "markov.pt", csv_path=str(train), max_train_sessions=0,
        log_format="session-rec", split="none", architecture="markov",
    )  # fmt: skip
    clicks = [
        (t, s, seq, item)
        for s, (items, times) in enumerate(zip(test.items, test.times, strict=True))
        for seq, (item, t) in enumerate(zip(items, times, strict=True))
    ]
    clicks.sort()
    events = [ClickEvent(test.session_ids[s], seq, item, t, None) for t, s, seq, item in clicks]
    return Stream(test, events, new_items), model


def offline_figures(model: TinyModel, stream: Stream) -> dict[str, float]:
    """The offline prequential evaluation of the same day, learner and schedule."""
    learner, meta = build_learner(model.settings, resuming=False)
    clicks = clicks_in_time_order(stream.test, 10**9)
    result = evaluate_stream(
        learner, clicks, Predictions.of(stream.test), REFRESH_S, "served", meta.max_len
    )
    return {
        "hit_at_10": result.hit_at_10, "hit_at_20": result.hit_at_20,
        "mrr_at_20": result.mrr_at_20, "predictions": result.predictions,
    }  # fmt: skip


def produce(settings: Settings, events: list[ClickEvent]) -> None:
    """The events as they are (their own event times), in order."""
    producer = ClickProducer(settings)
    for event in events:
        producer.send(event)
    assert producer.flush() == 0 and producer.failed == 0


@dataclass
class Run:
    """One pipeline run's outcome."""

    totals: OnlineTotals
    out_dir: Path
    consumer_metrics: list[str]
    learner_logs: str
    labels: dict[tuple[str, int], str]  # per (session, seq): the version its top-K came from
    partitions: list[tuple[int, int, float]]  # the clicks topic: partition, offset, event time


def start_learner_process(
    settings: Settings, model: TinyModel, out: Path, log: Path
) -> ConsumerProcess:
    command = learner_command(
        settings, model.path, out, f"{REFRESH_S!r}s", free_port(), idle_timeout_s=1.0
    )
    return start_learner(command, log)


def run_pipeline(
    model: TinyModel, servers: Endpoints, tmp: Path, stream: Stream, kill: bool
) -> Run:
    """Produce the day, run a learner and two following consumers until every event is
    accounted for. ``kill``: produce the first half, SIGKILL the learner once it is through
    it, leave a corrupt next version and a half-written one in its directory, produce the
    rest and start the learner again."""
    out = tmp / "versions"
    settings = isolated_settings(
        model.settings, servers, partitions=4, follow_dir=str(out), version_wait_ms=60_000
    )
    ensure_topics(settings)
    half = len(stream.events) // 2
    produce(settings, stream.events[:half] if kill else stream.events)
    learner_log = tmp / "learner.log"
    learner = start_learner_process(settings, model, out, learner_log)
    consumers: list[ConsumerProcess] = []
    recommendations: list[bytes] = []
    clicks: list[tuple[int, int, float]] = []
    try:
        consumers = start_consumers(settings, model.path, 2, tmp)  # they wait for version 0
        wait_for_assignment(consumers, 4)
        if kill:
            wait_for_totals(settings, half)
            last_needed = version_at(stream.events[half - 1].ts, *_schedule(out))
            poll_until(lambda: last_needed in listed(out), "the first half's version", 60)
            learner.proc.send_signal(signal.SIGKILL)
            learner.proc.wait()
            _plant_bad_versions(out, last_needed)
            produce(settings, stream.events[half:])
            learner = start_learner_process(settings, model, out, learner_log)
        totals = wait_for_totals(settings, len(stream.events), timeout=180)
        texts = [scrape(c.metrics_url) for c in consumers]
        names = Names(settings.namespace)
        recommendations = read_topic(settings, names.recommendations)
        clicks = [
            (m.partition() or 0, m.offset() or 0, decode_event(m.value() or b"").ts)
            for m in read_messages(settings, names.clicks)
        ]
    finally:
        codes = stop_consumers(consumers)
        learner_code = stop_consumers([learner])
    assert codes == [0, 0], log_tails([c.log_path for c in consumers])
    assert learner_code == [0], log_tails([learner_log])
    labels = {}
    for value in recommendations:
        rec = decode_recommendation(value)
        labels[(rec.session_id, rec.seq)] = rec.model_version
    return Run(totals, out, texts, learner_log.read_text(), labels, clicks)


def _schedule(out: Path) -> tuple[float, float]:
    schedule = read_schedule(out)
    assert schedule is not None
    return schedule.t0, schedule.refresh_s


def _plant_bad_versions(out: Path, newest: int) -> None:
    """A version after ``newest`` whose model file does not match its checksum, and a
    half-written one (a publisher killed before its rename)."""
    bad = out / version_name(newest + 1)
    shutil.copytree(out / version_name(newest), bad)
    manifest = Manifest.from_json((bad / MANIFEST_FILE).read_bytes(), str(bad))
    t0, refresh = _schedule(out)
    payload = (
        manifest.to_json()
        .decode()
        .replace(f'"version": {newest}', f'"version": {newest + 1}')
        .replace(repr(manifest.valid_from), repr(t0 + (newest + 1) * refresh))
    )
    (bad / MANIFEST_FILE).write_text(payload)
    with open(bad / MODEL_FILE, "ab") as f:
        f.write(b"\0")
    shutil.copytree(out / version_name(newest), out / f".tmp-{version_name(newest + 2)}-1-x")


def expected_labels(out: Path, events: list[ClickEvent]) -> dict[tuple[str, int], str]:
    """Per event, the label of the version its own event time calls for."""
    found = latest_valid(out)
    assert found is not None
    t0, refresh = _schedule(out)
    base = found[0].base_model
    return {(e.session_id, e.seq): f"{base}+v{version_at(e.ts, t0, refresh)}" for e in events}


def expected_unknown(out: Path, stream: Stream) -> int:
    """Clicks whose version (by event time) does not know their item."""
    catalogs = {
        v: set(read_checkpoint(path / MODEL_FILE)[1].item_ids or [])
        for v, path in listed(out).items()
    }
    t0, refresh = _schedule(out)
    return sum(e.item_id not in catalogs[version_at(e.ts, t0, refresh)] for e in stream.events)


def test_a_learner_and_two_following_consumers_equal_offline_prequential_and_survive_sigkill(
    stream_and_model: tuple[Stream, TinyModel], servers: Endpoints, tmp_path: Path
) -> None:
    stream, model = stream_and_model
    clean = run_pipeline(model, servers, tmp_path / "clean", stream, kill=False)
    totals = clean.totals

    # every event once; none served by an older version than its time calls for
    assert totals.applied + totals.unknown_item == len(stream.events)
    assert (totals.duplicate, totals.gap, totals.invalid, totals.stale) == (0, 0, 0, 0)

    # online == offline prequential, same learner, same schedule, version of the served click
    offline = offline_figures(model, stream)
    online = totals.report()
    assert online["n_examples"] == offline["predictions"] == len(stream.events) - len(stream.test)
    for key in METRICS:
        assert online[key] == pytest.approx(offline[key], abs=0.002), key

    # new items: unknown to version 0, learned by the first version after their clicks
    new_clicks = sum(e.item_id in stream.new_items for e in stream.events)
    assert totals.unknown_item == expected_unknown(clean.out_dir, stream)
    assert new_clicks > 500 and totals.unknown_item < new_clicks / 2
    found = latest_valid(clean.out_dir)
    assert found is not None and found[0].version >= 20
    assert metric_sum(clean.consumer_metrics, "streamrec_model_version") > 0
    # every recommendation carries the version its click's time called for
    assert clean.labels == expected_labels(clean.out_dir, stream.events)

    # SIGKILL the learner mid-run: resumed from its newest valid version, identical totals
    chaos = run_pipeline(model, servers, tmp_path / "chaos", stream, kill=True)
    assert_same_totals(totals, chaos.totals)
    assert (chaos.totals.unknown_item, chaos.totals.stale) == (totals.unknown_item, 0)
    assert chaos.learner_logs.count("resuming after version") == 1
    assert "removed 1 half-written version" in chaos.learner_logs
    # the corrupt version was refused (never served: the totals are the clean run's)
    assert metric_sum(chaos.consumer_metrics, "streamrec_versions_invalid_total") >= 1
    last_clean, last_chaos = latest_valid(clean.out_dir), latest_valid(chaos.out_dir)
    assert last_clean is not None and last_chaos is not None
    assert last_chaos[0].version == last_clean[0].version
    boundary = last_clean[0].valid_from
    assert boundary is not None
    learned = sum(e.ts < boundary for e in stream.events)
    assert last_chaos[0].clicks_total == last_clean[0].clicks_total == learned


def test_out_of_order_times_within_a_session_are_served_by_their_own_version(
    stream_and_model: tuple[Stream, TinyModel], servers: Endpoints, tmp_path: Path
) -> None:
    """A click whose time goes back (before its session's previous click, by more than a
    refresh) is served by the version of its own time, and learned once, at its partition's
    latest time: the newest version counts every click whose partition time is before its
    boundary."""
    stream, model = stream_and_model
    sessions = stream.test.subset(list(range(0, len(stream.test), 8)))
    events = []
    for s, (items, times) in enumerate(zip(sessions.items, sessions.times, strict=True)):
        late = [t - 2 * REFRESH_S if s % 3 == 0 and j == len(times) - 1 and j > 0 else t
                for j, t in enumerate(times)]  # fmt: skip
        events += [(times[j], s, j, item, t) for j, (item, t) in enumerate(zip(items, late))]
    events.sort()  # sent in the log's time order: only the late clicks go back in time
    clicks = [ClickEvent(sessions.session_ids[s], j, item, t, None) for _, s, j, item, t in events]
    when = {(c.session_id, c.seq): c.ts for c in clicks}
    assert sum(c.ts < when.get((c.session_id, c.seq - 1), c.ts) for c in clicks) > 10
    run = run_pipeline(model, servers, tmp_path, Stream(sessions, clicks, set()), kill=False)
    assert run.totals.applied + run.totals.unknown_item == len(clicks)
    assert (run.totals.gap, run.totals.duplicate, run.totals.stale) == (0, 0, 0)
    assert run.labels == expected_labels(run.out_dir, clicks)
    # learned once each: replay the partitions as the learner cut them
    found = latest_valid(run.out_dir)
    assert found is not None and found[0].valid_from is not None
    marks: dict[int, float] = {}
    learned = 0
    for msg in sorted(run.partitions, key=lambda m: (m[0], m[1])):
        partition, _, ts = msg
        marks[partition] = max(ts, marks.get(partition, ts))
        learned += marks[partition] < found[0].valid_from
    assert found[0].clicks_total == learned
