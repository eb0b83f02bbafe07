"""Faults cannot bend the online totals: SIGKILLed consumers, rebalances, garbage in the stream."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from streamrec.clients import ensure_topics
from streamrec.contract.events import ClickEvent
from streamrec.pipeline.processes import (
    ConsumerProcess,
    start_consumers,
    stop_consumers,
    wait_for_assignment,
)
from streamrec.producer.replay import ClickProducer, interleave
from tests.backends import Endpoints
from tests.integration.helpers import (
    BackgroundReplay,
    RawProducer,
    assert_same_totals,
    assert_state_matches,
    fault_free_run,
    isolated_settings,
    session_snapshot,
    wait_for_totals,
)
from tests.models import TinyModel

pytestmark = pytest.mark.integration


def count_rebalances(procs: list[ConsumerProcess]) -> int:
    return sum(p.log_path.read_text(errors="replace").count("assigned partitions") for p in procs)


def test_sigkilled_consumers_and_rebalances_change_nothing(
    generated_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    sessions = 1100  # about 21,000 events
    ref_settings, replay, reference = fault_free_run(
        generated_model, servers, tmp_path / "ref", sessions
    )
    (tmp_path / "chaos").mkdir()
    settings = isolated_settings(generated_model.settings, servers, partitions=4)
    ensure_topics(settings)
    assert replay.n_events >= 20_000

    all_procs: list[ConsumerProcess] = []

    def spawn(n: int = 1) -> list[ConsumerProcess]:
        procs = start_consumers(settings, generated_model.path, n, tmp_path / "chaos")
        for i, p in enumerate(procs):  # keep every log: rename per spawn
            p.log_path = p.log_path.rename(p.log_path.with_name(f"c{len(all_procs) + i}.log"))
        all_procs.extend(procs)
        return procs

    group = spawn(2)
    wait_for_assignment(group, 4)
    producer = BackgroundReplay(ClickProducer(settings), replay, rate=450, concurrency=100, seed=5)
    rng = random.Random(20261127)
    kills = 0
    try:
        for step in ("kill", "kill", "add", "remove", "kill"):
            time.sleep(rng.uniform(5.0, 9.0))
            if step == "kill":
                victim = group.pop(rng.randrange(len(group)))
                victim.proc.kill()  # SIGKILL: no commit, no goodbye
                victim.proc.wait()
                kills += 1
                group += spawn()
            elif step == "add":
                group += spawn()
            else:
                assert stop_consumers([group.pop()]) == [0]
        producer.result(timeout=180)
        chaos = wait_for_totals(settings, replay.n_events)
        deadline = time.monotonic() + 120
        while chaos.applied < replay.n_events and time.monotonic() < deadline:
            time.sleep(0.5)
            chaos = wait_for_totals(settings, replay.n_events)
    finally:
        codes = stop_consumers(group)
    assert codes == [0] * len(codes)
    print(
        f"\nchaos: {kills} SIGKILLs, {count_rebalances(all_procs)} partition assignments, "
        f"{chaos.duplicate} redelivered events counted as duplicates"
    )
    assert kills >= 3
    assert chaos.applied == replay.n_events and chaos.gap == 0 and chaos.invalid == 0
    assert_same_totals(chaos, reference)
    assert_state_matches(settings, replay)
    assert session_snapshot(settings, replay) == session_snapshot(ref_settings, replay)


def test_garbage_in_the_stream_changes_nothing_for_valid_events(
    generated_model: TinyModel, servers: Endpoints, tmp_path: Path
) -> None:
    ref_settings, replay, reference = fault_free_run(generated_model, servers, tmp_path, 300)
    settings = isolated_settings(generated_model.settings, servers, partitions=4)
    ensure_topics(settings)
    procs = start_consumers(settings, generated_model.path, 2, tmp_path)
    garbage = [
        b"{not json", b"\xff\xfe\x00", b"[]", b'{"v":1}', b'{"v":1,"session_id":"x","seq":-1,'
        b'"item_id":1,"ts":1}',
        b'{"v":1,"session_id":"x","seq":0,"item_id":1,"ts":1,"behavior":"robot"}',
        b'{"v":1,"session_id":"x","seq":0,"item_id":1,"ts":1,"extra":true}', b"x" * 70_000,
    ]  # fmt: skip
    try:
        wait_for_assignment(procs, 4)
        producer, raw = ClickProducer(settings), RawProducer(settings)
        n_garbage = 0
        for n, (sid, seq, item, behavior) in enumerate(interleave(replay, 100, seed=5)):
            producer.send(ClickEvent(sid, seq, item, time.time(), behavior))
            if n % 9 == 8:  # one garbage message per nine valid ones: 10% of the stream
                raw.send(f"junk-{n}".encode(), garbage[n_garbage % len(garbage)])
                n_garbage += 1
        assert producer.flush() == 0 and producer.failed == 0
        assert raw.flush() == 0 and raw.failed == 0
        totals = wait_for_totals(settings, replay.n_events + n_garbage)
    finally:
        assert stop_consumers(procs) == [0, 0]
    assert totals.invalid == n_garbage
    assert_same_totals(totals, reference)
    assert session_snapshot(settings, replay) == session_snapshot(ref_settings, replay)
