"""Topic and key names: one place, hash-slot aware."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from streamrec.contract.names import MODEL_LABELS, Names


def test_session_key_and_totals_share_a_hash_slot() -> None:
    names = Names("ns")
    key = names.session_key("abc")
    totals = names.totals_key_for("abc")
    tag = key[key.index("{") : key.index("}") + 1]
    assert tag in totals and key.startswith("streamrec:ns:")
    assert Names().clicks == "clicks" and Names("x").dlq == "x.clicks.dlq"
    assert len(set(Names().all_totals_keys())) == 64


def test_each_models_totals_share_the_sessions_slot() -> None:
    names = Names("ns")
    shard = names.shard_of("abc")
    keys = {label: names.totals_key(shard, label) for label in MODEL_LABELS}
    assert keys["primary"] == names.totals_key_for("abc")
    assert keys["shadow"] == keys["primary"] + ":shadow"
    assert len(set(keys.values())) == 3
    assert len({key_slot(k.encode()) for k in [*keys.values(), names.session_key("abc")]}) == 1
    with pytest.raises(ValueError, match="unknown model label"):
        names.totals_key(shard, "tertiary")
