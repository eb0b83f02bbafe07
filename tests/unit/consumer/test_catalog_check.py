"""The catalog-mismatch warning: once, only when nearly every first event is unknown."""

from __future__ import annotations

import pytest

from streamrec.consumer.catalog_check import CatalogCheck


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def test_warns_once_when_nearly_every_first_event_is_outside_the_catalog(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check = CatalogCheck("m-1", 4000, first_events=1000, threshold=0.9)
    with caplog.at_level("WARNING", logger="streamrec.consumer"):
        check.observe(600, 600)
        assert warnings(caplog) == []  # not before the first 1,000 events are in
        assert check.remaining == 400
        check.observe(500, 400)  # 1,000 of 1,100 unknown: 91%
        check.observe(5000, 5000)
    assert warnings(caplog) == [
        "1,000 of the first 1,100 events (91%) click items outside the catalog of model m-1 "
        "(4,000 items): the model was trained on other data than this stream carries, so they "
        "are counted as unknown_item and not scored; serve a model trained on the stream's "
        "source (e.g. `streamrec train --from-csv LOG` for a replayed click log)"
    ]
    assert check.done and check.seen == 1100 and check.remaining == 0


def test_a_few_new_items_are_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    check = CatalogCheck("m-1", 4000, first_events=1000, threshold=0.9)
    with caplog.at_level("WARNING", logger="streamrec.consumer"):
        check.observe(1000, 900)  # exactly 90%: not more than the threshold
        check.observe(1000, 1000)  # later events are not looked at
    assert warnings(caplog) == [] and check.done and not check.warned
