"""The compose stack, checked without a Docker engine: files, ports, commands, Prometheus."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS_DIR = ROOT / "infra" / "prometheus"
DASHBOARD = ROOT / "infra" / "grafana" / "dashboards" / "streamrec.json"


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def interpolate(text: str) -> str:
    """Compose's ${VAR:-default} with an empty environment."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)


def streamrec_services() -> dict[str, dict[str, Any]]:
    return {
        name: svc for name, svc in compose()["services"].items()
        if str(svc.get("image", "")).startswith("streamrec:")
    }  # fmt: skip


def test_compose_parses_with_expected_services() -> None:
    services = compose()["services"]
    assert set(services) == {
        "kafka", "redis", "quick-model", "trainer", "consumer", "producer", "prometheus",
        "grafana", "learner-model", "learner", "learning-consumer", "learning-producer",
    }  # fmt: skip
    learning = {name for name, svc in services.items() if "learning" in svc.get("profiles", [])}
    assert learning == {"learner-model", "learner", "learning-consumer", "learning-producer"}
    consumer_deps = services["consumer"]["depends_on"]
    assert consumer_deps["quick-model"]["condition"] == "service_completed_successfully"
    assert consumer_deps["kafka"]["condition"] == "service_healthy"
    assert "healthcheck" in services["consumer"] and "ports" not in services["consumer"]


def invocations(svc: dict[str, Any]) -> list[list[str]]:
    """The ``streamrec`` argument lists a service runs: its command, or each ``streamrec``
    line of its shell script."""
    if svc.get("entrypoint", ["streamrec"])[0] == "streamrec":
        return [[interpolate(str(a)) for a in svc["command"]]]
    script = "\n".join(str(part) for part in svc["command"])
    return [
        shlex.split(interpolate(line))[1:]
        for line in script.splitlines()
        if line.strip().startswith("streamrec ")
    ]


def option(args: list[str], flag: str) -> str:
    assert flag in args, f"{flag} missing from {args}"
    return args[args.index(flag) + 1]


def test_consumers_start_on_the_quick_model_and_hot_swap_to_the_full_one() -> None:
    services = compose()["services"]
    served = services["consumer"]["environment"]["STREAMREC_MODEL_PATH"]
    # the consumers wait for the quick model only, never for the full training
    assert "trainer" not in services["consumer"]["depends_on"]
    (quick,) = invocations(services["quick-model"])
    assert quick[0] == "train" and option(quick, "--out") == served
    assert "--skip-if-exists" in quick and int(option(quick, "--epochs")) <= 2
    assert int(option(quick, "--max-train-sessions")) <= 5000
    # the full recipe trains elsewhere, after the quick model, then is renamed over the
    # served path (an atomic replace the consumers watch for)
    trainer = services["trainer"]
    assert trainer["depends_on"]["quick-model"]["condition"] == "service_completed_successfully"
    (full,) = invocations(trainer)
    assert full[0] == "train" and option(full, "--epochs") == "20"
    staged = option(full, "--out")
    assert staged != served and "--skip-if-exists" in full
    script = str(trainer["command"][0]).splitlines()
    assert trainer["entrypoint"][:2] == ["/bin/sh", "-ec"]  # a failed training stops it
    moves = [shlex.split(line) for line in script if line.strip().startswith("mv ")]
    assert len(moves) == 1 and moves[0][-1] == served
    copies = [shlex.split(line) for line in script if line.strip().startswith("cp ")]
    assert copies == [["cp", staged, moves[0][-2]]]
    assert Path(moves[0][-2]).parent == Path(served).parent  # same filesystem: a rename
    consume = invocations(services["consumer"])[0]
    assert float(option(consume, "--model-watch-interval")) > 0


def test_images_are_pinned() -> None:
    for name, svc in compose()["services"].items():
        image = str(svc.get("image", ""))
        assert ":" in image and not image.endswith(":latest"), name


def test_build_contexts_and_mounted_files_exist() -> None:
    for name, svc in compose()["services"].items():
        build = svc.get("build")
        if build:
            context = ROOT / build["context"]
            assert context.is_dir(), name
            assert (context / build["dockerfile"]).is_file(), name
        for volume in svc.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source}"


def test_published_ports_bind_loopback_only() -> None:
    published = 0
    for name, svc in compose()["services"].items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"
            published += 1
    assert published >= 4


@pytest.mark.parametrize("service", sorted(streamrec_services()))
def test_streamrec_command_lines_are_accepted(service: str) -> None:
    svc = streamrec_services()[service]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    env.update({k: interpolate(str(v)) for k, v in svc.get("environment", {}).items()})
    runs = invocations(svc)
    assert runs
    for args in runs:
        result = subprocess.run(
            [sys.executable, "-m", "streamrec", *args, "--help"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"usage: streamrec {args[0]}" in result.stdout


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed; ./dev test installs Debian's prometheus package")
        pytest.skip(f"{tool} not installed (Debian package prometheus; ./dev test installs it)")
    return path


def test_promtool_checks_config_and_rules() -> None:
    promtool = _require("promtool")
    for args in (["check", "config", "prometheus.yml"], ["check", "rules", "rules.yml"]):
        result = subprocess.run(
            [promtool, *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr


def recording_rules() -> dict[str, str]:
    groups = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text())["groups"]
    return {rule["record"]: rule["expr"] for group in groups for rule in group["rules"]}


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p["targets"]]


def test_dashboard_uses_only_defined_recording_rules() -> None:
    rules = recording_rules()
    used = {name for e in dashboard_exprs() for name in re.findall(r"streamrec:[a-z0-9_:]+", e)}
    assert used and used <= set(rules)
    panels = json.loads(DASHBOARD.read_text())["panels"]
    titles = " ".join(p["title"] for p in panels)
    for needed in ("Hit@10", "Hit@20", "MRR@20", "by behavior", "outcome", "DLQ", "Latency", "lag"):
        assert needed in titles, needed


def test_dashboard_shows_the_model_version_and_swaps() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    (panel,) = [p for p in panels if "Model version" in p["title"]]
    exprs = " ".join(t["expr"] for t in panel["targets"])
    legends = " ".join(t.get("legendFormat", "") for t in panel["targets"])
    assert "streamrec_model_info" in exprs and "streamrec_model_swaps_total" in exprs
    assert "{{version}}" in legends
    assert len({p["id"] for p in panels}) == len(panels)


def test_the_learning_profile_learns_and_follows_in_its_own_namespace() -> None:
    services = compose()["services"]
    (train,) = invocations(services["learner-model"])
    (learn,) = invocations(services["learner"])
    (consume,) = invocations(services["learning-consumer"])
    (produce,) = invocations(services["learning-producer"])
    assert train[0] == "train" and option(train, "--architecture") == "markov"
    assert learn[0] == "learn" and option(learn, "--model") == option(train, "--out")
    # the learner's history is the log the model was trained on
    for flag in ("--from-csv", "--format", "--split"):
        assert option(learn, flag) == option(train, flag), flag
    assert option(consume, "--follow") == option(learn, "--out-dir")
    namespaces = {option(args, "--namespace") for args in (learn, consume, produce)}
    assert namespaces == {"learning"}
    assert services["learner"]["depends_on"]["learner-model"]["condition"] == (
        "service_completed_successfully"
    )
    for name in ("learner-model", "learner", "learning-producer"):
        assert "./data:/data:ro" in services[name]["volumes"], name


def test_dashboard_shows_learning_from_the_stream() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    learning = [p for p in panels if "Learning from the stream" in p["title"]]
    exprs = " ".join(t["expr"] for p in learning for t in p["targets"])
    for metric in (
        "streamrec_learner_version", "streamrec_model_version",
        "streamrec_version_staleness_seconds_bucket", "streamrec_learner_update_seconds",
        "streamrec_learner_clicks_learned_total", "streamrec_version_waits_total",
        "streamrec_version_wait_seconds_sum", "streamrec_stale_serves_total",
        "streamrec_versions_invalid_total",
    ):  # fmt: skip
        assert metric in exprs, metric
