"""The event decoder returns an event or raises EventError, whatever the bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamrec.contract.events import ClickEvent, EventError, decode_event

GOOD = {"v": 1, "session_id": "s-1", "seq": 3, "item_id": 42, "ts": 1.7e9, "behavior": "explorer"}


def raw(**changes: object) -> bytes:
    body = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            body.pop(key)
        else:
            body[key] = value
    return json.dumps(body).encode()


def test_round_trip() -> None:
    event = ClickEvent("abc", 0, 7, 123.5, None)
    assert decode_event(event.encode()) == event
    assert decode_event(raw()) == ClickEvent("s-1", 3, 42, 1.7e9, "explorer")


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"{not json", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[1, 2]", "not_an_object"),
        (raw(seq=...), "missing_field"),
        (raw(extra=1), "unknown_field"),
        (raw(v=2), "bad_version"),
        (raw(session_id=""), "bad_session_id"),
        (raw(session_id=5), "bad_session_id"),
        (raw(seq=-1), "bad_seq"),
        (raw(seq=True), "bad_seq"),
        (raw(seq=1.5), "bad_seq"),
        (raw(item_id=-4), "bad_item_id"),
        (raw(item_id=10**30), "bad_item_id"),
        (raw(item_id="7"), "bad_item_id"),
        (raw(ts="now"), "bad_ts"),
        (b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":NaN}', "bad_ts"),
        (raw(behavior="shopper"), "bad_behavior"),
        (b"1" * 5000, "malformed_json"),  # int beyond Python's digit limit
        (None, "empty"),
    ],
)
def test_bad_events_have_a_reason(payload: bytes | None, reason: str) -> None:
    with pytest.raises(EventError) as exc:
        decode_event(payload)
    assert exc.value.reason == reason


def test_oversized_messages_are_refused() -> None:
    big = raw(session_id="x" * 200)
    with pytest.raises(EventError) as exc:
        decode_event(big, max_bytes=100)
    assert exc.value.reason == "oversized"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_event_error(data: bytes) -> None:
    try:
        event = decode_event(data)
    except EventError:
        return
    assert isinstance(event, ClickEvent)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*sorted(GOOD), "x"]), json_values, max_size=7))
def test_arbitrary_json_objects_decode_or_raise_event_error(body: dict[str, object]) -> None:
    try:
        event = decode_event(json.dumps(body).encode())
    except EventError:
        return
    assert event.seq >= 0 and event.item_id >= 0 and event.session_id
