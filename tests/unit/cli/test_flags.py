"""The settings flags: declared once, None when not given, defaults (env included) in help."""

from __future__ import annotations

import argparse

import pytest

from streamrec.cli import main
from streamrec.cli.flags import REGISTRY, field_types, settings_from_args
from streamrec.cli.parser import COMMANDS, build_parser
from streamrec.config import Settings, setting_fields, settings_from_env
from tests.unit.cli.helpers import help_text

REQUIRED = {
    "services": ["up"],
    "evaluate": ["--baseline", "markov"],
    "explain": ["--model", "m.pt"],
    "learn": ["--refresh", "10m", "--out-dir", "versions"],
}


def parse(args: list[str], environ: dict[str, str] | None = None) -> Settings:
    """The settings ``streamrec ARGS`` would run with under ``environ``."""
    defaults = settings_from_env(environ or {})
    parsed = build_parser(defaults).parse_args(args)
    return settings_from_args(parsed, defaults, COMMANDS[parsed.command].settings)


def test_registry_names_real_settings_once() -> None:
    fields = {f.name for f in setting_fields()}
    assert set(REGISTRY) <= fields
    options = [spec.option for spec in REGISTRY.values()]
    assert len(options) == len(set(options))
    for name, command in COMMANDS.items():
        assert set(command.settings) <= set(REGISTRY), name
        assert len(command.settings) == len(set(command.settings)), name


def test_every_setting_flag_defaults_to_none() -> None:
    parser = build_parser(Settings())
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in COMMANDS.items():
        parsed = sub.choices[name].parse_args(REQUIRED.get(name, []))
        for field in command.settings:
            assert getattr(parsed, field) is None, (name, field)


def test_a_flag_given_is_explicit_and_one_not_given_is_not() -> None:
    settings = parse(["train", "--seed", "42", "--epochs", "3"])
    assert settings.explicit == {"seed", "epochs"}  # 42 is the default, and was given
    assert settings.seed == 42 and settings.epochs == 3
    assert settings.users == Settings().users and "users" not in settings.explicit
    assert parse(["train"]).explicit == frozenset()


def test_environment_values_are_explicit_and_flags_win() -> None:
    env = {"STREAMREC_SEED": "7", "STREAMREC_USERS": "300"}
    settings = parse(["train", "--seed", "9"], env)
    assert (settings.seed, settings.users) == (9, 300)
    assert settings.explicit == {"seed", "users"}


@pytest.mark.parametrize(
    "args, environ, external",
    [
        (["demo"], {}, False),
        (["demo", "--redis-url", "redis://db:6379/0"], {}, True),
        (["loadtest"], {"STREAMREC_KAFKA_BOOTSTRAP": "kafka:9092"}, True),
        (["loadtest", "--namespace", "x"], {}, False),
    ],
)
def test_external_servers_come_from_flags_or_environment(
    args: list[str], environ: dict[str, str], external: bool
) -> None:
    assert parse(args, environ).external_servers is external


def test_boolean_setting_flag_both_ways() -> None:
    assert parse(["demo"]).keep_demo_dir is False
    assert parse(["demo", "--keep-demo-dir"]).keep_demo_dir is True
    kept = {"STREAMREC_KEEP_DEMO_DIR": "1"}
    assert parse(["demo"], kept).keep_demo_dir is True
    assert parse(["demo", "--no-keep-demo-dir"], kept).keep_demo_dir is False


def test_new_settings_flags() -> None:
    train = parse(["train", "--validation-sample", "500"])
    assert train.validation_sample == 500 and "validation_sample" in train.explicit
    consume = parse(["consume", "--metrics-host", "0.0.0.0", "--log-level", "DEBUG"])
    assert (consume.metrics_host, consume.log_level) == ("0.0.0.0", "DEBUG")


def test_flag_types_only_convert_and_settings_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["consume", "--session-ttl", "0"]) == 2
    assert capsys.readouterr().err == "streamrec: error: session_ttl must be > 0, got 0.0\n"
    with pytest.raises(SystemExit) as exc:
        main(["consume", "--session-ttl", "soon"])
    assert exc.value.code == 2
    assert "argument --session-ttl: expected a number, got 'soon'" in capsys.readouterr().err


def test_help_shows_the_default_and_its_variable(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "train")
    assert "--seed N generator, split and training seed (default: 42; env STREAMREC_SEED)" in text
    assert "(default: 20000; env STREAMREC_USERS)" in text


def test_help_shows_an_environment_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMREC_SEED", "7")
    monkeypatch.setenv("STREAMREC_KAFKA_BOOTSTRAP", "kafka:9092")
    text = help_text(capsys, "produce")
    assert "(default: 7, from STREAMREC_SEED)" in text
    assert "(default: kafka:9092, from STREAMREC_KAFKA_BOOTSTRAP)" in text


def test_log_level_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "consume")
    assert (
        "--log-level {DEBUG,INFO,WARNING,ERROR} least severe log messages written to stderr "
        "(default: INFO; env STREAMREC_LOG_LEVEL)"
    ) in text


@pytest.mark.parametrize("command", ["report", "services"])
def test_commands_that_ignore_partitions_do_not_take_it(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "--partitions" not in help_text(capsys, command)
    args = [command, "status"] if command == "services" else [command]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--partitions", "2"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --partitions 2" in capsys.readouterr().err


def test_every_exposed_setting_has_a_supported_type() -> None:
    types = field_types()
    for name in REGISTRY:
        assert types[name] in {"int", "float", "str", "Path", "bool"}, name


def test_fetch_wait_is_a_validated_setting(capsys: pytest.CaptureFixture[str]) -> None:
    consume = parse(["consume", "--fetch-wait-ms", "50"])
    assert consume.fetch_wait_ms == 50 and "fetch_wait_ms" in consume.explicit
    assert parse(["loadtest"], {"STREAMREC_FETCH_WAIT_MS": "25"}).fetch_wait_ms == 25
    assert main(["consume", "--fetch-wait-ms", "0"]) == 2
    assert capsys.readouterr().err == "streamrec: error: fetch_wait_ms must be in 1..5000, got 0\n"
