"""Shared fixtures: the server backend for integration tests, and small trained models.

Backend, in order: servers named by STREAMREC_TEST_KAFKA_BOOTSTRAP / STREAMREC_TEST_REDIS_URL;
else testcontainers (Apache Kafka and Redis images) when a Docker daemon answers; else the
embedded real servers (Tansu broker and valkey-server from PyPI wheels). The pytest header
says which one runs. Each test gets its own namespace and consumer group on the shared servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import Endpoints, choose_backend, start_backend
from tests.models import TinyModel, train_tiny_model


def pytest_report_header(config: pytest.Config) -> str:
    backend, why = choose_backend()
    return f"streamrec integration backend: {backend} ({why})"


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    """Kafka and Redis endpoints for the whole test session (started here if needed)."""
    with start_backend(tmp_path_factory.mktemp("servers")) as endpoints:
        yield endpoints


@pytest.fixture(scope="session")
def generated_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """A small model on the default generated data (seed 42, 20,000 users, session split)."""
    return train_tiny_model(tmp_path_factory.mktemp("model") / "generated.pt")


@pytest.fixture(scope="session")
def other_generated_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """Like ``generated_model`` but trained with seed 7: the same catalog, other weights (a
    model to hot-swap to)."""
    return train_tiny_model(tmp_path_factory.mktemp("model") / "generated-s7.pt", seed=7)


@pytest.fixture(scope="session")
def diginetica_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """A small model trained on the DIGINETICA sample log."""
    return train_tiny_model(
        tmp_path_factory.mktemp("model") / "diginetica.pt", csv_path=str(diginetica_path())
    )


@pytest.fixture(scope="session")
def yoochoose_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """A small model trained on the whole YOOCHOOSE-100k development training log."""
    return train_tiny_model(
        tmp_path_factory.mktemp("model") / "yoochoose.pt",
        csv_path=str(yoochoose_path() / "train_tr.txt"),
        max_train_sessions=0,
        log_format="session-rec",
        split="none",
    )


def yoochoose_path() -> Path:
    """The YOOCHOOSE-100k development split shipped in the repository's data/ folder."""
    return Path(__file__).resolve().parent.parent / "data" / "yoochoose-100k"


def diginetica_path() -> Path:
    """The DIGINETICA sample shipped in the repository's data/ folder."""
    path = Path(__file__).resolve().parent.parent / "data" / "diginetica-sample-item-views.csv"
    if not path.is_file():
        pytest.fail(f"DIGINETICA sample missing from the checkout: {path}")
    return path
