"""``streamrec``: one command with subcommands.

Modules: ``parser`` (the commands and the settings each takes), ``flags`` (the settings
flags, declared once), ``run_flags`` and ``validators`` (per-run flags and their bounds),
``commands`` (one handler per command), ``render`` (what is printed) and ``exits`` (exit
statuses).
"""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Sequence

from streamrec.cli import render
from streamrec.cli.commands import HANDLERS
from streamrec.cli.exits import EXIT_BROKEN_PIPE, EXIT_USAGE, error_message, exit_status
from streamrec.cli.flags import settings_from_args
from streamrec.cli.parser import COMMANDS, build_parser
from streamrec.config import ConfigError, settings_from_env

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``streamrec`` console script; returns the exit status.

    Usage errors from argparse (and ``--help``/``--version``) raise ``SystemExit``. A reader
    that closes stdout early (``streamrec report | head -1``) ends the command quietly with
    ``EXIT_BROKEN_PIPE``, as a Unix tool killed by SIGPIPE would.
    """
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # here, where a closed pipe can still be caught
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush at exit finds no closed
    pipe to complain about ("Exception ignored ... BrokenPipeError")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a stream with no descriptor
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _stdout_closed() -> bool:
    """Whether stdout is a pipe or socket whose reader has gone (poll says POLLERR/POLLHUP)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        events = poller.poll(0)
    except (AttributeError, OSError, ValueError):
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events)


def _run(argv: Sequence[str] | None) -> int:
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
        if isinstance(exc, BrokenPipeError) and _stdout_closed():
            raise  # the reader left: not a server's fault (a ConnectionError all the same)
        status = exit_status(exc)
        if status is None:
            raise
        if isinstance(exc, KeyboardInterrupt):
            print("streamrec: interrupted", file=sys.stderr)
        else:
            render.error(error_message(exc))
        return status
