"""Exit statuses of ``streamrec``, and which failure ends in which."""

from __future__ import annotations

from streamrec.config import ConfigError

EXIT_OK = 0
EXIT_FAILED = 1  # the work failed: undelivered events, a consumer crashed, a step broke
EXIT_USAGE = 2  # bad flags or settings, a file, folder or port given that is not usable
EXIT_NOT_RUNNING = 3  # `services status`: not every server runs
EXIT_UNREACHABLE = 4  # a server could not be reached in time
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_BROKEN_PIPE = 141  # stdout closed early, e.g. `| head` (128 + SIGPIPE, as a shell shows)

STATUSES = (
    (EXIT_OK, "ok"),
    (EXIT_FAILED, "the work failed (e.g. undelivered events, a consumer crashed)"),
    (EXIT_USAGE, "usage or configuration error (flags, settings, a file or port given)"),
    (EXIT_NOT_RUNNING, "`services status`: not every server runs"),
    (EXIT_UNREACHABLE, "a server could not be reached"),
    (EXIT_INTERRUPTED, "interrupted"),
    (EXIT_BROKEN_PIPE, "stdout was closed early (e.g. piped into head); quietly, as Unix tools do"),
)
EPILOG = "exit status: " + "; ".join(f"{code} {meaning}" for code, meaning in STATUSES) + "."


def exit_status_table() -> str:
    """The exit statuses, one per line, for the top-level help."""
    return "exit status:\n" + "\n".join(f"  {code:<4d} {meaning}" for code, meaning in STATUSES)


class UsageError(Exception):
    """A command was asked for something it cannot do as given; one line, exit status 2."""


def file_error(exc: BaseException) -> bool:
    """A path given that cannot be read or written (missing folder, no permission, ...)."""
    return isinstance(exc, OSError) and not isinstance(exc, ConnectionError) and bool(exc.filename)


def error_message(exc: BaseException) -> str:
    """The one line an exception ends ``streamrec`` with (``path: reason`` for a file)."""
    if file_error(exc):
        assert isinstance(exc, OSError)
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def exit_status(exc: BaseException) -> int | None:
    """The exit status ``exc`` ends ``streamrec`` with, or None for a bug (show the traceback).

    A started server that did not answer in time is unreachable; other ``ServiceError``s (a
    port in use, a server that exited at start-up) mean the work failed. A file or folder
    that cannot be opened or made (an ``OSError`` naming it) is a usage error.
    """
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    # imported here, not at the top: the parser and --help must not load the server clients
    from streamrec.clients import UnreachableError
    from streamrec.pipeline.servers import ServiceUnreachable

    if isinstance(exc, UnreachableError | ConnectionError | ServiceUnreachable):
        return EXIT_UNREACHABLE
    # CheckpointError and the click-log loader's errors are ValueErrors about what was given
    if isinstance(exc, UsageError | ConfigError | ValueError) or file_error(exc):
        return EXIT_USAGE
    if isinstance(exc, RuntimeError):
        return EXIT_FAILED
    return None
