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


def test_every_script_calls_keys_share_one_cluster_slot() -> None:
    # one script call per shard: its totals key and every session key of the shard
    from redis.crc import key_slot

    names = Names("ns")
    for n in range(3000):
        sid = f"session-{n}"
        assert key_slot(names.session_key(sid).encode()) == key_slot(
            names.totals_key(names.shard_of(sid)).encode()
        ), sid


def test_the_shards_spread_over_three_masters() -> None:
    # a three-master cluster (slots split in three) gets shards on every master
    from redis.crc import key_slot

    from streamrec.contract.names import N_SHARDS

    names = Names("ns")
    masters = {key_slot(names.totals_key(s).encode()) * 3 // 16384 for s in range(N_SHARDS)}
    assert masters == {0, 1, 2}
