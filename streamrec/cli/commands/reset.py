"""``reset``: delete the namespace's topics and Redis state, after one confirmation."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from streamrec.cli import render
from streamrec.cli.exits import EXIT_FAILED, EXIT_OK, UsageError
from streamrec.config import Settings

NEEDS_YES = (
    "reset asks before deleting, but stdin is not a terminal; pass --yes to delete without asking"
)
YES = ("y", "yes")


def confirmed(question: str, stdin: TextIO, prompt_to: TextIO) -> bool:
    """Ask ``question`` (y/N) once; only a ``y`` or ``yes`` line is a yes."""
    print(f"{question} [y/N] ", end="", file=prompt_to, flush=True)
    answer = stdin.readline()
    if not answer.endswith("\n"):  # end of input: the question stays on its own line
        print(file=prompt_to)
    return answer.strip().lower() in YES


def reset(args: argparse.Namespace, settings: Settings) -> int:
    """Delete the namespace's topics and Redis keys; 1 when the question was answered no,
    2 when it could not be asked (stdin not a terminal) and --yes was not given."""
    from streamrec.clients import wait_for_kafka, wait_for_redis
    from streamrec.contract.names import Names
    from streamrec.namespace_data import NamespaceData, delete_keys, delete_topics, survey

    names = Names(settings.namespace)
    admin = wait_for_kafka(settings, on_wait=render.notice)
    client = wait_for_redis(settings, on_wait=render.notice)
    where = (
        f"{render.namespace_label(settings.namespace)} (Kafka {settings.kafka_bootstrap}, "
        f"Redis {settings.redis_url})"
    )
    found = survey(admin, client, names)
    if found.empty:
        print(f"nothing to delete in {where}: no topics, no Redis keys")
        return EXIT_OK
    print(f"in {where}:")
    print(f"  {found.describe_topics()}")
    print(f"  {found.describe_keys()}")
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(NEEDS_YES)
        if not confirmed("delete them?", sys.stdin, sys.stderr):
            print("nothing deleted")
            return EXIT_FAILED
    topics = delete_topics(admin, names)
    keys = delete_keys(client, names)
    gone = NamespaceData(topics, keys)
    print(f"deleted {gone.describe_topics()} and {gone.describe_keys()}")
    return EXIT_OK
