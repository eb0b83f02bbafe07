"""The README as a front door and the docs pages around it: the README's length, its links,
the site's navigation, and every shell example marked to run or skipped with a reason."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import yaml

from tests.doc_examples import ROOT, examples, pages, runnable

README = ROOT / "README.md"
MAX_README_LINES = 300
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """A heading's anchor as MkDocs (Python-Markdown's toc) makes it."""
    text = re.sub(r"`|\*\*", "", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    fence = False
    found = set()
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            found.add(slug(line.lstrip("#").strip()))
    return found


def test_the_readme_is_a_short_front_door() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move some to docs/"
    text = README.read_text()
    for must in ("./dev demo", "./dev test", "source .venv/bin/activate", "./dev shell"):
        assert must in text


def test_every_link_of_the_readme_resolves() -> None:
    for target in LINK.findall(README.read_text()):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        page = (ROOT / path).resolve()
        assert page.is_file(), f"README links to a missing file: {target}"
        if anchor:
            assert anchor in anchors(page), f"README links to a missing anchor: {target}"


def test_every_docs_page_is_in_the_site_navigation() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = set()
    for entry in config["nav"]:
        listed.update(entry.values())
    on_disk = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert on_disk == listed, f"pages not in mkdocs.yml's nav: {sorted(on_disk - listed)}"


def test_every_shell_example_is_marked_run_or_skip_with_a_reason() -> None:
    unmarked = [e.where for page in pages() for e in examples(page) if not e.mark]
    assert not unmarked, (
        "shell examples without '<!-- example: run -->' or '<!-- example: skip (why) -->' "
        f"on the line before the fence: {unmarked}"
    )
    for page in pages():
        for e in examples(page):
            assert e.mark == "run" or len(e.why) > 10, f"{e.where}: say why it is skipped"


def test_the_readme_tour_runs_and_the_marks_are_read() -> None:
    tour = runnable(README)
    assert len(tour) >= 5
    assert any("streamrec services up" in e.code for e in tour)
    assert all(e.code.strip() for e in tour)
