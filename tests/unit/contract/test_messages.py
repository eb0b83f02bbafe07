"""The output contract: recommendation messages and dead-letter headers."""

from __future__ import annotations

import json

from streamrec.contract.messages import (
    MAX_DETAIL_CHARS,
    SEQ_GAP,
    DeadLetter,
    decode_dlq_headers,
    decode_recommendation,
    dlq_headers,
    dlq_source,
    encode_recommendation,
)


def test_recommendation_bytes_are_the_documented_json() -> None:
    body = encode_recommendation("s-1", 3, [70, 5], [2.5, 0.1234567], "m@1", 1700000000.25)
    assert body == (
        '{"session_id":"s-1","seq":3,"items":[70,5],"scores":[2.5,0.123457],'
        '"model_version":"m@1","ts":1700000000.25}'
    )
    assert json.loads(body)["items"] == [70, 5]


def test_recommendation_round_trip_escapes_strings() -> None:
    session = 'quote " and \\ and é'
    body = encode_recommendation(session, 0, [1, 2, 3], [0.5, 0.25, -1.0], 'v"2', 12.5)
    rec = decode_recommendation(body.encode())
    assert (rec.session_id, rec.seq, rec.model_version, rec.ts) == (session, 0, 'v"2', 12.5)
    assert rec.items == (1, 2, 3) and rec.scores == (0.5, 0.25, -1.0)


def test_dead_letter_headers_round_trip_and_cut_the_detail() -> None:
    source = dlq_source("ns.clicks", 2, 41)
    headers = dlq_headers(SEQ_GAP, "x" * (MAX_DETAIL_CHARS + 100), source)
    assert [name for name, _ in headers] == ["reason", "detail", "source"]
    decoded = decode_dlq_headers(headers)
    assert decoded == DeadLetter(SEQ_GAP, "x" * MAX_DETAIL_CHARS, "ns.clicks/2/41")


def test_dead_letter_headers_from_a_mapping_or_nothing() -> None:
    assert decode_dlq_headers({"reason": "bad_seq", "detail": None}) == DeadLetter(
        "bad_seq", "", ""
    )
    assert decode_dlq_headers(None) == DeadLetter("", "", "")
