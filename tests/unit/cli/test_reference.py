"""``docs/reference.md`` is generated from the parser and the metrics registries: it must equal
what ``streamrec.cli.reference`` renders now, and cover every command, flag, setting and
metric."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streamrec.cli.flags import REGISTRY
from streamrec.cli.parser import COMMANDS, build_parser
from streamrec.cli.reference import ENV_ONLY, PAGE, REGENERATE, main, metric_docs, render
from streamrec.config import ENV_PREFIX, Settings, setting_fields


def test_the_reference_page_is_current() -> None:
    current = PAGE.read_text() if PAGE.exists() else ""
    assert current == render(), f"docs/reference.md is stale; regenerate it: {REGENERATE}"


def test_every_command_flag_and_variable_is_on_the_page() -> None:
    text = render()
    parser = build_parser(Settings())
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)
    for name, command in sub.choices.items():
        assert f"### `streamrec {name}`" in text
        for action in command._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}" in text, (name, option)
    for f in setting_fields():
        assert f"`{ENV_PREFIX}{f.name.upper()}`" in text
        # a setting without a flag needs its own words here
        assert f.name in REGISTRY or ENV_ONLY.get(f.name), f.name


def test_every_metric_family_is_listed_with_its_type() -> None:
    metrics = metric_docs()
    names = [m.name for m in metrics]
    assert "streamrec_events_total" in names and "streamrec_learner_version" in names
    assert len(names) == len(set(names))
    text = render()
    for m in metrics:
        assert f"| `{m.name}` | {m.kind} |" in text
        assert m.help


def test_check_mode_names_the_command_that_regenerates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "reference.md"
    stale.write_text("# old\n")
    assert main(["--check", "--out", str(stale)]) == 1
    err = capsys.readouterr().err
    assert "python -m streamrec.cli.reference" in err
    assert main(["--out", str(stale)]) == 0
    assert main(["--check", "--out", str(stale)]) == 0
    assert stale.read_text() == render()
