"""The shell examples of the README and the docs pages, as the examples tests read them.

A shell example is a fenced block whose info string is ``bash``, ``sh``, ``shell`` or
``console``. Each one is marked on the line before its fence:

    <!-- example: run -->                  the test runs it (tests/integration/test_examples.py)
    <!-- example: skip (why not) -->       it is not run, for the reason given

A page's ``run`` blocks are run in order in one shell, so a block can use what an earlier one
started or set (a background consumer, ``D=...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHELL_FENCES = ("bash", "sh", "shell", "console")
MARK = re.compile(r"^<!-- example: (run|skip \((?P<why>.+)\)) -->$")
FENCE = re.compile(r"^(`{3,})\s*([\w-]*)")


@dataclass(frozen=True)
class Example:
    """One shell block of a page."""

    page: Path
    line: int  # 1-based line of the opening fence
    code: str
    mark: str  # "run", "skip" or "" (unmarked)
    why: str  # the skip's reason

    @property
    def where(self) -> str:
        """``page:line`` for messages."""
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """The README and every Markdown page of docs/ (stored results' tables excluded)."""
    docs = sorted(p for p in (ROOT / "docs").glob("*.md"))
    return [ROOT / "README.md", *docs]


def examples(page: Path) -> list[Example]:
    """The shell blocks of ``page`` in order, with their marks."""
    lines = page.read_text().splitlines()
    found: list[Example] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        ticks, info = fence.group(1), fence.group(2)
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(ticks)), len(lines))
        if info in SHELL_FENCES:
            before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            mark = MARK.match(before.strip())
            kind = "" if mark is None else mark.group(1).split(" ")[0]
            why = "" if mark is None else (mark.group("why") or "")
            found.append(Example(page, i + 1, "\n".join(lines[i + 1 : end]), kind, why))
        i = end + 1
    return found


def runnable(page: Path) -> list[Example]:
    """The blocks of ``page`` marked to run."""
    return [e for e in examples(page) if e.mark == "run"]
