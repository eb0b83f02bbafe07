"""The fast event decoder (orjson) agrees with the reference decoder (the standard library)
on every input: the same event, or the same reason and detail."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamrec.contract.events import (
    MAX_ITEM_ID,
    MAX_SEQ,
    ClickEvent,
    EventError,
    decode_event,
    decode_event_reference,
)

Outcome = tuple[str, object]


def outcome(decoder: object, raw: bytes | None) -> Outcome:
    try:
        return ("event", decoder(raw))  # type: ignore[operator]
    except EventError as exc:
        return ("error", (exc.reason, str(exc)))


def assert_agree(raw: bytes | None) -> Outcome:
    fast, reference = outcome(decode_event, raw), outcome(decode_event_reference, raw)
    assert fast == reference
    return fast


# values at and beyond each field's limits, and of the wrong types
edge_values = st.sampled_from(
    [
        0, 1, -1, 2, MAX_SEQ, MAX_SEQ + 1, MAX_ITEM_ID, MAX_ITEM_ID + 1, 2**63, 2**64, 10**30,
        True, False, None, 0.0, -0.0, 1.0, 1.5, 1.7e9, -1e-300, 1e308, "", "s", "x" * 256,
        "x" * 257, "é", "explorer", "deep_dive", "comparison", "shopper", [], {}, [1], {"a": 1},
    ]
)  # fmt: skip
fields = st.sampled_from(["v", "session_id", "seq", "item_id", "ts", "behavior", "extra"])
GOOD = {"v": 1, "session_id": "s-1", "seq": 3, "item_id": 42, "ts": 1.7e9}


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(fields, edge_values, max_size=7), st.booleans())
def test_agree_on_objects_near_the_limits(changes: dict[str, object], start_good: bool) -> None:
    body = {**GOOD, **changes} if start_good else changes
    assert_agree(json.dumps(body).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_agree_on_arbitrary_bytes(data: bytes) -> None:
    assert_agree(data)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":NaN}',
        b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":Infinity}',
        b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":1e999}',
        b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":-1e999}',
        b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":1' + b"0" * 400 + b"}",
        b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":1' + b"0" * 25 + b"}",
        b'{"v":1,"session_id":"a","seq":1' + b"0" * 25 + b',"item_id":1,"ts":1}',
        b'{"v":1,"session_id":"\\ud800","seq":0,"item_id":1,"ts":1}',
        b'{"v":1,"session_id":"\\ud83d\\ude00","seq":0,"item_id":1,"ts":1}',
        b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":1,"seq":5}',
        b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":1,"behavior":null}',
        b'\xef\xbb\xbf{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":1}',
        b'  {"v":1,"session_id":"a","seq":0,"item_id":1,"ts":1}\n',
        b'{"v":1.0,"session_id":"a","seq":0,"item_id":1,"ts":1}',
        b'{"v":1,"session_id":"\xff","seq":0,"item_id":1,"ts":1}',
        b"",
        None,
    ],
)
def test_agree_on_what_parsers_differ_on(raw: bytes | None) -> None:
    assert_agree(raw)


def test_huge_integer_timestamp_is_a_bad_ts_not_a_crash() -> None:
    # the reference decoder used to let OverflowError escape here
    raw = b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":1' + b"0" * 400 + b"}"
    with pytest.raises(EventError) as exc:
        decode_event(raw)
    assert exc.value.reason == "bad_ts"


def test_lone_surrogate_session_id_is_refused() -> None:
    # it used to pass and then crash the consumer when it built the session's Redis key
    raw = b'{"v":1,"session_id":"\\udc80x","seq":0,"item_id":1,"ts":1}'
    with pytest.raises(EventError) as exc:
        decode_event(raw)
    assert exc.value.reason == "bad_session_id"


def test_valid_events_take_the_fast_path_with_the_same_values() -> None:
    for event in (
        ClickEvent("s-1", 0, 0, 0.0),
        ClickEvent("é" * 256, MAX_SEQ, MAX_ITEM_ID, 1.7e9 + 0.123456, "deep_dive"),
        ClickEvent("a", 7, 9, 12.0, "comparison"),
    ):
        assert assert_agree(event.encode()) == ("event", event)
    int_ts = b'{"v":1,"session_id":"a","seq":0,"item_id":1,"ts":17}'
    decoded = decode_event(int_ts)
    assert decoded.ts == 17.0 and type(decoded.ts) is float
