"""``demo --learn``'s pure parts: the flags that go together, the learner's period in event
time, the sent clicks as sessions, the before/after table and learn.md."""

from __future__ import annotations

import pytest

from streamrec.cli.exits import EXIT_USAGE
from streamrec.contract.events import ClickEvent
from streamrec.contract.names import PRIMARY, SHADOW
from streamrec.pipeline.demo_learn import LearnPlan, SentLog, before_after_table, learn_markdown
from tests.unit.cli.helpers import run_main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--learn"], "--learn needs --refresh PERIOD"),
        (["--learn", "--refresh", "never"], "'never' is the frozen model alone"),
        (["--refresh", "10m"], "--refresh is the learner's period: add --learn"),
        (["--speedup", "60"], "--speedup is the replay clock's: add --clock replay"),
        (["--clock", "replay"], "--clock replay replays a click log's own times"),
        (["--learn", "--refresh", "1s", "--split", "example"], "give --split session"),
        (
            ["--learn", "--refresh", "1s", "--from-csv", "x.csv", "--split", "session"],
            "give --split time or day",
        ),
    ],
)
def test_demo_learning_flags_that_do_not_go_together_are_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_main(capsys, "demo", *args)
    assert status == EXIT_USAGE and message in err
    assert err.count("\n") == 1 and err.startswith("streamrec")


def test_the_learners_period_is_the_streams_divided_by_the_speedup() -> None:
    assert LearnPlan(600.0, 60.0).event_refresh_s == 10.0
    assert "10m of the log's time (10s of event time at 60x)" in LearnPlan(600.0, 60.0).describe()
    assert LearnPlan(2.0).describe() == "a version every 2s of event time"


def test_the_sent_clicks_are_sessions_in_order_of_their_first_click() -> None:
    sent = SentLog()
    for event in [
        ClickEvent("b", 0, 7, 10.0, None), ClickEvent("a", 0, 5, 11.0, None),
        ClickEvent("b", 1, 8, 12.0, None), ClickEvent("a", 1, 6, 12.5, None),
    ]:  # fmt: skip
        sent(event)
    log = sent.sessions()
    assert log.session_ids == ["b", "a"]
    assert log.items == [[7, 8], [5, 6]] and log.times == [[10.0, 12.0], [11.0, 12.5]]
    assert sent.sessions({"a"}).session_ids == ["a"]


def report() -> dict[str, object]:
    figures = {"hit_at_10": 0.2, "hit_at_20": 0.3, "mrr_at_20": 0.1, "n_examples": 100}
    phase = {"hit_at_20": 0.3, "mrr_at_20": 0.1}
    return {
        "refresh": "2s", "versions_published": 12, "tolerance": 0.002, "agreement": True,
        "unknown_item": 3, "new_item_clicks": 40, "stale": 0,
        "arms": {
            PRIMARY: {"role": "learning", "model": "/x/m.pt", "online": figures,
                      "offline": figures},
            SHADOW: {"role": "frozen", "model": "/x/m.pt", "online": figures,
                     "offline": figures},
        },
        "phases": {PRIMARY: {"before": phase, "after": {**phase, "hit_at_20": 0.25}},
                   SHADOW: {"before": phase, "after": None}},
        "online_phases": {PRIMARY: {"before": {"hit_at_10": 0.21}, "after": {"hit_at_10": 0.2}}},
    }  # fmt: skip


def test_the_before_after_table_has_a_row_per_arm() -> None:
    table = before_after_table(report())
    assert table[0].startswith("| arm | Hit@20 before | Hit@20 after")
    assert table[2] == (
        "| learning (primary) | 0.3000 | 0.2500 | 0.1000 | 0.1000 | 0.2100 | 0.2000 |"
    )
    assert table[3] == "| frozen (shadow) | 0.3000 | n/a | 0.1000 | n/a | n/a | n/a |"
    assert before_after_table({"arms": {}}) == []


def test_learn_md_has_both_arms_and_the_table() -> None:
    text = learn_markdown(report(), "streamrec demo --learn --refresh 2s")
    assert "`streamrec demo --learn --refresh 2s`" in text
    assert text.count("| learning (primary) | m.pt | 0.2000 | 0.2000 |") == 1
    assert "| frozen (shadow) | m.pt |" in text
    assert "## Before and after the drift" in text
    assert "3 of 40 clicks on items version 0 did not know" in text


def test_the_summary_says_the_versions_each_arms_agreement_and_the_table() -> None:
    from streamrec.cli.commands.pipeline import learn_lines

    learn = {**report(), "event_refresh_s": 2.0}
    learn["arms"][SHADOW]["max_difference"] = 0.01  # type: ignore[index]
    learn["arms"][PRIMARY]["max_difference"] = 0.0  # type: ignore[index]
    lines = learn_lines({"learn": learn})
    assert lines[0] == (
        "learning: 12 versions published (refresh 2s, 2s of event time each); 3 clicks unknown "
        "to their version, of 40 clicks on items version 0 did not know; 0 served stale"
    )
    assert "learning arm: online equal to offline (largest difference 0.0000" in lines[1]
    assert "frozen arm: online DIFFERENT from offline (largest difference 0.0100" in lines[2]
    assert lines[-2].startswith("| learning (primary) |")
    assert learn_lines({}) == []
