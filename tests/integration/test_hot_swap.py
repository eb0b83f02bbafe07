"""Hot model swap mid-stream through real servers: consumers keep running, every event is applied
once, and each recommendation names the model that made it."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest

from streamrec.clients import ensure_topics
from streamrec.consumer.serving import ServedModel
from streamrec.contract.messages import decode_recommendation
from streamrec.contract.names import Names
from streamrec.pipeline.demo import offline_report
from streamrec.pipeline.processes import (
    ConsumerProcess,
    start_consumers,
    stop_consumers,
    wait_for_assignment,
)
from streamrec.pipeline.scrape import metric_sum
from streamrec.producer.replay import ClickProducer
from streamrec.producer.sources import ReplaySessions, replay_sessions
from tests.backends import Endpoints
from tests.integration.helpers import (
    assert_state_matches,
    isolated_settings,
    log_tails,
    read_topic,
    wait_for_totals,
)
from tests.models import TinyModel

pytestmark = pytest.mark.integration
SWAPS = "streamrec_model_swaps_total"


def wait_for_swaps(procs: list[ConsumerProcess], result: str, count: int) -> None:
    """Poll every consumer's /metrics until each counted ``count`` reloads with ``result``."""
    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline:
        texts = [p.metrics_text() for p in procs]
        if all(t is not None and metric_sum([t], SWAPS, result=result) == count for t in texts):
            return
        time.sleep(0.1)
    raise AssertionError(f"not every consumer counted {count} {result} reloads\n" + log_tails(
        [p.log_path for p in procs]
    ))  # fmt: skip


def serving(procs: list[ConsumerProcess], version: str) -> bool:
    """Whether every consumer's streamrec_model_info says ``version`` serves."""
    texts = [p.metrics_text() or "" for p in procs]
    return all(metric_sum([t], "streamrec_model_info", version=version) == 1 for t in texts)


def replace_atomically(source: Path | bytes, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    if isinstance(source, bytes):
        tmp.write_bytes(source)
    else:
        shutil.copyfile(source, tmp)
    tmp.replace(target)


def test_hot_swap_mid_stream_keeps_exactly_once_and_labels_recommendations(
    generated_model: TinyModel,
    other_generated_model: TinyModel,
    servers: Endpoints,
    tmp_path: Path,
) -> None:
    settings = isolated_settings(
        generated_model.settings, servers, partitions=4, model_watch_interval=0.2
    )
    ensure_topics(settings)
    replay = replay_sessions(settings, held_out_only=True, max_sessions=600)
    half = len(replay.indices) // 2
    before = ReplaySessions(replay.corpus, replay.indices[:half])
    after = ReplaySessions(replay.corpus, replay.indices[half:])
    old_version = ServedModel(generated_model.path).model_version
    new_version = ServedModel(other_generated_model.path).model_version
    assert old_version != new_version

    served = tmp_path / "served" / "model.pt"
    served.parent.mkdir()
    shutil.copyfile(generated_model.path, served)
    procs = start_consumers(settings, served, 2, tmp_path / "logs")
    pids = [p.proc.pid for p in procs]
    producer = ClickProducer(settings)
    try:
        wait_for_assignment(procs, settings.partitions)
        assert serving(procs, old_version)
        first = producer.replay(before, concurrency=100, seed=1)
        assert first.failed == 0 and first.sent == before.n_events
        wait_for_totals(settings, first.sent)

        # a broken file is refused and the old model keeps serving
        replace_atomically(b"half-written junk", served)
        wait_for_swaps(procs, "failed", 1)
        assert serving(procs, old_version)
        # the second model, renamed over the watched path, is swapped in by every consumer
        replace_atomically(other_generated_model.path, served)
        wait_for_swaps(procs, "ok", 1)
        assert serving(procs, new_version)
        # SIGHUP reloads the (same) file at once
        procs[0].proc.send_signal(signal.SIGHUP)
        wait_for_swaps(procs[:1], "ok", 2)

        second = producer.replay(after, concurrency=100, seed=2)
        assert second.failed == 0 and second.sent == after.n_events
        totals = wait_for_totals(settings, first.sent + second.sent)
        # never restarted: the same processes, all still running
        assert [p.proc.pid for p in procs] == pids
        assert all(p.proc.poll() is None for p in procs)
        assert serving(procs, new_version)
    finally:
        codes = stop_consumers(procs)
    assert codes == [0, 0], log_tails([p.log_path for p in procs])

    # every event applied exactly once, state exact
    assert totals.applied == replay.n_events
    assert (totals.duplicate, totals.gap, totals.invalid) == (0, 0, 0)
    assert_state_matches(settings, replay)

    # each recommendation names the model that made it: the old before the swap, the new after
    names = Names(settings.namespace)
    recs = [decode_recommendation(v) for v in read_topic(settings, names.recommendations)]
    expected = {
        (replay.corpus.session_ids[i], seq): version
        for part, version in ((before, old_version), (after, new_version))
        for i in part.indices
        for seq in range(len(replay.corpus.sessions[i]))
    }
    assert len(recs) == len(expected)
    assert {(r.session_id, r.seq): r.model_version for r in recs} == expected
    assert read_topic(settings, names.dlq) == []

    # online totals = each model's offline evaluation of the sessions it served
    offline = [offline_report(generated_model.path, before)]
    offline.append(offline_report(other_generated_model.path, after))
    online = totals.report()
    n = sum(o["n_examples"] for o in offline)
    assert online["n_examples"] == n > 0
    for key in ("hit_at_10", "hit_at_20", "mrr_at_20"):
        expected_value = sum(o[key] * o["n_examples"] for o in offline) / n
        assert online[key] == pytest.approx(expected_value, abs=0.002), key
