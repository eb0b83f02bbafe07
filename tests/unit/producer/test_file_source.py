"""Replaying a sessions file streamed: same events as the loaded corpus, sessions read only
as slots open, bad rows and clocks refused with one line."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamrec.cli import main
from streamrec.config import Settings
from streamrec.model.data.generator import GeneratorParams
from streamrec.model.data.session_file import (
    SessionRecord,
    count_sessions,
    read_sessions,
    write_generated,
)
from streamrec.producer.file_source import FileSessions
from streamrec.producer.interleave import interleave_records
from streamrec.producer.sources import replay_sessions
from streamrec.producer.timeline import check_clock, timeline
from streamrec.traffic.clock import ClockSpec

USERS = 400


@pytest.fixture(scope="module")
def sessions_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sessions") / "sessions.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        write_generated(GeneratorParams(n_users=USERS, seed=3), out)
    return path


def test_the_file_replays_as_the_loaded_sessions(sessions_file: Path) -> None:
    loaded = replay_sessions(Settings(users=USERS, seed=3, split="none"), held_out_only=False)
    streamed = FileSessions(sessions_file)
    for rate in (0.0, 500.0):
        expected = list(timeline(loaded, ClockSpec(), rate, 25, seed=9, rounds=2))
        assert list(timeline(streamed, ClockSpec(), rate, 25, seed=9, rounds=2)) == expected
    assert streamed.count() == len(loaded) == count_sessions(sessions_file)
    assert FileSessions(sessions_file, max_sessions=7).count() == 7


def test_sessions_are_read_only_as_slots_open(sessions_file: Path) -> None:
    pulled = 0

    def counting() -> Iterator[SessionRecord]:
        nonlocal pulled
        for record in read_sessions(sessions_file):
            pulled += 1
            yield record

    events = interleave_records(counting(), concurrency=10, seed=1)
    next(events)
    assert pulled == 10
    list(itertools.islice(events, 200))
    assert pulled < 10 + 200  # one more session per finished one, never the whole file
    assert sum(1 for _ in events) > 0 and pulled == USERS


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not JSON"),
        ('{"session_id": "", "items": [1]}', "session_id must be a non-empty string"),
        ('{"session_id": "a", "items": []}', "items must be a non-empty list"),
        ('{"session_id": "a", "items": [1, -2]}', "items must be a non-empty list"),
        ('{"session_id": "a", "items": [1], "behavior": 3}', "behavior must be a string"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"session_id": "ok", "items": [1, 2]}\n\n' + line + "\n")
    with pytest.raises(ValueError, match=rf"^{path}:3: {reason}"):
        list(read_sessions(path))


def test_only_the_flat_clock_streams_a_file(
    sessions_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match="--clock flat only"):
        check_clock(FileSessions(sessions_file), ClockSpec("poisson"))
    code = main(["produce", "--sessions-file", str(sessions_file), "--clock", "poisson"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("streamrec: error: --sessions-file streams with")
    assert err.count("\n") == 1
    assert main(["produce", "--sessions-file", str(sessions_file.parent / "none.jsonl")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("streamrec: error:") and "none.jsonl" in err and err.count("\n") == 1
