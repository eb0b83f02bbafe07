"""``loadtest``'s flags: steps, a fixed rate or a clock-driven run, and one line for what the
chosen plan would ignore."""

from __future__ import annotations

import pytest

from streamrec.cli.exits import EXIT_USAGE
from streamrec.cli.load_plan import StepPlan, load_plan
from streamrec.cli.parser import build_parser
from streamrec.config import Settings
from streamrec.pipeline.loadtest_clock import ClockPlan
from streamrec.traffic.clock import ClockSpec
from streamrec.traffic.dwell import LogNormalDwell
from streamrec.traffic.profiles import BurstProfile, DiurnalProfile
from tests.unit.cli.helpers import help_text, run_main


def plan(*flags: str) -> StepPlan | ClockPlan:
    return load_plan(build_parser(Settings()).parse_args(["loadtest", *flags]))


def test_step_plans_keep_their_defaults() -> None:
    assert plan() == StepPlan([1000.0, 2000.0, 5000.0, 10000.0, 20000.0], 20.0)
    assert plan("--steps", "100,200", "--step-seconds", "4") == StepPlan([100.0, 200.0], 4.0)
    assert plan("--profile", "fixed") == StepPlan([1000.0], 20.0)
    assert plan("--profile", "fixed", "--rate", "300") == StepPlan([300.0], 20.0)
    assert plan().fractions == (0.5, 0.8)  # type: ignore[union-attr]


def test_saturation_fractions_are_fractions_or_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan("--saturation-fractions", "0.25,0.9").fractions == (0.25, 0.9)  # type: ignore[union-attr]
    assert plan("--saturation-fractions", "none").fractions == ()  # type: ignore[union-attr]
    for bad in ("0", "1.5", "half"):
        with pytest.raises(SystemExit) as exit_:
            plan("--saturation-fractions", bad)
        assert exit_.value.code == EXIT_USAGE
        assert "--saturation-fractions" in capsys.readouterr().err.splitlines()[-1]
    code, _out, err = run_main(capsys, "loadtest", "--clock", "flat", "--rate", "10",
                               "--saturation-fractions", "0.5")  # fmt: skip
    assert code == EXIT_USAGE and "--saturation-fractions belongs to the step plan" in err


def test_saturation_repeats_are_whole_runs_of_the_step_plan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert plan().repeats == 1  # type: ignore[union-attr]
    assert plan("--saturation-repeats", "3").repeats == 3  # type: ignore[union-attr]
    with pytest.raises(SystemExit) as exit_:
        plan("--saturation-repeats", "0")
    assert exit_.value.code == EXIT_USAGE
    assert "--saturation-repeats: must be >= 1, got 0" in capsys.readouterr().err
    code, _out, err = run_main(capsys, "loadtest", "--clock", "flat", "--rate", "10",
                               "--saturation-repeats", "3")  # fmt: skip
    assert code == EXIT_USAGE and "--saturation-repeats belongs to the step plan" in err


def test_clock_runs_take_the_clock_flags() -> None:
    poisson = plan(
        "--clock", "poisson", "--sessions-per-s", "5", "--speedup", "3000", "--duration", "12",
        "--dwell-median", "40", "--dwell-sigma", "1", "--rate-profile", "burst",
        "--burst-start", "4", "--burst-seconds", "4", "--burst-factor", "4",
    )  # fmt: skip
    assert poisson == ClockPlan(
        ClockSpec("poisson", 3000.0, 5.0, BurstProfile(4.0, 4.0, 4.0), LogNormalDwell(40.0, 1.0)),
        0.0,
        12.0,
    )
    daily = plan("--clock", "flat", "--rate", "800", "--rate-profile", "diurnal",
                 "--day-seconds", "60")  # fmt: skip
    assert daily == ClockPlan(ClockSpec("flat", profile=DiurnalProfile(60.0)), 800.0, 60.0)


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--duration", "5"], "--duration goes with --clock (a clock-driven run)"),
        (["--rate-profile", "burst"], "--rate-profile goes with --clock (a clock-driven run)"),
        (["--profile", "fixed", "--sessions-per-s", "3"],
         "--sessions-per-s goes with --clock (a clock-driven run)"),
        (["--rate", "500"],
         "--rate goes with --profile fixed or --clock flat; --profile steps (the default) "
         "offers --steps"),
        (["--profile", "fixed", "--steps", "1,2"],
         "--steps goes with --profile steps; --profile fixed offers --rate"),
        (["--clock", "poisson", "--profile", "steps"],
         "--profile belongs to the step plan; a --clock run lasts --duration seconds"),
        (["--clock", "poisson", "--step-seconds", "5"],
         "--step-seconds belongs to the step plan; a --clock run lasts --duration seconds"),
        (["--clock", "poisson", "--rate", "5"],
         "--rate applies to --clock flat, not --clock poisson"),
        (["--clock", "flat", "--speedup", "5", "--rate", "9"],
         "--speedup applies to the replay and poisson clocks, not --clock flat"),
        (["--clock", "flat"], "--clock flat offers --rate events/s: give a --rate"),
        (["--clock", "flat", "--rate-profile", "burst"],
         "--rate-profile burst modulates a rate: give the flat clock a --rate, or use "
         "--clock poisson"),
        (["--clock", "poisson", "--burst-factor", "2"],
         "--burst-factor goes with --rate-profile burst"),
        (["--clock", "replay"],
         "argument --clock: invalid choice: 'replay' (choose from 'flat', 'poisson')"),
        (["--clock", "poisson", "--duration", "0"],
         "argument --duration: must be a finite number > 0, got 0"),
    ],
)  # fmt: skip
def test_flags_the_plan_would_ignore_are_refused_in_one_line(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        status, out, err = run_main(capsys, "loadtest", *flags)
    except SystemExit as exc:  # argparse's own errors
        status, captured = int(exc.code or 0), capsys.readouterr()
        out, err = captured.out, captured.err.splitlines()[-1] + "\n"
    assert status == EXIT_USAGE
    assert err.endswith(f"error: {message}\n") and err.count("\n") == 1 and out == ""


def test_help_groups_the_step_plan_and_the_clock_run(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "loadtest")
    steps, clock = text.index("step plan (the default"), text.index("clock-driven run (instead")
    step_seconds = text.index("--step-seconds SECONDS seconds per step")
    rate_profile = text.index("--rate-profile {flat,diurnal,burst} modulate the rate")
    assert steps < step_seconds < clock < rate_profile
    assert "--dwell-from-log" not in text and "--concurrency" not in text
