"""--loss, --retrieval, --candidates and --ann-probes: flags, STREAMREC_* variables, one-line
errors."""

from __future__ import annotations

import pytest

from streamrec.config import ConfigError, Settings, settings_from_env
from tests.unit.cli.helpers import run_main


def test_defaults_keep_the_full_loss_and_exact_scoring() -> None:
    settings = Settings().validate()
    assert (settings.loss, settings.retrieval, settings.candidates) == ("full", "exact", 200)
    env = settings_from_env({"STREAMREC_LOSS": "sampled", "STREAMREC_RETRIEVAL": "ann",
                             "STREAMREC_CANDIDATES": "500"})  # fmt: skip
    assert (env.loss, env.retrieval, env.candidates) == ("sampled", "ann", 500)
    assert settings.ann_probes == 0  # by catalog size
    assert settings_from_env({"STREAMREC_ANN_PROBES": "48"}).ann_probes == 48


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("loss", "softmax", "loss must be one of full, sampled"),
        ("retrieval", "hnsw", "retrieval must be one of exact, ann"),
        ("candidates", 19, "candidates must be >= 20"),
        ("ann_probes", -1, "ann_probes must be >= 0"),
    ],
)
def test_bad_values_are_refused_in_one_line(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings().with_overrides({field: value})


def test_the_commands_take_the_flags_and_refuse_bad_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _out, err = run_main(capsys, "evaluate", "--model", "x.pt", "--candidates", "5")
    assert status == 2 and "candidates must be >= 20" in err and len(err.strip().splitlines()) == 1
    status, _out, err = run_main(capsys, "consume", "--ann-probes", "-3")
    assert status == 2 and "ann_probes must be >= 0" in err and len(err.strip().splitlines()) == 1
    for command, flag, value in (("train", "--loss", "nope"), ("consume", "--retrieval", "x")):
        with pytest.raises(SystemExit) as exited:  # argparse's choices: usage error, status 2
            run_main(capsys, command, flag, value)
        assert exited.value.code == 2
        assert f"argument {flag}: invalid choice" in capsys.readouterr().err
