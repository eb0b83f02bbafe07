"""``streamrec``: one command with subcommands.

Modules: ``parser`` (the commands and the settings each takes), ``flags`` (the settings
flags, declared once), ``run_flags`` and ``validators`` (per-run flags and their bounds),
``commands`` (one handler per command), ``render`` (what is printed) and ``exits`` (exit
statuses).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from streamrec.cli import render
from streamrec.cli.commands import HANDLERS
from streamrec.cli.exits import EXIT_USAGE, exit_status
from streamrec.cli.flags import settings_from_args
from streamrec.cli.parser import COMMANDS, build_parser
from streamrec.config import ConfigError, settings_from_env

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamrec`` console script; returns the exit status.

    Usage errors from argparse (and ``--help``/``--version``) raise ``SystemExit``.
    """
    try:
        defaults = settings_from_env()
    except ConfigError as exc:
        render.error(str(exc))
        return EXIT_USAGE
    args = build_parser(defaults).parse_args(argv)
    try:
        settings = settings_from_args(args, defaults, COMMANDS[args.command].settings)
        return HANDLERS[args.command](args, settings)
    except (Exception, KeyboardInterrupt) as exc:
        status = exit_status(exc)
        if status is None:
            raise
        if isinstance(exc, KeyboardInterrupt):
            print("streamrec: interrupted", file=sys.stderr)
        else:
            render.error(str(exc))
        return status
