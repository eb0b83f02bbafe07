"""``produce``'s clock flags: what each combination builds, and one line for what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.cli.clock_flags import ClockChoice, clock_from_args
from streamrec.cli.exits import EXIT_USAGE
from streamrec.cli.parser import build_parser
from streamrec.config import Settings
from streamrec.traffic.clock import ClockSpec
from streamrec.traffic.dwell import LogNormalDwell
from streamrec.traffic.profiles import BurstProfile, DiurnalProfile, FlatProfile
from tests.unit.cli.helpers import run_main


def choice(*flags: str) -> ClockChoice:
    return clock_from_args(build_parser(Settings()).parse_args(["produce", *flags]))


def test_defaults_are_todays_flat_replay() -> None:
    assert choice() == ClockChoice(ClockSpec("flat"), rate=0.0, concurrency=200)
    assert choice("--rate", "300", "--concurrency", "7") == ClockChoice(ClockSpec(), 300.0, 7)


def test_each_clock_takes_its_own_flags() -> None:
    assert choice("--clock", "replay", "--speedup", "60").clock == ClockSpec("replay", 60.0)
    poisson = choice(
        "--clock", "poisson", "--sessions-per-s", "12.5", "--speedup", "30",
        "--dwell-median", "20", "--dwell-sigma", "0.8",
        "--profile", "burst", "--burst-start", "5", "--burst-seconds", "2", "--burst-factor", "3",
    ).clock  # fmt: skip
    assert poisson == ClockSpec(
        "poisson", 30.0, 12.5, BurstProfile(5.0, 2.0, 3.0), LogNormalDwell(20.0, 0.8)
    )
    daily = choice("--rate", "100", "--profile", "diurnal", "--day-seconds", "60")
    assert daily.clock.profile == DiurnalProfile(60.0) and daily.rate == 100.0
    assert choice("--clock", "replay", "--profile", "flat").clock.profile == FlatProfile()
    fitted = choice("--clock", "poisson", "--dwell-from-log", "log.txt")
    assert fitted.dwell_log == "log.txt"


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--clock", "replay", "--rate", "5"],
         "--rate applies to --clock flat, not --clock replay"),
        (["--clock", "poisson", "--concurrency", "5"],
         "--concurrency applies to --clock flat, not --clock poisson"),
        (["--speedup", "2"],
         "--speedup applies to the replay and poisson clocks, not --clock flat"),
        (["--clock", "replay", "--sessions-per-s", "3"],
         "--sessions-per-s applies to --clock poisson, not --clock replay"),
        (["--dwell-median", "3"], "--dwell-median applies to --clock poisson, not --clock flat"),
        (["--clock", "poisson", "--day-seconds", "9"], "--day-seconds goes with --profile diurnal"),
        (["--rate", "9", "--profile", "diurnal", "--burst-factor", "2"],
         "--burst-factor goes with --profile burst"),
        (["--profile", "burst"],
         "--profile burst modulates a rate: give the flat clock a --rate, or use --clock poisson"),
        (["--clock", "replay", "--profile", "diurnal"],
         "--profile modulates a rate; the replay clock keeps the log's own times"),
        (["--clock", "poisson", "--dwell-from-log", "x", "--dwell-sigma", "1"],
         "--dwell-from-log fits the dwell times: leave out --dwell-median/-sigma"),
        (["--clock", "replay"],
         "--clock replay needs a click log with times (--from-csv); generated sessions have "
         "none: use --clock poisson"),
    ],
)  # fmt: skip
def test_combinations_a_clock_would_ignore_are_refused_in_one_line(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_main(capsys, "produce", "--users", "40", *flags)
    assert status == EXIT_USAGE
    assert err == f"streamrec: error: {message}\n" and out == ""


@pytest.mark.parametrize(
    "flag,value,message",
    [
        ("--speedup", "0", "must be a finite number > 0, got 0"),
        ("--sessions-per-s", "-1", "must be a finite number > 0, got -1"),
        ("--day-seconds", "inf", "must be a finite number, got inf"),
        ("--burst-start", "-2", "must be a finite number >= 0, got -2"),
        ("--dwell-sigma", "x", "expected a number, got 'x'"),
    ],
)
def test_each_clock_flag_checks_its_bounds(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        run_main(capsys, "produce", flag, value)
    assert exc.value.code == EXIT_USAGE
    assert f"streamrec produce: error: argument {flag}: {message}" in capsys.readouterr().err


def test_dwell_from_a_log_without_gaps_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log.txt"
    log.write_text("SessionId\tItemId\tTime\n1\t10\t100.0\n1\t20\t105.5\n2\t10\t7.0\n")
    status, _, err = run_main(
        capsys, "produce", "--clock", "poisson", "--dwell-from-log", str(log),
        "--format", "session-rec", "--users", "40",
    )  # fmt: skip
    assert status == EXIT_USAGE
    assert err == (
        f"streamrec: error: {log}: fitting dwell times needs at least 10 positive gaps between "
        "clicks of a session, the log has 1\n"
    )
