"""Generate ``docs/reference.md`` from the command line parser and the metrics registries.

``python -m streamrec.cli.reference`` (or ``./dev docs reference``) rewrites the page;
``--check`` exits 1 when the page differs from what the code says. The page lists every
command with its flags and their defaults, every ``STREAMREC_*`` environment variable, the exit
statuses, every Prometheus metric (name, type, labels, help) of the consumer and the learner,
and the recording rules of ``infra/prometheus/rules.yml``.

A development tool beside the parser it reads: the ``streamrec`` command never imports it (it
loads the consumer's and the learner's metric code, numpy included). Help is rendered for the
built-in defaults, never the caller's environment, so the page is the same on every machine.
"""

from __future__ import annotations

import argparse
import difflib
import html
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from streamrec.cli.exits import STATUSES
from streamrec.cli.flags import REGISTRY, field_types
from streamrec.cli.parser import COMMANDS, DESCRIPTION, SETTINGS_NOTE, build_parser
from streamrec.cli.setting_flag import shown_default
from streamrec.config import ENV_PREFIX, SECRET_FIELDS, Settings, setting_fields

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reference.md"
RULES = ROOT / "infra" / "prometheus" / "rules.yml"
REGENERATE = "python -m streamrec.cli.reference  (or: ./dev docs reference)"

# Settings no command has a flag for: set by their environment variable only.
ENV_ONLY = {
    "max_len": "clicks in a session's window (the model's input length)",
    "artifacts": "folder for models and outputs",
    "redis_password": "Redis password (never logged; not in the URL)",
    "kafka_username": "SASL/PLAIN user name (set with STREAMREC_KAFKA_PASSWORD)",
    "kafka_password": "SASL/PLAIN password (never logged)",
    "kafka_security_protocol": "SASL_SSL or SASL_PLAINTEXT, when a SASL user is set",
    "poll_timeout": "seconds a consumer's poll waits for the first message",
}


@dataclass(frozen=True)
class MetricDoc:
    """One exported metric family."""

    name: str  # as scraped (counters end in _total)
    kind: str
    labels: tuple[str, ...]
    help: str
    exporter: str


def _cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _code_cell(text: str) -> str:
    """Code for one table cell: an HTML code element, since a backslash before a pipe inside
    backticks shows on some renderers (MkDocs) and is needed on others (GitHub)."""
    escaped = html.escape(" ".join(text.split()), quote=False).replace("|", "&#124;")
    return f"<code>{escaped}</code>"


def _option_cell(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    spelled = []
    for option in action.option_strings:
        if action.nargs == 0:
            spelled.append(f"`{option}`")
        else:
            metavar = action.metavar or action.dest.upper()
            if action.choices and not action.metavar:
                metavar = "{" + ",".join(str(c) for c in action.choices) + "}"
            spelled.append(f"`{option} {metavar}`")
    return ", ".join(spelled)


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    text = parser._get_formatter()._expand_help(action) if action.help else ""
    if action.choices and action.metavar:
        text += " (one of: " + ", ".join(str(c) for c in action.choices) + ")"
    return _cell(text)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise RuntimeError("the streamrec parser has no subcommands")


def _command_section(name: str, parser: argparse.ArgumentParser) -> Iterator[str]:
    yield f"### `streamrec {name}`"
    yield ""
    yield COMMANDS[name].help[0].upper() + COMMANDS[name].help[1:] + "."
    yield ""
    yield " ".join((parser.description or "").split())
    yield ""
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction)]
        if not actions:
            continue
        title = group.title or "options"
        yield f"| {title} | |"
        yield "|---|---|"
        for action in actions:
            yield f"| {_option_cell(action)} | {_help(parser, action)} |"
        yield ""


def _env_section(commands: dict[str, argparse.ArgumentParser]) -> Iterator[str]:
    yield "## Environment variables"
    yield ""
    yield " ".join(SETTINGS_NOTE.split())
    yield ""
    yield (
        "Each variable below sets one field of the one configuration object "
        "(`streamrec/config.py`); the commands listed take its flag, which wins over the "
        "variable. Variables marked *environment only* have no flag."
    )
    yield ""
    yield "| variable | default | flag | commands | what it sets |"
    yield "|---|---|---|---|---|"
    defaults = Settings()
    types = field_types()
    for f in setting_fields():
        env = ENV_PREFIX + f.name.upper()
        default = getattr(defaults, f.name)
        shown = "none" if f.name in SECRET_FIELDS else shown_default(default)
        spec = REGISTRY.get(f.name)
        if spec is None:
            flag, users, text = "*environment only*", "any", ENV_ONLY.get(f.name, "")
        else:
            flag = f"`{spec.option}`"
            users = ", ".join(n for n in commands if f.name in COMMANDS[n].settings) or "none"
            text = spec.help
        kind = types.get(f.name, "")
        yield f"| `{env}` | `{shown}` ({kind}) | {flag} | {users} | {_cell(text)} |"
    yield ""
    yield (
        "Outside the settings: the developer entry point `./dev` reads `STREAMREC_TORCH` (`cpu`: "
        "torch from PyTorch's CPU-only wheel index), `STREAMREC_VENV` (the virtual "
        "environment's folder, default `.venv`) and `STREAMREC_SITE_DIR` (where `./dev docs "
        "build` writes the site, default `site`) and `STREAMREC_TEST_WORKERS` (pytest-xdist "
        "workers of `./dev test`, default 2; 0: one process); the test suite reads "
        "`STREAMREC_TEST_KAFKA_BOOTSTRAP` and `STREAMREC_TEST_REDIS_URL` (servers to run the "
        "integration tests against instead of starting its own)."
    )
    yield ""


def metric_docs() -> list[MetricDoc]:
    """Every metric family the consumer and the learner export, in declaration order."""
    from prometheus_client.metrics import MetricWrapperBase

    from streamrec.consumer.telemetry import BatchHistogram, ConsumerMetrics
    from streamrec.learner.telemetry import LearnerMetrics

    found: list[MetricDoc] = []
    for exporter, owner in (("consume", ConsumerMetrics()), ("learn", LearnerMetrics())):
        for value in vars(owner).values():
            if isinstance(value, BatchHistogram):
                found.append(MetricDoc(value.name, "histogram", (), value.documentation, exporter))
            elif isinstance(value, MetricWrapperBase):
                kind = str(value._type)
                name = value._name + ("_total" if kind == "counter" else "")
                labels = tuple(value._labelnames)
                found.append(MetricDoc(name, kind, labels, value._documentation, exporter))
    return found


def _metrics_section() -> Iterator[str]:
    yield "## Prometheus metrics"
    yield ""
    yield (
        "Served on `/metrics` at `--metrics-host:--metrics-port` by `streamrec consume` "
        "(default 127.0.0.1:9400) and `streamrec learn`. Histograms also expose `_bucket` "
        "(with `le`), `_sum` and `_count` series."
    )
    yield ""
    yield "| metric | type | labels | exported by | help |"
    yield "|---|---|---|---|---|"
    for m in metric_docs():
        labels = ", ".join(f"`{label}`" for label in m.labels) or ""
        yield f"| `{m.name}` | {m.kind} | {labels} | `{m.exporter}` | {_cell(m.help)} |"
    yield ""


def recording_rules(text: str) -> list[tuple[str, str, str]]:
    """(group, record, expr) of every recording rule in a rules file."""
    rules: list[tuple[str, str, str]] = []
    group = ""
    record = ""
    for line in text.splitlines():
        stripped = line.strip()
        if m := re.match(r"- name:\s*(\S+)", stripped):
            group = m.group(1)
        elif m := re.match(r"- record:\s*(\S+)", stripped):
            record = m.group(1)
        elif (m := re.match(r"expr:\s*(.+)", stripped)) and record:
            rules.append((group, record, m.group(1)))
            record = ""
    return rules


def _rules_section() -> Iterator[str]:
    yield "## Recording rules"
    yield ""
    yield (
        "Evaluated by Prometheus from `infra/prometheus/rules.yml` (the compose stack's and the "
        "embedded Prometheus's; `*:rate1m` over the last minute, `*:cumulative` since the "
        "consumers started)."
    )
    yield ""
    yield "| group | record | expression |"
    yield "|---|---|---|"
    for group, record, expr in recording_rules(RULES.read_text()):
        yield f"| {group} | `{record}` | {_code_cell(expr)} |"
    yield ""


def render() -> str:
    """The whole reference page as the code defines it now."""
    parser = build_parser(Settings())
    commands = _subparsers(parser)
    lines = [
        "# Reference",
        "",
        "<!-- Generated from the code; do not edit. Regenerate: "
        f"{REGENERATE}; tests/unit/cli/test_reference.py fails when it is stale. -->",
        "",
        " ".join(DESCRIPTION.split()),
        "",
        "Every command, flag and default (as `--help` shows them with no `STREAMREC_*` variable "
        "set), every environment variable, the exit statuses, and every Prometheus metric and "
        "recording rule.",
        "",
        "## Commands",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    lines += [f"| [`{n}`](#streamrec-{n}) | {_cell(COMMANDS[n].help)} |" for n in commands]
    lines += ["", "`streamrec --version` prints the version; `streamrec COMMAND --help` this.", ""]
    for name, sub in commands.items():
        lines += list(_command_section(name, sub))
    lines += list(_env_section(commands))
    lines += ["## Exit statuses", "", "| status | meaning |", "|---|---|"]
    lines += [f"| {code} | {_cell(meaning)} |" for code, meaning in STATUSES]
    lines.append("")
    lines += list(_metrics_section())
    lines += list(_rules_section())
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the page, or with ``--check`` say whether it is current (exit 1 if not)."""
    cli = argparse.ArgumentParser(prog="python -m streamrec.cli.reference", description=__doc__)
    cli.add_argument("--check", action="store_true", help="compare, do not write")
    cli.add_argument("--out", type=Path, default=PAGE, help=f"default: {PAGE}")
    args = cli.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current == text:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), text.splitlines(), str(args.out), "generated", lineterm=""
        )
        print("\n".join(list(diff)[:40]), file=sys.stderr)
        print(f"{args.out} is stale; regenerate it: {REGENERATE}", file=sys.stderr)
        return 1
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
