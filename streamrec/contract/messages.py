"""What a consumer writes to Kafka: recommendations and dead-letter records.

Recommendations go to the ``recommendations`` topic, keyed by ``session_id``, one JSON object
per applied event::

    {"session_id": str, "seq": int, "items": [int, ...], "scores": [float, ...],
     "model_version": str, "ts": float}

``items`` are the event-side item ids, best first, with their ``scores`` (rounded to 6
decimals); ``ts`` is when the consumer produced it (unix seconds). The bytes are compact JSON
(no spaces) written by orjson.

Dead-letter records go to ``clicks.dlq`` with the rejected message's key and value unchanged
and three headers: ``reason`` (a short code: ``EventError.reason`` or ``seq_gap``),
``detail`` (one readable line, at most ``MAX_DETAIL_CHARS``) and ``source``
(``topic/partition/offset`` of the rejected message).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import orjson

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


MESSAGE_SCORE_DECIMALS = 6
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def json_rows(values: np.ndarray) -> list[bytes]:
    """Each row of a 2-D array of finite numbers as a JSON array, from one orjson call for the
    whole array (the consumer writes several arrays per event; one call per row cost more).

    Floats are written as the shortest text that reads back as the same value of the array's
    dtype: float32 scores stay exactly float32, so stored order and ties survive the round trip
    and online ranks do not change. Raises ``ValueError`` for NaN or infinities (orjson would
    write them as null).
    """
    if values.ndim != 2:
        raise ValueError(f"need a 2-D array, got {values.ndim} dimensions")
    n_rows, n_cols = values.shape
    if n_rows == 0:
        return []
    if n_cols == 0:
        return [b"[]"] * n_rows
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ValueError("scores must be finite")
    blob = orjson.dumps(np.ascontiguousarray(values), option=_NUMPY)
    # b"[[1,2],[3,4]]": numbers and commas only inside the rows, so "],[" separates rows
    return [b"[" + row + b"]" for row in blob[2:-2].split(b"],[")]


def json_array(values: Sequence[int] | Sequence[float] | np.ndarray) -> bytes:
    """JSON array of numbers: a list (a session's window) or a 1-D numpy array."""
    return orjson.dumps(values, option=_NUMPY)


def message_scores(scores: np.ndarray) -> np.ndarray:
    """Scores as recommendation messages carry them: float64 rounded to 6 decimals."""
    return np.round(scores.astype(np.float64), MESSAGE_SCORE_DECIMALS)


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
    (items_json,) = json_rows(np.asarray([items], dtype=np.int64))
    (scores_json,) = json_rows(message_scores(np.asarray([scores], dtype=np.float64)))
    body = encode_recommendation_json(session_id, seq, items_json, scores_json, model_version, ts)
    return body.decode()


def encode_recommendation_json(
    session_id: str,
    seq: int,
    items_json: bytes,
    scores_json: bytes,
    model_version: str,
    ts: float,
) -> bytes:
    """``encode_recommendation`` with the items and scores already JSON arrays (a batch's
    rows come from ``json_rows`` of ``message_scores``, in one call per batch)."""
    return orjson.dumps(
        {
            "session_id": session_id,
            "seq": seq,
            "items": orjson.Fragment(items_json),
            "scores": orjson.Fragment(scores_json),
            "model_version": model_version,
            "ts": ts,
        }
    )


def decode_recommendation(raw: bytes | str) -> Recommendation:
    """Parse a recommendation message (``ValueError``/``KeyError`` if it is not one)."""
    body = orjson.loads(raw)
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
