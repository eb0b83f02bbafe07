"""Exit statuses of ``streamrec``, and which failure ends in which."""

from __future__ import annotations

from streamrec.config import ConfigError

EXIT_OK = 0
EXIT_FAILED = 1  # the work failed: undelivered events, a consumer crashed, a step broke
EXIT_USAGE = 2  # bad flags or settings, a checkpoint or input file that is not usable
EXIT_NOT_RUNNING = 3  # `services status`: not every server runs
EXIT_UNREACHABLE = 4  # a server could not be reached in time
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)

STATUSES = (
    (EXIT_OK, "ok"),
    (EXIT_FAILED, "the work failed (e.g. undelivered events, a consumer crashed)"),
    (EXIT_USAGE, "usage or configuration error (flags, settings, checkpoint path)"),
    (EXIT_NOT_RUNNING, "`services status`: not every server runs"),
    (EXIT_UNREACHABLE, "a server could not be reached"),
    (EXIT_INTERRUPTED, "interrupted"),
)
EPILOG = "exit status: " + "; ".join(f"{code} {meaning}" for code, meaning in STATUSES) + "."


def exit_status_table() -> str:
    """The exit statuses, one per line, for the top-level help."""
    return "exit status:\n" + "\n".join(f"  {code:<4d} {meaning}" for code, meaning in STATUSES)


class UsageError(Exception):
    """A command was asked for something it cannot do as given; one line, exit status 2."""


def exit_status(exc: BaseException) -> int | None:
    """The exit status ``exc`` ends ``streamrec`` with, or None for a bug (show the traceback).

    A started server that did not answer in time is unreachable; other ``ServiceError``s (a
    port in use, a server that exited at start-up) mean the work failed.
    """
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    # imported here, not at the top: the parser and --help must not load the server clients
    from streamrec.clients import UnreachableError
    from streamrec.pipeline.servers import ServiceUnreachable

    if isinstance(exc, UnreachableError | ConnectionError | ServiceUnreachable):
        return EXIT_UNREACHABLE
    # CheckpointError and the click-log loader's errors are ValueErrors about what was given
    if isinstance(exc, UsageError | ConfigError | ValueError):
        return EXIT_USAGE
    if isinstance(exc, RuntimeError):
        return EXIT_FAILED
    return None
