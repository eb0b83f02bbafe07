"""The one validator factory of per-run flags: conversions and bounds, one line each."""

from __future__ import annotations

import argparse

import pytest

from streamrec.cli.validators import number, number_list


@pytest.mark.parametrize(
    "parse, text, message",
    [
        (number(int), "many", "expected a whole number, got 'many'"),
        (number(int), "1.5", "expected a whole number, got '1.5'"),
        (number(float), "fast", "expected a number, got 'fast'"),
        (number(int, min=1), "0", "must be >= 1, got 0"),
        (number(int, min=0), "-3", "must be >= 0, got -3"),
        (number(float, min=0), "-5", "must be a finite number >= 0, got -5"),
        (number(float, above=0), "0", "must be a finite number > 0, got 0"),
        (number(float, above=0), "inf", "must be a finite number, got inf"),
        (number(float, min=0), "nan", "must be a finite number, got nan"),
        (number(int, min=1, max=65535), "70000", "must be in 1..65535, got 70000"),
        (number(int, max=9), "10", "must be <= 9, got 10"),
    ],
)
def test_bad_values_get_one_line(parse: object, text: str, message: str) -> None:
    assert callable(parse)
    with pytest.raises(argparse.ArgumentTypeError) as exc:
        parse(text)
    assert str(exc.value) == message


def test_good_values_convert() -> None:
    assert number(int, min=1)("7") == 7
    assert number(float, min=0)("0") == 0.0
    assert number(float, above=0)("2.5") == 2.5
    assert number(int, min=1, max=65535)("65535") == 65535
    assert number(float)("inf") == float("inf")  # unbounded: settings validate their own


def test_number_list() -> None:
    rates = number_list(number(float, above=0))
    assert rates("100, 200,") == [100.0, 200.0]
    with pytest.raises(argparse.ArgumentTypeError, match="must be a finite number > 0, got -1"):
        rates("100,-1")
    with pytest.raises(argparse.ArgumentTypeError, match="expected comma-separated values"):
        rates(",")


def test_messages_reach_the_user(capsys: pytest.CaptureFixture[str]) -> None:
    from streamrec.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["produce", "--rate", "-5"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        "streamrec produce: error: argument --rate: must be a finite number >= 0, got -5"
    )
