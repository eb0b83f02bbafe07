"""Helpers for the CLI tests."""

from __future__ import annotations

import pytest

from streamrec.cli import main


def one_line(text: str) -> str:
    """``text`` with every run of whitespace as one space (help wraps where it likes)."""
    return " ".join(text.split())


def help_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``streamrec ARGS --help`` as one line; fails unless it exits 0."""
    with pytest.raises(SystemExit) as exc:
        main([*args, "--help"])
    assert exc.value.code == 0
    return one_line(capsys.readouterr().out)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``main(args)`` run in this process."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err
