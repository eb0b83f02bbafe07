"""The generator at scale: bounds, categories that scale with the catalog, streaming, and
byte-for-byte parity with the generator before the scale work."""

from __future__ import annotations

import hashlib
import io
import tracemalloc

import numpy as np
import pytest

from streamrec.cli import main
from streamrec.config import MAX_ITEMS, MAX_USERS
from streamrec.model.data.corpus import generated_corpus
from streamrec.model.data.generator import (
    GeneratorParams,
    SessionStream,
    generate_sessions,
    scaled_categories,
)
from streamrec.model.data.session_file import write_generated

# sha256 of `streamrec generate --generator KIND --users 2000` at 142595a (before the scale
# work). The default size (20,000 users) takes 13-15 s a kind here, so its hashes are checked
# by `python bench/generate_scale.py --parity` (and test_generator.py pins the seed's sessions
# at the default size).
PARITY_2000 = {
    "seed": "463307e04721628aee445ae090adb222fb7e73bbf23e1cb1f93025567b916646",
    "series": "028853e369b0486b21bc7946ff09c96e405adf0fb6205761ef425a5d2b03c7aa",
    "anchor": "933142195a5e8f9b38fc966064314e2481772b4be1f4da0af043bf65f5370912",
}


@pytest.mark.parametrize("kind", sorted(PARITY_2000))
def test_the_written_file_is_byte_for_byte_as_before(kind: str) -> None:
    out = io.StringIO()
    written = write_generated(GeneratorParams(n_users=2000, mode=kind), out)
    assert written == 2000
    assert hashlib.sha256(out.getvalue().encode()).hexdigest() == PARITY_2000[kind]


def test_bounds_are_checked_in_the_generator_and_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ValueError, match="n_items <= 1,000,000"):
        GeneratorParams(n_items=MAX_ITEMS + 1)
    with pytest.raises(ValueError, match="n_users <= 10,000,000"):
        GeneratorParams(n_users=MAX_USERS + 1)
    for flag, value, message in (
        ("--items", MAX_ITEMS + 1, "items must be in 1..1000000, got 1000001"),
        ("--items", 0, "items must be in 1..1000000, got 0"),
        ("--users", MAX_USERS + 1, "users must be in 1..10000000, got 10000001"),
    ):
        assert main(["generate", flag, str(value)]) == 2
        assert capsys.readouterr().err == f"streamrec: error: {message}\n"


def test_categories_scale_with_the_catalog() -> None:
    assert scaled_categories(5_000) == 25  # the seed's
    assert scaled_categories(1_000_000) == 5_000
    assert scaled_categories(10) == 6
    for items in (5_000, 200_000):
        stream = SessionStream(GeneratorParams(n_users=0, n_items=items))
        sizes = np.array([len(c) for c in stream.category_items])
        assert sizes.sum() == items and (sizes >= 0).all()
        assert 120 <= np.median(sizes) <= 220  # about the seed's 200 items a category


@pytest.mark.parametrize("kind", ["seed", "series", "anchor"])
def test_a_million_item_catalog_draws_valid_sessions(kind: str) -> None:
    data = generate_sessions(GeneratorParams(n_users=50, n_items=MAX_ITEMS, mode=kind))
    assert len(data.sessions) == 50
    clicked = np.concatenate([np.asarray(s) for s in data.sessions])
    assert clicked.min() >= 0 and clicked.max() < MAX_ITEMS
    for session, cats in zip(data.sessions, data.click_categories, strict=True):
        assert [int(data.item_category[i]) for i in session] == cats


def test_streaming_keeps_no_sessions() -> None:
    """Memory while drawing 800 users stays far below what holding them takes."""
    params = GeneratorParams(n_users=800, mode="anchor")
    stream = SessionStream(params)  # the catalog is built before measuring
    tracemalloc.start()
    count = sum(1 for _ in stream.sessions())
    _, streaming_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    tracemalloc.start()
    sessions = [s for s in SessionStream(params).sessions()]
    _, holding_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == len(sessions) == 800
    assert streaming_peak * 10 < holding_peak


def test_the_stream_collects_to_the_corpus_at_a_larger_catalog() -> None:
    corpus = generated_corpus(users=300, seed=5, generator="series", items=50_000)
    out = io.StringIO()
    write_generated(GeneratorParams(n_users=300, n_items=50_000, seed=5, mode="series"), out)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(corpus.sessions)
    assert corpus.session_ids[0] == "g5si50000-0"
    assert "items=50000" in corpus.source
    assert lines[7] == (
        f'{{"session_id": "{corpus.session_ids[7]}", "items": {corpus.sessions[7]}, '
        f'"behavior": "{corpus.behaviors[7]}"}}'
    )


def test_a_stream_yields_once() -> None:
    stream = SessionStream(GeneratorParams(n_users=3))
    assert len(list(stream.sessions())) <= 3
    with pytest.raises(RuntimeError, match="once"):
        next(stream.sessions())
