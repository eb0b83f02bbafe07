"""The package layout the architecture document promises: an import ladder, small modules,
and no references to files outside the repository."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "streamrec"
MAX_MODULE_LINES = 400
SERVER_LIBRARIES = ("confluent_kafka", "redis", "prometheus_client")
# paths a fresh clone does not have: the development machine's sibling folder and its notes
SIBLING = "sha" + "red"
OUTSIDE_REFERENCES = ("../" + SIBLING, "DESIGN" + ".md", f'parent / "{SIBLING}"')

# module prefix -> imports it must never make (prefixes of dotted module names)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "streamrec.config": ("streamrec.", *SERVER_LIBRARIES, "torch"),
    "streamrec.contract": (
        "streamrec.model", "streamrec.clients", "streamrec.consumer", "streamrec.producer",
        "streamrec.learner", "streamrec.pipeline", "streamrec.cli", *SERVER_LIBRARIES, "torch",
    ),
    "streamrec.model": (
        "streamrec.clients", "streamrec.consumer", "streamrec.producer", "streamrec.learner",
        "streamrec.pipeline", "streamrec.cli", *SERVER_LIBRARIES,
    ),
    "streamrec.clients": (
        "streamrec.model", "streamrec.consumer", "streamrec.producer", "streamrec.learner",
        "streamrec.pipeline", "streamrec.cli",
    ),
    "streamrec.namespace_data": (
        "streamrec.model", "streamrec.consumer", "streamrec.producer", "streamrec.pipeline",
        "streamrec.cli",
    ),
    "streamrec.redis_scripts": (
        "streamrec.model", "streamrec.consumer", "streamrec.producer", "streamrec.pipeline",
        "streamrec.cli",
    ),
    "streamrec.consumer": (
        "streamrec.producer", "streamrec.learner", "streamrec.pipeline", "streamrec.cli",
    ),
    "streamrec.producer": (
        "streamrec.consumer", "streamrec.learner", "streamrec.pipeline", "streamrec.cli",
    ),
    # the online learner meets the consumers only through Kafka and the version directory
    # (model.versions, below both)
    "streamrec.learner": (
        "streamrec.consumer", "streamrec.producer", "streamrec.pipeline", "streamrec.cli",
    ),
    # clocks and rate profiles are pure: the producer sends what they schedule
    "streamrec.traffic": (
        "streamrec.model", "streamrec.clients", "streamrec.consumer", "streamrec.producer",
        "streamrec.pipeline", "streamrec.cli", *SERVER_LIBRARIES, "torch",
    ),
    "streamrec.pipeline": ("streamrec.cli",),
}  # fmt: skip


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, path))
    return out


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("name,path", _modules(), ids=lambda v: str(v))
def test_imports_follow_the_ladder(name: str, path: Path) -> None:
    rules = [banned for prefix, banned in FORBIDDEN.items() if name.startswith(prefix)]
    wrong = sorted(
        imported
        for imported in _imports(path)
        for banned in rules
        for prefix in banned
        if imported == prefix.rstrip(".")
        or imported.startswith(prefix.rstrip(".") + ".")
        or (prefix.endswith(".") and imported.startswith(prefix))
    )
    assert not wrong, f"{name} imports {wrong}, which its layer must not"


def test_nothing_imports_the_cli() -> None:
    importers = [
        name
        for name, path in _modules()
        if not name.startswith("streamrec.cli") and name != "streamrec.__main__"
        and any(i == "streamrec.cli" or i.startswith("streamrec.cli.") for i in _imports(path))
    ]  # fmt: skip
    assert importers == []


def test_modules_stay_small() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules()}
    assert {n: s for n, s in sizes.items() if s > MAX_MODULE_LINES} == {}


def test_no_reference_outside_the_repository() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("streamrec", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "test_layout.py"
        and any(ref in path.read_text() for ref in OUTSIDE_REFERENCES)
    ]
    assert offenders == []
