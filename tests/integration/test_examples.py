"""The README's and the docs pages' shell examples marked ``<!-- example: run -->`` run as
printed (``tests/doc_examples.py`` says how blocks are marked).

How a page is run:

- Its ``run`` blocks, in order, make one bash script (``set -eo pipefail``), so a block sees
  what earlier ones started or set. Before each block the script echoes ``### page:line``, so a
  failure names the block.
- In a fresh temporary folder that looks like a checkout after ``./dev demo``: ``data`` and
  ``.venv`` are links to the repository's (so ``source .venv/bin/activate`` works as printed),
  and ``artifacts/quick-model.pt`` is the tests' tiny generated model, where the demo leaves its
  quick model.
- Isolated: no ``STREAMREC_*`` variable of the caller's; the embedded servers' ports (broker,
  Valkey, Prometheus) and the default metrics port are free ports of this run
  (``STREAMREC_KAFKA_BOOTSTRAP``, ``STREAMREC_REDIS_URL``, ``STREAMREC_PROMETHEUS_PORT``,
  ``STREAMREC_METRICS_PORT``), and ``STREAMREC_RUN_DIR`` is inside the folder. The script starts
  those servers first (``streamrec services up``; a page's own ``services up`` then finds them
  running) and always stops them and its background jobs at the end.
- **Substitutions** make long examples short: ``SUBSTITUTIONS`` maps a page to (printed text,
  text run instead) pairs, applied to its run blocks before they run, e.g. 500 demo sessions
  become 40 and a 25 s replay clock runs 100 times faster. Each printed text must be found,
  so an edited example cannot leave a stale substitution behind. Nothing else is changed.

The test asserts that every page's script exits 0, reaches every block, and prints no
traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from streamrec.pipeline.servers import free_port
from tests.doc_examples import ROOT, Example, pages, runnable
from tests.models import TinyModel

pytestmark = pytest.mark.integration

SUBSTITUTIONS: dict[str, list[tuple[str, str]]] = {
    "README.md": [
        ("streamrec demo --shadow-model artifacts/markov.pt --sessions 500",
         "streamrec demo --shadow-model artifacts/markov.pt --sessions 40 --consumers 1"),
        ("--clock replay --speedup 3600", "--clock replay --speedup 360000"),
    ],
    "docs/learning.md": [
        ("--split none --rate 500", "--split none --rate 4000 --limit 2000"),
    ],
    "docs/simulator.md": [
        ("--clock replay --speedup 60", "--clock replay --speedup 100000 --limit 300"),
        ("--format session-rec --rounds 0", "--format session-rec --limit 300"),
        ("--profile diurnal --day-seconds 120", "--profile diurnal --day-seconds 120 --limit 300"),
        ("--burst-factor 10", "--burst-factor 10 --limit 300"),
    ],
}  # fmt: skip
RUN_PAGES = [str(p.relative_to(ROOT)) for p in pages() if runnable(p)]
TIMEOUT_S = 300


def script_of(page: str, blocks: list[Example]) -> str:
    """The page's run blocks as one script, substitutions applied."""
    parts = []
    for block in blocks:
        parts += [f"echo '### {block.where}' >&2", block.code]
    script = "\n".join(parts)
    for printed, instead in SUBSTITUTIONS.get(page, []):
        assert printed in script, f"{page}: substitution of a text no example prints: {printed}"
        script = script.replace(printed, instead)
    return script


def isolated_env(folder: Path) -> dict[str, str]:
    """The caller's environment without STREAMREC_*, pointed at this run's free ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        STREAMREC_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        STREAMREC_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        STREAMREC_PROMETHEUS_PORT=str(free_port()),
        STREAMREC_METRICS_PORT=str(free_port()),
        STREAMREC_RUN_DIR=str(folder / ".streamrec"),
        STREAMREC_THREADS="1",
        COLUMNS="100",
    )
    return env


def checkout_after_demo(folder: Path, model: TinyModel) -> None:
    """A folder that looks like a checkout after ``./dev demo``."""
    (folder / "data").symlink_to(ROOT / "data")
    (folder / ".venv").symlink_to(Path(sys.prefix))
    (folder / "artifacts").mkdir()
    shutil.copy(model.path, folder / "artifacts" / "quick-model.pt")


PROLOGUE = """set -eo pipefail
cleanup() {
    jobs -p | xargs -r kill 2>/dev/null || true
    wait || true
    streamrec services down > /dev/null 2>&1 || true
}
trap cleanup EXIT
streamrec services up > /dev/null
"""


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES)
def test_the_examples_of_a_page_run_as_printed(
    page: str, generated_model: TinyModel, tmp_path: Path
) -> None:
    blocks = runnable(ROOT / page)
    assert blocks, f"{page} has no examples marked to run"
    checkout_after_demo(tmp_path, generated_model)
    script = tmp_path / "examples.sh"
    script.write_text(PROLOGUE + script_of(page, blocks) + "\n")
    result = subprocess.run(
        ["bash", str(script)], cwd=tmp_path, env=isolated_env(tmp_path),
        capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output = result.stdout + result.stderr
    reached = [line for line in result.stderr.splitlines() if line.startswith("### ")]
    assert result.returncode == 0, (
        f"{page}: exit {result.returncode}; last block {reached[-1:]}\n" + output[-4000:]
    )
    assert len(reached) == len(blocks), output[-4000:]
    assert "Traceback" not in output, output[-4000:]
