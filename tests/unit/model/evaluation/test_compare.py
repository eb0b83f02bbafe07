"""``streamrec compare``: the same data and protocol for every model; table, JSON and PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from streamrec.config import Settings
from streamrec.model.evaluation.compare import (
    compare_models,
    comparison_json,
    markdown_table,
    oracle_ratios,
    write_outputs,
)
from tests.unit.cli.helpers import run_main

KEYS = {"model", "hit_at_10", "hit_at_20", "mrr_at_20", "coverage_at_20", "n_examples",
        "train_seconds", "params"}  # fmt: skip


def test_models_share_data_and_the_oracle_bounds_them(tmp_path: Path) -> None:
    settings = Settings(users=400, threads=1)
    rows, data = compare_models(
        settings, ["popularity", "markov", "oracle"], tmp_path, Console(quiet=True)
    )
    assert [r.model for r in rows] == ["popularity", "markov", "oracle"]
    assert len({r.n_examples for r in rows}) == 1 and rows[0].n_examples == len(data.val)
    oracle = rows[-1]
    assert all(r.hit_at_10 <= oracle.hit_at_10 for r in rows)
    assert rows[0].coverage_at_20 == pytest.approx(20 / data.corpus.n_items)  # one list for all
    assert rows[1].coverage_at_20 > rows[0].coverage_at_20
    assert rows[1].params > rows[0].params == data.corpus.n_items
    assert (tmp_path / "markov.pt").is_file() and not (tmp_path / "oracle.pt").exists()
    json_path, md_path, png_path = write_outputs(rows, data, tmp_path)
    assert png_path.read_bytes()[:4] == b"\x89PNG"
    assert markdown_table(rows) in md_path.read_text()
    assert [r["model"] for r in json.loads(json_path.read_text())["rows"]] == [
        "popularity", "markov", "oracle",
    ]  # fmt: skip


def test_compare_command_prints_the_rows_as_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run_main(
        capsys, "compare", "--models", "markov,popularity", "--users", "300", "--threads", "1",
        "--out-dir", str(tmp_path), "--json",
    )  # fmt: skip
    assert status == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert [r["model"] for r in report["rows"]] == ["markov", "popularity"]
    assert all(row.keys() >= KEYS for row in report["rows"])
    assert "| markov |" in err


def test_unknown_model_names_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        run_main(capsys, "compare", "--models", "markov,bert")
    assert raised.value.code == 2
    assert "expected names from" in capsys.readouterr().err


def test_with_an_oracle_row_each_hit_at_10_is_also_a_share_of_the_oracles(
    tmp_path: Path,
) -> None:
    settings = Settings(users=300, threads=1, generator="series")
    rows, data = compare_models(
        settings, ["category-popularity", "oracle"], tmp_path, Console(quiet=True)
    )
    ratios = oracle_ratios(rows)
    assert ratios["oracle"] == 1.0
    share = rows[0].hit_at_10 / rows[1].hit_at_10
    assert ratios["category-popularity"] == pytest.approx(share, abs=1e-4)
    assert ratios["category-popularity"] < 0.6  # series: successors beat category popularity
    assert "| Hit@10 / oracle |" in markdown_table(rows)
    assert comparison_json(rows, data)["hit_at_10_to_oracle"] == ratios
    assert "hit_at_10_to_oracle" not in comparison_json(rows[:1], data)
    assert "oracle |" not in markdown_table(rows[:1])


def test_the_validation_sample_never_shrinks_the_compared_set(tmp_path: Path) -> None:
    full, _ = compare_models(
        Settings(users=400, threads=1), ["popularity"], tmp_path, Console(quiet=True)
    )
    sampled, data = compare_models(
        Settings(users=400, threads=1, validation_sample=50),
        ["popularity"],
        tmp_path,
        Console(quiet=True),
    )
    assert sampled[0].n_examples == full[0].n_examples == len(data.val) > 50
    assert sampled[0].hit_at_10 == full[0].hit_at_10
