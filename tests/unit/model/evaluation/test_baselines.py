"""Baselines reproduce the figures measured with the seed's own code (seed 42, example split)."""

import json

import pytest

from streamrec.cli import main

# From the issue: measured by running the seed's code and simple baselines on this machine.
EXPECTED = {
    "popularity": {"hit_at_10": 0.053},
    "category-popularity": {"hit_at_10": 0.303, "hit_at_20": 0.399, "mrr_at_20": 0.149},
    "oracle": {"hit_at_10": 0.305, "hit_at_20": 0.405, "mrr_at_20": 0.149},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_baseline_figures(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--baseline", name, "--split", "example", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["n_examples"] == 73_661
    for key, value in EXPECTED[name].items():
        assert report[key] == pytest.approx(value, abs=0.002), key
    assert set(report["per_behavior"]) == {"explorer", "deep_dive", "comparison"}


def test_markov_backs_off_and_beats_popularity(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--users", "3000", "--split", "session", "--json"]
    assert main(["evaluate", "--baseline", "markov", *args]) == 0
    markov = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "--baseline", "popularity", *args]) == 0
    popularity = json.loads(capsys.readouterr().out)
    assert markov["hit_at_10"] > popularity["hit_at_10"] + 0.05
