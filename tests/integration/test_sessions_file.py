"""`streamrec generate --out FILE` then `streamrec produce --sessions-file FILE` through the
real broker: every click of the file reaches the topic once, in each session's order, from a
catalog larger than the default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streamrec.config import Settings
from streamrec.contract.names import Names
from tests.backends import Endpoints
from tests.integration.helpers import isolated_settings, read_messages

pytestmark = pytest.mark.integration
USERS = 150


def test_a_sessions_file_replays_every_click(servers: Endpoints, tmp_path: Path) -> None:
    settings = isolated_settings(Settings(), servers)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    env.update(
        STREAMREC_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, STREAMREC_NAMESPACE=settings.namespace
    )
    path = tmp_path / "sessions.jsonl"
    streamrec = [sys.executable, "-m", "streamrec"]
    made = subprocess.run(
        [*streamrec, "generate", "--users", str(USERS), "--items", "200000", "--out", str(path),
         "--no-progress"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    done = subprocess.run(
        [*streamrec, "produce", "--sessions-file", str(path), "--concurrency", "20",
         "--no-progress"],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"replaying {USERS:,} sessions of {path}, read as they are sent" in done.stderr

    rows = [json.loads(line) for line in path.read_text().splitlines()]
    expected = {(r["session_id"], seq): item for r in rows for seq, item in enumerate(r["items"])}
    events = [
        json.loads(m.value() or b"")
        for m in read_messages(settings, Names(settings.namespace).clicks)
    ]
    sent = {(e["session_id"], e["seq"]): e["item_id"] for e in events}
    assert len(events) == len(sent) == len(expected)  # every click once
    assert sent == expected
    assert f"sent {len(expected):,} events from {USERS:,} sessions" in done.stdout
