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


def test_every_script_calls_keys_share_one_cluster_slot() -> None:
    # one script call per shard: its totals keys (every model's) and every session key of it
    names = Names("ns")
    for n in range(3000):
        sid = f"session-{n}"
        slot = key_slot(names.session_key(sid).encode())
        for label in MODEL_LABELS:
            assert slot == key_slot(names.totals_key(names.shard_of(sid), label).encode()), sid


def test_the_shards_spread_over_three_masters() -> None:
    # a three-master cluster (slots split in three) gets shards on every master
    from streamrec.contract.names import N_SHARDS

    names = Names("ns")
    masters = {key_slot(names.totals_key(s).encode()) * 3 // 16384 for s in range(N_SHARDS)}
    assert masters == {0, 1, 2}


def test_key_patterns_find_a_namespaces_keys_and_no_others() -> None:
    from fnmatch import fnmatchcase  # the same as Redis's glob for these patterns

    default, other = Names(), Names("ns")
    keys = {
        "default": [default.session_key("a"), default.totals_key(3), default.stats_key],
        "ns": [other.session_key("a"), other.totals_key(3, "shadow"), other.stats_key],
    }
    for names, own, foreign in ((default, "default", "ns"), (other, "ns", "default")):

        def matched(key: str, names: Names = names) -> bool:
            return any(fnmatchcase(key, p) for p in names.key_patterns)

        assert all(matched(k) for k in keys[own]), own
        assert not any(matched(k) for k in keys[foreign]), own
    assert [other.key_kind(k) for k in keys["ns"]] == ["session", "totals", "stats"]
    assert [default.key_kind(k) for k in keys["default"]] == ["session", "totals", "stats"]
    assert other.topics == ("ns.clicks", "ns.clicks.dlq", "ns.recommendations")
