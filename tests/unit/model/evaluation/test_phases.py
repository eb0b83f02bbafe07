"""Figures per drift phase: `evaluate` (and `compare`) split the held-out examples by the
phase of their session, and the two parts add up to the whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from streamrec.config import Settings
from streamrec.model.data.corpus import generated_corpus
from streamrec.model.data.examples import build_examples
from streamrec.model.evaluation.compare import compare_models, markdown_table
from streamrec.model.evaluation.phases import split_by_phase
from streamrec.model.evaluation.workflow import evaluate_named
from tests.unit.cli.helpers import run_main

DRIFT = Settings(users=400, threads=1, scenario="new-items")


def test_examples_split_by_the_phase_of_their_session() -> None:
    corpus = generated_corpus(users=200, seed=3, scenario="new-items")
    assert corpus.generated is not None
    examples = build_examples(corpus.sessions)
    parts = split_by_phase(examples, corpus)
    moment = corpus.generated.first_drifted
    assert (parts["before"].session_index < moment).all()
    assert (parts["after"].session_index >= moment).all()
    assert len(parts["before"]) + len(parts["after"]) == len(examples)
    assert min(len(parts["before"]), len(parts["after"])) > 0
    with pytest.raises(ValueError, match="drift scenario"):
        split_by_phase(examples, generated_corpus(users=50, seed=3))


def test_evaluate_reports_each_phase_and_they_add_up_to_the_whole() -> None:
    report = evaluate_named(DRIFT, baseline="markov")
    before, after = report["phases"]["before"], report["phases"]["after"]
    assert before["n_examples"] + after["n_examples"] == report["n_examples"]
    hits = before["hit_at_10"] * before["n_examples"] + after["hit_at_10"] * after["n_examples"]
    assert hits == pytest.approx(report["hit_at_10"] * report["n_examples"], abs=1e-6)
    assert before["hit_at_10"] > after["hit_at_10"]  # never saw the new items
    assert "phases" not in evaluate_named(Settings(users=200, threads=1), baseline="markov")


def test_evaluate_prints_a_table_per_phase(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("evaluate", "--baseline", "oracle", "--users", "300", "--scenario", "new-items")
    status, out, err = run_main(capsys, *args)
    assert status == 0, err
    lines = out.splitlines()
    at = lines.index("by drift phase (sessions drawn before / after the scenario's moment):")
    assert [line.split()[0] for line in lines[at + 2 : at + 4]] == ["before", "after"]
    status, out, _ = run_main(capsys, *args, "--json")
    assert set(json.loads(out)["phases"]) == {"before", "after"}


def test_compare_gives_each_row_its_phases(tmp_path: Path) -> None:
    rows, _ = compare_models(DRIFT, ["markov", "oracle"], tmp_path, Console(quiet=True))
    for row in rows:
        assert row.phases is not None
        parts = row.phases["before"]["n_examples"] + row.phases["after"]["n_examples"]
        assert parts == row.n_examples
    markov, oracle = (row.phases for row in rows)
    assert markov is not None and oracle is not None
    assert oracle["after"]["hit_at_10"] > markov["after"]["hit_at_10"]
    table = markdown_table(rows)
    assert "| Hit@10 before | Hit@10 after |" in table
    assert f"| {markov['before']['hit_at_10']:.4f} |" in table
