"""Lua scripts called by EVALSHA in one pipelined round trip, on one Redis or a Redis Cluster.

redis-py's ``Script`` loads a missing script only for a plain Redis pipeline; its cluster
pipeline refuses ``evalsha`` outright. ``PipelinedScript`` queues ``EVALSHA`` as a raw
command instead, which both pipelines accept: the cluster pipeline routes each call to the
master of its keys' slot (all KEYS of one call must share a slot, which redis-py checks
before sending) and groups the calls by node. A node that does not know the script (never
loaded, restarted, failed over) answers NOSCRIPT for the calls it got and ran none of them:
the script is then loaded on every master (``SCRIPT LOAD`` goes to all primaries on a
cluster) and only those calls are sent again, so no call runs twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError

from streamrec.clients import RedisClient

ScriptCall = tuple[Sequence[str], Sequence[str | bytes | int]]
"""The KEYS and ARGV of one script call."""

NOSCRIPT_RELOADS = 2  # loads tried before a NOSCRIPT answer is raised


class PipelinedScript:
    """A Lua script whose calls are sent in one pipeline per ``run``."""

    def __init__(self, client: RedisClient, source: str) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()

    def run(self, calls: Sequence[ScriptCall]) -> list[Any]:
        """Every call's result, in order, in one round trip (one more per NOSCRIPT answer).

        Raises the first error any call answered, as a non-pipelined call would.
        """
        results: list[Any] = [None] * len(calls)
        pending = list(range(len(calls)))
        for attempt in range(NOSCRIPT_RELOADS + 1):
            pipe = self.client.pipeline(transaction=False)
            for index in pending:
                keys, args = calls[index]
                pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
            answers = pipe.execute(raise_on_error=False) if pending else []
            missing = []
            for index, answer in zip(pending, answers, strict=True):
                results[index] = answer
                if isinstance(answer, NoScriptError):
                    missing.append(index)
            if not missing or attempt == NOSCRIPT_RELOADS:
                break
            self.client.script_load(self.source)
            pending = missing
        for answer in results:
            if isinstance(answer, Exception):
                raise answer
        return results
