"""The embedded Prometheus's configuration, target files, binary lookup and settings."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from streamrec.config import ConfigError, Settings, settings_from_env
from streamrec.pipeline.prometheus import (
    JOB,
    RULES_FILE,
    find_prometheus,
    remove_targets,
    scrape_config,
    write_targets,
)
from tests.unit.test_compose_files import PROMETHEUS_DIR, _require


def test_the_embedded_config_uses_the_compose_stacks_rules_file() -> None:
    assert RULES_FILE == PROMETHEUS_DIR / "rules.yml"
    config = scrape_config(Path("/run/targets"), ["127.0.0.1:9400"], interval_s=0.5)
    assert config["rule_files"] == [str(RULES_FILE)]
    [job] = config["scrape_configs"]
    assert job["job_name"] == JOB and job["scrape_interval"] == "500ms"
    assert job["file_sd_configs"] == [{"files": ["/run/targets/*.json"], "refresh_interval": "5s"}]
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:9400"]
    assert "static_configs" not in scrape_config(Path("/t"))["scrape_configs"][0]


def test_promtool_accepts_the_generated_config_and_target_file(tmp_path: Path) -> None:
    promtool = _require("promtool")
    targets = tmp_path / "targets"
    written = write_targets(targets, "demo", ["127.0.0.1:9401", "127.0.0.1:9402"])
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps(scrape_config(targets, ["127.0.0.1:9400"])))
    result = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
    assert json.loads(written.read_text()) == [
        {"targets": ["127.0.0.1:9401", "127.0.0.1:9402"], "labels": {"source": "demo"}}
    ]
    assert sorted(p.name for p in targets.iterdir()) == ["demo.json"]  # no temporary left
    remove_targets(targets, "demo")
    remove_targets(targets, "demo")  # already gone: fine
    assert not written.exists()


def test_without_a_binary_on_path_there_is_a_one_line_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    binary, why = find_prometheus(Settings())
    assert binary is None
    assert why.startswith("no prometheus binary on PATH") and "\n" not in why


def test_a_configured_binary_wins_over_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "my-prometheus"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert find_prometheus(Settings(prometheus_bin=str(fake))) == (str(fake), "")


def test_prometheus_settings_are_validated(tmp_path: Path) -> None:
    not_executable = tmp_path / "prometheus"
    not_executable.write_text("")
    for value in (str(tmp_path / "missing"), str(not_executable), "no-such-command-here"):
        with pytest.raises(ConfigError, match=r"^prometheus_bin must name an executable"):
            Settings(prometheus_bin=value).validate()
    for port in (0, 70000):
        with pytest.raises(ConfigError, match=r"^prometheus_port must be in 1\.\.65535"):
            Settings(prometheus_port=port).validate()
    env = {"STREAMREC_PROMETHEUS_PORT": "29090", "STREAMREC_PROMETHEUS_BIN": "sh"}
    settings = settings_from_env(env)
    assert settings.prometheus_port == 29090 and settings.prometheus_bin == "sh"
    assert os.access(find_prometheus(settings)[0] or "", os.X_OK)
