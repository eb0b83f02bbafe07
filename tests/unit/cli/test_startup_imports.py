"""The light commands start without the heavy libraries: building the parser, ``--help`` and
``--version`` load no torch, numpy, matplotlib or Kafka client, and the modules ``report`` and
``services`` drive load no torch. Each check runs in a fresh interpreter, so what an earlier
test imported cannot hide an import; ``bench/startup.py`` measures the time it saves."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("torch", "numpy", "matplotlib", "confluent_kafka", "redis", "prometheus_client")


def loaded_after(code: str) -> set[str]:
    """The top-level packages of ``HEAVY`` that a fresh interpreter has loaded after ``code``."""
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_building_the_parser_loads_nothing_heavy() -> None:
    loaded = loaded_after(
        """
        from streamrec.cli.parser import build_parser
        from streamrec.config import settings_from_env
        build_parser(settings_from_env())
        """
    )
    assert loaded == set()


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--version"], ["train", "--help"], ["consume", "--help"], ["produce", "--help"]],
)
def test_help_and_version_load_nothing_heavy(argv: list[str]) -> None:
    loaded = loaded_after(
        f"""
        import contextlib, io
        from streamrec.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main({argv!r})
            except SystemExit as exc:
                assert exc.code == 0, exc.code
            else:
                raise AssertionError("--help/--version did not exit")
        """
    )
    assert loaded == set()


@pytest.mark.parametrize(
    "modules",
    [
        ("streamrec.clients", "streamrec.consumer.totals", "streamrec.contract.names"),
        ("streamrec.pipeline.servers", "streamrec.pipeline.prometheus"),
    ],
    ids=["report", "services"],
)
def test_report_and_services_load_no_torch(modules: tuple[str, ...]) -> None:
    loaded = loaded_after("\n".join(f"import {m}" for m in modules))
    assert "torch" not in loaded
    assert "numpy" not in loaded
    assert "confluent_kafka" not in loaded
