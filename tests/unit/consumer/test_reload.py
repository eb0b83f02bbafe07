"""Hot model swap: when a reload starts, what it hands over, what it refuses (real checkpoints)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from streamrec.consumer.reload import FileStamp, ModelReloader
from streamrec.consumer.serving import ServedModel
from streamrec.consumer.telemetry import MODEL_INFO, ConsumerMetrics
from streamrec.stopping import reload_on_sighup
from tests.models import TinyModel

DEADLINE_S = 60.0


class CountingLoader:
    """Loads checkpoints as the consumer does, and counts the loads."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path: Path) -> ServedModel:
        self.calls += 1
        return ServedModel(path, "cpu", "incremental", 1 << 20)


def replace_atomically(source: Path | bytes, target: Path) -> None:
    """What ``save_checkpoint`` does: write beside, rename over."""
    tmp = target.with_name(target.name + ".tmp")
    if isinstance(source, bytes):
        tmp.write_bytes(source)
    else:
        shutil.copyfile(source, tmp)
    tmp.replace(target)


def swaps(metrics: ConsumerMetrics, result: str) -> float:
    return metrics.registry.get_sample_value("streamrec_model_swaps_total", {"result": result}) or 0


def poll_until_done(
    reloader: ModelReloader, served: ServedModel, metrics: ConsumerMetrics
) -> ServedModel | None:
    """Poll as the loop does between batches until the reload ends (swapped or refused)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        new = reloader.poll(served)
        if new is not None or swaps(metrics, "failed"):
            return new
        time.sleep(0.01)
    raise AssertionError("the reload did not finish in time")


@pytest.fixture
def served_path(tmp_path: Path, generated_model: TinyModel) -> Path:
    path = tmp_path / "model.pt"
    shutil.copyfile(generated_model.path, path)
    return path


def make_reloader(
    path: Path, loader: CountingLoader, metrics: ConsumerMetrics, **kwargs: object
) -> ModelReloader:
    return ModelReloader(path, loader, FileStamp.of(path), metrics, **kwargs)  # type: ignore[arg-type]


def test_an_atomically_replaced_file_has_a_new_stamp(served_path: Path, tmp_path: Path) -> None:
    before = FileStamp.of(served_path)
    assert before is not None and FileStamp.of(served_path) == before
    replace_atomically(served_path.read_bytes(), served_path)
    assert FileStamp.of(served_path) not in (None, before)
    assert FileStamp.of(tmp_path / "absent.pt") is None


def test_an_unchanged_file_is_never_reloaded(served_path: Path) -> None:
    loader, metrics = CountingLoader(), ConsumerMetrics()
    served = loader(served_path)
    reloader = make_reloader(served_path, loader, metrics, interval=0.001)
    try:
        for _ in range(50):
            assert reloader.poll(served) is None
    finally:
        reloader.close()
    assert loader.calls == 1
    assert swaps(metrics, "ok") == swaps(metrics, "failed") == 0


def test_a_new_checkpoint_is_loaded_aside_and_handed_over(
    served_path: Path, other_generated_model: TinyModel
) -> None:
    loader, metrics = CountingLoader(), ConsumerMetrics()
    served = loader(served_path)
    reloader = make_reloader(served_path, loader, metrics, interval=0.001)
    try:
        replace_atomically(other_generated_model.path, served_path)
        new = poll_until_done(reloader, served, metrics)
        assert new is not None
        assert new.model_version == ServedModel(other_generated_model.path).model_version
        assert new.model_version != served.model_version
        assert swaps(metrics, "ok") == 1 and swaps(metrics, "failed") == 0
        # the new file is now the served one: no second load
        for _ in range(20):
            assert reloader.poll(new) is None
        assert loader.calls == 2
    finally:
        reloader.close()


def test_a_checkpoint_that_does_not_load_is_logged_once_and_the_old_model_kept(
    served_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loader, metrics = CountingLoader(), ConsumerMetrics()
    served = loader(served_path)
    reloader = make_reloader(served_path, loader, metrics, interval=0.001)
    try:
        with caplog.at_level(logging.ERROR, "streamrec.consumer"):
            replace_atomically(b"not a checkpoint", served_path)
            assert poll_until_done(reloader, served, metrics) is None
            for _ in range(20):  # the same broken file is not tried again
                assert reloader.poll(served) is None
    finally:
        reloader.close()
    assert swaps(metrics, "failed") == 1 and swaps(metrics, "ok") == 0
    assert loader.calls == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert f"still serving {served.model_version}" in errors[0]
    assert "not a StreamRec checkpoint" in errors[0]


def test_a_model_with_another_catalog_takes_over_unless_a_second_model_is_scored_beside(
    served_path: Path, diginetica_model: TinyModel, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis keeps raw item ids, so another catalog is fine alone; beside a shadow of the
    old catalog it is refused (the primary's catalog decides what joins a window)."""
    loader, metrics = CountingLoader(), ConsumerMetrics()
    served = loader(served_path)
    original = served_path.read_bytes()
    reloader = make_reloader(served_path, loader, metrics, interval=0.001)
    try:
        replace_atomically(diginetica_model.path, served_path)
        new = poll_until_done(reloader, served, metrics)
        assert new is not None and new.catalog.n_items != served.catalog.n_items
    finally:
        reloader.close()
    assert swaps(metrics, "ok") == 1 and swaps(metrics, "failed") == 0

    replace_atomically(original, served_path)
    metrics = ConsumerMetrics()
    reloader = make_reloader(served_path, loader, metrics, interval=0.001, second=served)
    try:
        with caplog.at_level(logging.ERROR, "streamrec.consumer"):
            replace_atomically(diginetica_model.path, served_path)
            assert poll_until_done(reloader, served, metrics) is None
    finally:
        reloader.close()
    assert swaps(metrics, "failed") == 1 and swaps(metrics, "ok") == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "catalog differs" in errors[0] and "dense ids" not in errors[0]


def test_a_request_reloads_even_an_unchanged_file_and_watching_can_be_off(
    served_path: Path,
) -> None:
    loader, metrics = CountingLoader(), ConsumerMetrics()
    served = loader(served_path)
    asked = [True]
    reloader = make_reloader(
        served_path, loader, metrics, interval=0, requested=lambda: bool(asked and asked.pop())
    )
    try:
        new = poll_until_done(reloader, served, metrics)
        assert new is not None and new is not served
        assert new.model_version == served.model_version
        replace_atomically(served_path.read_bytes(), served_path)  # watching is off
        for _ in range(20):
            assert reloader.poll(new) is None
    finally:
        reloader.close()
    assert loader.calls == 2 and swaps(metrics, "ok") == 1


def test_sighup_sets_a_reload_request_until_taken() -> None:
    previous = signal.getsignal(signal.SIGHUP)
    with reload_on_sighup() as request:
        assert not request.take()
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + DEADLINE_S
        while not request.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        assert request.take()
        assert not request.take()
    assert signal.getsignal(signal.SIGHUP) == previous


def test_model_info_marks_only_the_model_serving_now() -> None:
    metrics = ConsumerMetrics()
    metrics.serving_model("a-1", "lstm-attn")
    metrics.serving_model("b-2", "gru4rec")

    def info(version: str, architecture: str) -> float | None:
        labels = {"version": version, "architecture": architecture}
        return metrics.registry.get_sample_value(MODEL_INFO, labels)

    assert (info("a-1", "lstm-attn"), info("b-2", "gru4rec")) == (0, 1)
    metrics.serving_model("a-1", "lstm-attn")
    assert (info("a-1", "lstm-attn"), info("b-2", "gru4rec")) == (1, 0)


def test_a_swap_replaces_the_primary_and_keeps_the_shadow_beside_it(
    served_path: Path,
) -> None:
    from unittest.mock import MagicMock

    from streamrec.config import Settings
    from streamrec.consumer.arms import SecondModel
    from streamrec.consumer.loop import ClickConsumer

    loader = CountingLoader()
    old, new, shadow = loader(served_path), loader(served_path), loader(served_path)
    second = SecondModel(shadow, 0.0, old)
    metrics = ConsumerMetrics()
    consumer = ClickConsumer(
        Settings(), MagicMock(), MagicMock(), MagicMock(), old, metrics, lambda: False,
        second=second,
    )  # fmt: skip
    consumer._swap_model(new)
    assert consumer.scorer is new and consumer.batches.scorer is new
    assert consumer.batches.second is second and second.model is shadow  # not reloaded
    assert consumer.outputs.model_version == new.model_version
