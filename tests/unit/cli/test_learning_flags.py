"""``learn`` and ``consume --follow`` on the command line: flags, bad values in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.cli import main
from streamrec.cli.exits import EXIT_USAGE
from tests.unit.cli.helpers import help_text, run_main


def test_learn_help_names_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "learn")
    for flag in ("--refresh", "--out-dir", "--idle-timeout-s", "--model", "--from-csv"):
        assert flag in text, flag
    follow = help_text(capsys, "consume")
    assert "--follow DIR" in follow and "--version-wait-ms" in follow


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--refresh", "never", "--out-dir", "v"], "not 'never'"),
        (["--refresh", "10x", "--out-dir", "v"], "a unit s, m, h or d"),
        (["--refresh=0s", "--out-dir", "v"], "positive"),
        (["--refresh", "10m"], "--out-dir"),
        (["--refresh", "10m", "--out-dir", "v", "--idle-timeout-s", "0"], "must be"),
    ],
)
def test_learn_refuses_bad_flags_in_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["learn", *args])
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.startswith("streamrec learn: error:") and message in err and "\n" not in err


def test_learn_needs_the_checkpoint_and_its_training_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.pt"
    status, _, err = run_main(
        capsys, "learn", "--model", str(missing), "--refresh", "1m", "--out-dir", str(tmp_path)
    )
    assert status == EXIT_USAGE and f"no checkpoint at {missing}" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--version-wait-ms", "-1"], "version_wait_ms must be in 0..120000"),
        (
            ["--follow", "v", "--shadow-model", "x.pt", "--split-traffic", "0.5"],
            "an A/B split (--split-traffic) beside them is not supported",
        ),
        (["--follow", "v", "--shadow-model", "x.pt"], "no checkpoint at x.pt (--shadow-model)"),
    ],
)
def test_consume_follow_settings_are_checked(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_main(capsys, "consume", *args)
    assert status == EXIT_USAGE and message in err
