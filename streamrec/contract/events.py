"""The click event contract: encoding, and a decoder that validates everything.

``{"v": 1, "session_id": str, "seq": int >= 0, "item_id": int, "ts": float, "behavior": str?}``
as one JSON object per Kafka message keyed by ``session_id``. ``decode_event`` returns a
``ClickEvent`` or raises ``EventError`` whose ``reason`` is a short machine-readable code (the
DLQ records it); it never raises anything else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

SCHEMA_VERSION = 1
MAX_SESSION_ID_LEN = 256
MAX_SEQ = 10**9
MAX_ITEM_ID = 2**53
BEHAVIORS: tuple[str, ...] = ("explorer", "deep_dive", "comparison")  # session labels
_FIELDS = {"v", "session_id", "seq", "item_id", "ts", "behavior"}
_REQUIRED = {"v", "session_id", "seq", "item_id", "ts"}


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
    seq = body["seq"]
    if not _is_int(seq) or not 0 <= seq <= MAX_SEQ:
        raise EventError("bad_seq", f"seq={seq!r} must be an integer in 0..{MAX_SEQ}")
    item = body["item_id"]
    if not _is_int(item) or not 0 <= item <= MAX_ITEM_ID:
        raise EventError("bad_item_id", f"item_id={item!r} must be an integer in 0..2^53")
    ts = body["ts"]
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not math.isfinite(ts) or ts < 0:
        raise EventError("bad_ts", f"ts={ts!r} must be a finite unix time in seconds")
    behavior = body.get("behavior")
    if behavior is not None and behavior not in BEHAVIORS:
        raise EventError("bad_behavior", f"behavior={str(behavior)[:50]!r}")
    return ClickEvent(session_id=sid, seq=seq, item_id=item, ts=float(ts), behavior=behavior)
