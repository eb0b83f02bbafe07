"""Topic and key names: one place, hash-slot aware."""

from __future__ import annotations

from streamrec.contract.names import Names


def test_session_key_and_totals_share_a_hash_slot() -> None:
    names = Names("ns")
    key = names.session_key("abc")
    totals = names.totals_key_for("abc")
    tag = key[key.index("{") : key.index("}") + 1]
    assert tag in totals and key.startswith("streamrec:ns:")
    assert Names().clicks == "clicks" and Names("x").dlq == "x.clicks.dlq"
    assert len(set(Names().all_totals_keys())) == 64
