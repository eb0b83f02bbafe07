"""The embedded Valkey Cluster's slot plan and address (the servers themselves: integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamrec.config import cluster_nodes
from streamrec.pipeline.valkey_cluster import (
    HASH_SLOTS,
    ClusterNode,
    EmbeddedValkeyCluster,
    slot_ranges,
)


def test_three_masters_split_the_slots_in_contiguous_thirds() -> None:
    assert slot_ranges(3) == [(0, 5460), (5461, 10921), (10922, 16383)]


@pytest.mark.parametrize("masters", [1, 2, 5, 7, 64])
def test_slot_ranges_cover_every_slot_once(masters: int) -> None:
    ranges = slot_ranges(masters)
    covered = [slot for low, high in ranges for slot in range(low, high + 1)]
    assert covered == list(range(HASH_SLOTS))
    sizes = {high - low + 1 for low, high in ranges}
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("masters", [0, -1, HASH_SLOTS + 1])
def test_impossible_clusters_are_refused(masters: int) -> None:
    with pytest.raises(ValueError, match="masters must be in"):
        slot_ranges(masters)


def test_the_url_names_every_node() -> None:
    cluster = EmbeddedValkeyCluster(
        Path("unused"), (ClusterNode(7000, 17000), ClusterNode(7001, 17001))
    )
    assert cluster.url == "redis+cluster://127.0.0.1:7000,127.0.0.1:7001"
    assert cluster_nodes(cluster.url) == [("127.0.0.1", 7000), ("127.0.0.1", 7001)]
    assert [n.name for n in cluster.nodes] == ["valkey-7000", "valkey-7001"]


def test_free_ports_are_distinct(tmp_path: Path) -> None:
    cluster = EmbeddedValkeyCluster.on_free_ports(tmp_path, masters=3)
    ports = [p for n in cluster.nodes for p in (n.port, n.bus_port)]
    assert len(set(ports)) == 6
