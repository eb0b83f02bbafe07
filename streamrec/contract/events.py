"""The click event contract: encoding, and a decoder that validates everything.

``{"v": 1, "session_id": str, "seq": int >= 0, "item_id": int, "ts": float, "behavior": str?}``
as one JSON object per Kafka message keyed by ``session_id``. ``decode_event`` returns a
``ClickEvent`` or raises ``EventError`` whose ``reason`` is a short machine-readable code (the
DLQ records it); it never raises anything else.

Decoding is on the consumer's per-event path, so a valid event takes a fast path: orjson
parses it and a few exact type and range checks accept it. Anything that path does not accept
goes through the reference decoder (the standard library's parser and one check per rule), so
every rejected event gets the reason and detail it always got, and the fast path can only
accept what the reference decoder accepts (a test holds the two equal on arbitrary input).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import orjson

SCHEMA_VERSION = 1
MAX_SESSION_ID_LEN = 256
MAX_SEQ = 10**9
MAX_ITEM_ID = 2**53
BEHAVIORS: tuple[str, ...] = ("explorer", "deep_dive", "comparison")  # session labels
_FIELDS = {"v", "session_id", "seq", "item_id", "ts", "behavior"}
_REQUIRED = {"v", "session_id", "seq", "item_id", "ts"}
_BEHAVIOR_SET = frozenset(BEHAVIORS)
_MAX_FINITE = 1.7976931348623157e308  # the largest finite float


class EventError(ValueError):
    """An event that cannot be applied; ``reason`` is a short code, the message says more."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class ClickEvent:
    """One click of one session."""

    session_id: str
    seq: int
    item_id: int
    ts: float
    behavior: str | None = None

    def encode(self) -> bytes:
        """JSON bytes of the contract."""
        body: dict[str, object] = {
            "v": SCHEMA_VERSION,
            "session_id": self.session_id,
            "seq": self.seq,
            "item_id": self.item_id,
            "ts": self.ts,
        }
        if self.behavior is not None:
            body["behavior"] = self.behavior
        return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode_event(raw: bytes | None, max_bytes: int = 65_536) -> ClickEvent:
    """Parse and validate one message value; raise ``EventError`` with a reason code."""
    if raw is None or len(raw) > max_bytes:
        return decode_event_reference(raw, max_bytes)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None  # the reference decoder says why (or accepts what only it parses)
    event = _accept(body) if type(body) is dict else None
    return event if event is not None else decode_event_reference(raw, max_bytes)


def _accept(body: dict[str, object]) -> ClickEvent | None:
    """The event if ``body`` is a valid one, else None (without saying why).

    Exact types: orjson makes only ``int``, ``float``, ``str``, ``bool``, ``None``, lists and
    dicts, so ``type(x) is int`` is the reference's "int and not bool"; it never makes NaN or
    infinities (it refuses them), and turns integers beyond 64 bits into floats, which every
    integer field refuses here as the reference does.
    """
    n = len(body)
    if n == 6:
        if "behavior" not in body:
            return None
    elif n != 5:
        return None
    try:
        v, sid, seq = body["v"], body["session_id"], body["seq"]
        item, ts = body["item_id"], body["ts"]
    except KeyError:
        return None
    behavior = body.get("behavior")
    if not (
        type(v) is int
        and v == SCHEMA_VERSION
        and type(sid) is str
        and 0 < len(sid) <= MAX_SESSION_ID_LEN
        and type(seq) is int
        and 0 <= seq <= MAX_SEQ
        and type(item) is int
        and 0 <= item <= MAX_ITEM_ID
        and (behavior is None or (type(behavior) is str and behavior in _BEHAVIOR_SET))
    ):
        return None
    if type(ts) is float:
        if not 0.0 <= ts <= _MAX_FINITE:
            return None
    elif type(ts) is int:
        if not 0 <= ts <= _MAX_FINITE:
            return None
        ts = float(ts)
    else:
        return None
    return ClickEvent(session_id=sid, seq=seq, item_id=item, ts=ts, behavior=behavior)


def decode_event_reference(raw: bytes | None, max_bytes: int = 65_536) -> ClickEvent:
    """The reference decoder: the standard library's parser and one check per rule, each
    with its reason code. ``decode_event`` agrees with it on every input."""
    if raw is None:
        raise EventError("empty", "message has no value")
    if len(raw) > max_bytes:
        raise EventError("oversized", f"{len(raw)} bytes > limit {max_bytes}")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, int limits
        raise EventError("malformed_json", str(exc)[:200]) from None
    if not isinstance(body, dict):
        raise EventError("not_an_object", f"top-level JSON is {type(body).__name__}")
    missing = _REQUIRED - body.keys()
    if missing:
        raise EventError("missing_field", ", ".join(sorted(missing)))
    extra = body.keys() - _FIELDS
    if extra:
        raise EventError("unknown_field", ", ".join(sorted(str(k) for k in extra))[:200])
    if body["v"] != SCHEMA_VERSION or not _is_int(body["v"]):
        raise EventError("bad_version", f"v={body['v']!r}, expected {SCHEMA_VERSION}")
    sid = body["session_id"]
    if not isinstance(sid, str) or not sid or len(sid) > MAX_SESSION_ID_LEN:
        raise EventError("bad_session_id", f"need a non-empty string of <= {MAX_SESSION_ID_LEN}")
    if not _utf8(sid):  # a lone surrogate (JSON "\\ud800"): no Kafka key or Redis key has it
        raise EventError("bad_session_id", "not valid Unicode (a lone surrogate)")
    seq = body["seq"]
    if not _is_int(seq) or not 0 <= seq <= MAX_SEQ:
        raise EventError("bad_seq", f"seq={seq!r} must be an integer in 0..{MAX_SEQ}")
    item = body["item_id"]
    if not _is_int(item) or not 0 <= item <= MAX_ITEM_ID:
        raise EventError("bad_item_id", f"item_id={item!r} must be an integer in 0..2^53")
    ts = body["ts"]
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not _finite(ts) or ts < 0:
        raise EventError("bad_ts", f"ts={ts!r} must be a finite unix time in seconds")
    behavior = body.get("behavior")
    if behavior is not None and behavior not in BEHAVIORS:
        raise EventError("bad_behavior", f"behavior={str(behavior)[:50]!r}")
    return ClickEvent(session_id=sid, seq=seq, item_id=item, ts=float(ts), behavior=behavior)


def _finite(value: int | float) -> bool:
    """Finite as a float (an integer too large for a float is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
