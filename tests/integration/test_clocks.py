"""The replay clock through the real broker: `streamrec produce --clock replay --speedup X`
on a real log keeps the log's inter-event gaps (issue 14, acceptance 3).

Measured on what reached the topic: each event's ``ts`` (the producer's wall clock when it
sent it) and the message timestamps, never the test's own timing. Compared robustly for a
loaded machine: the total span, the median ratio of each gap between a session's clicks to
the log's, and the sessions' summed durations within 5%, and every event sent in the log's
order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from streamrec.config import Settings
from streamrec.contract.names import Names
from streamrec.producer.sources import replay_sessions
from streamrec.progress import human_duration
from tests.backends import Endpoints
from tests.conftest import yoochoose_path
from tests.integration.helpers import isolated_settings, read_messages

pytestmark = pytest.mark.integration
SESSIONS = 80  # 317 clicks of YOOCHOOSE-100k spanning 3.9 hours ...
SPEEDUP = 2500.0  # ... replayed in 5.6 s: a median gap of 60 s becomes 24 ms
TOLERANCE = 0.05


def test_replay_clock_keeps_the_logs_gaps(servers: Endpoints) -> None:
    log = yoochoose_path() / "train_valid.txt"
    settings = isolated_settings(
        Settings(), servers, csv_path=str(log), log_format="session-rec", split="none"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    env.update(
        STREAMREC_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, STREAMREC_NAMESPACE=settings.namespace
    )
    done = subprocess.run(
        [sys.executable, "-m", "streamrec", "produce", "--from-csv", str(log),
         "--format", "session-rec", "--split", "none", "--sessions", str(SESSIONS),
         "--clock", "replay", "--speedup", f"{SPEEDUP:g}", "--no-progress"],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "schedule: " in done.stdout and "send lag p50" in done.stdout

    # what the log says, scaled
    replay = replay_sessions(settings, held_out_only=False, max_sessions=SESSIONS)
    times = replay.click_times()
    assert times is not None
    ids = [replay.corpus.session_ids[i] for i in replay.indices]
    log_times = {(sid, seq): t for sid, ts in zip(ids, times) for seq, t in enumerate(ts)}

    # what the producer sent, read back from the broker
    messages = read_messages(settings, Names(settings.namespace).clicks)
    events = [json.loads(m.value() or b"") for m in messages]
    sent = {(e["session_id"], e["seq"]): e["ts"] for e in events}
    broker = {(e["session_id"], e["seq"]): m.timestamp()[1] / 1e3 for e, m in zip(events, messages)}
    assert sent.keys() == log_times.keys()  # every click once

    # the total span within 5%, by the producer's send times and by the message timestamps
    expected_span = (max(log_times.values()) - min(log_times.values())) / SPEEDUP
    # said before the replay began: how many events over how long a schedule, and why
    said = f"streamrec: replaying {len(log_times):,} events over {human_duration(expected_span)}"
    assert said + " of schedule (log span " in done.stderr
    assert f"/ speedup {SPEEDUP:g})" in done.stderr
    for stamps in (sent, broker):
        span = max(stamps.values()) - min(stamps.values())
        assert span == pytest.approx(expected_span, rel=TOLERANCE)

    # each gap between a session's consecutive clicks: the median ratio of sent to scheduled
    # within 5% (gaps under 2 ms scheduled are left out: there timer granularity, not the
    # clock, decides; a pooled median of ~240 gaps is no robust figure either: neighbouring
    # order statistics of this log differ by up to 5%), and the sessions' durations summed
    def gaps(stamps: dict[tuple[str, int], float]) -> np.ndarray:
        return np.concatenate(
            [np.diff([stamps[(sid, k)] for k in range(len(ts))]) for sid, ts in zip(ids, times)]
        )

    expected_gaps, sent_gaps = gaps(log_times) / SPEEDUP, gaps(sent)
    assert (sent_gaps >= 0).all()  # each session's clicks in order
    timed = expected_gaps >= 0.002
    assert timed.sum() > 200
    assert np.median(sent_gaps[timed] / expected_gaps[timed]) == pytest.approx(1, rel=TOLERANCE)
    assert sent_gaps.sum() == pytest.approx(expected_gaps.sum(), rel=TOLERANCE)

    # sessions interleave as the log had them: sent in the log's time order
    order = sorted(log_times, key=lambda k: (log_times[k], ids.index(k[0]), k[1]))
    sent_in_order = [sent[k] for k in order]
    assert sent_in_order == sorted(sent_in_order)
