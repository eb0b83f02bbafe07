"""What a consumer writes to Kafka: recommendations and dead-letter records.

Recommendations go to the ``recommendations`` topic, keyed by ``session_id``, one JSON object
per applied event::

    {"session_id": str, "seq": int, "items": [int, ...], "scores": [float, ...],
     "model_version": str, "ts": float}

``items`` are the event-side item ids, best first, with their ``scores`` (6 decimals); ``ts``
is when the consumer produced it (unix seconds).

Dead-letter records go to ``clicks.dlq`` with the rejected message's key and value unchanged
and three headers: ``reason`` (a short code: ``EventError.reason`` or ``seq_gap``),
``detail`` (one readable line, at most ``MAX_DETAIL_CHARS``) and ``source``
(``topic/partition/offset`` of the rejected message).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

REASON_HEADER = "reason"
DETAIL_HEADER = "detail"
SOURCE_HEADER = "source"
MAX_DETAIL_CHARS = 500
# The reason the consumer finds after decoding (the decoder's own are EventError reasons).
# A click on an item outside the served catalog is valid: it is counted as unknown_item and
# advances its session, it is not dead-lettered.
SEQ_GAP = "seq_gap"

HeaderValue = str | bytes | None
Headers = list[tuple[str, HeaderValue]]


@functools.lru_cache(maxsize=128)
def _array_format(item: str, n: int) -> str:
    return "[" + ",".join([item] * n) + "]"


def json_ints(values: Sequence[int]) -> str:
    """JSON array of ints (one C-level format call: the consumer writes several per event)."""
    return _array_format("%d", len(values)) % tuple(values)


def json_floats(values: Sequence[float], item_format: str = "%.9g") -> str:
    """JSON array of finite floats. The default keeps 9 significant digits, which is exact for
    float32 scores: order and ties survive the round trip, so online ranks do not change."""
    return _array_format(item_format, len(values)) % tuple(values)


@functools.lru_cache(maxsize=16)
def _json_string(value: str) -> str:
    return json.dumps(value)


@dataclass(frozen=True)
class Recommendation:
    """One decoded recommendation message."""

    session_id: str
    seq: int
    items: tuple[int, ...]
    scores: tuple[float, ...]
    model_version: str
    ts: float


def encode_recommendation(
    session_id: str,
    seq: int,
    items: Sequence[int],
    scores: Sequence[float],
    model_version: str,
    ts: float,
) -> str:
    """The recommendation message for one applied event (``items`` are event-side ids)."""
    # Built by hand: json.dumps of a dict was a tenth of the consumer's time.
    return (
        f'{{"session_id": {json.dumps(session_id)}, "seq": {seq}, '
        f'"items": {json_ints(items)}, "scores": {json_floats(scores, "%.6f")}, '
        f'"model_version": {_json_string(model_version)}, "ts": {ts!r}}}'
    )


def decode_recommendation(raw: bytes | str) -> Recommendation:
    """Parse a recommendation message (``ValueError``/``KeyError`` if it is not one)."""
    body = json.loads(raw)
    return Recommendation(
        session_id=str(body["session_id"]),
        seq=int(body["seq"]),
        items=tuple(int(x) for x in body["items"]),
        scores=tuple(float(x) for x in body["scores"]),
        model_version=str(body["model_version"]),
        ts=float(body["ts"]),
    )


@dataclass(frozen=True)
class DeadLetter:
    """The headers of one dead-letter record, decoded."""

    reason: str
    detail: str
    source: str


def dlq_source(topic: str | None, partition: int | None, offset: int | None) -> str:
    """Where a rejected message came from: ``topic/partition/offset``."""
    return f"{topic}/{partition}/{offset}"


def dlq_headers(reason: str, detail: str, source: str) -> Headers:
    """Headers of a dead-letter record (``detail`` is cut to ``MAX_DETAIL_CHARS``)."""
    return [
        (REASON_HEADER, reason.encode()),
        (DETAIL_HEADER, detail[:MAX_DETAIL_CHARS].encode("utf-8", "replace")),
        (SOURCE_HEADER, source.encode()),
    ]


def decode_dlq_headers(
    headers: Sequence[tuple[str, HeaderValue]] | Mapping[str, HeaderValue] | None,
) -> DeadLetter:
    """Read the contract's headers of a dead-letter record (missing ones are empty)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or []
    values: dict[str, str] = {}
    for name, value in pairs:
        raw = value if value is not None else b""
        values[name] = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return DeadLetter(
        reason=values.get(REASON_HEADER, ""),
        detail=values.get(DETAIL_HEADER, ""),
        source=values.get(SOURCE_HEADER, ""),
    )
