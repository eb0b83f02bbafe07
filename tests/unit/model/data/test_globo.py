"""The Globo.com log and data/globo-news's protocol, on a slice small enough to follow by hand.

The shipped file's own table (README of data/globo-news) takes about 20 s to read here; the
command that reproduces it is in the report of issue 20 and in data/README.md.

Items A, B, C, N have five clicks each, R two (dropped). Sessions (UTC days of 2017-10):
  s1 03: A B    s2 04: B C A   s10 04: A C
  s3 05 23:59: R, then 06: A B C  (R dropped: it starts on the 6th after filtering -> test)
  s5 06: N C    s6 06: A N B    s7 06: R N (-> N alone: dropped)   s8 06: C N    s9 06: N B
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from streamrec.config import Settings
from streamrec.model.data.stream_log import load_stream_log, part_figures

HEADER = (
    "user_id,session_id,session_start,session_size,click_article_id,click_timestamp,"
    "click_environment,click_deviceGroup,click_os,click_country,click_region,click_referrer_type"
)
DAY_MS = 86_400_000
OCT_3_MS = 1_506_988_800_000
ITEMS = {"A": 101, "B": 202, "C": 303, "N": 404, "R": 505}
SESSIONS = {  # session -> (day offset from the 3rd, first click's ms into the day, items)
    1: (0, 3_600_000, "AB"),
    2: (1, 3_600_000, "BCA"),
    10: (1, 7_200_000, "AC"),
    3: (2, DAY_MS - 60_000, "RABC"),
    5: (3, 3_600_000, "NC"),
    6: (3, 7_200_000, "ANB"),
    7: (3, 9_000_000, "RN"),
    8: (3, 10_800_000, "CN"),
    9: (3, 14_400_000, "NB"),
}


def write_slice(path: Path) -> Path:
    """The sessions above as a gzipped Globo click log; clicks 30 minutes apart."""
    lines = [HEADER]
    for sid, (day, offset, items) in SESSIONS.items():
        start = OCT_3_MS + day * DAY_MS + offset
        session_id = 1_506_900_000_000_000 + sid
        for k, item in enumerate(items):
            stamp = start + k * 1_800_000
            lines.append(f"7,{session_id},{start},{len(items)},{ITEMS[item]},{stamp},4,1,17,1,4,1")
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


@pytest.fixture
def globo_slice(tmp_path: Path) -> Path:
    return write_slice(tmp_path / "globo_slice.csv.gz")


def test_the_protocol_gives_the_parts_worked_out_by_hand(globo_slice: Path) -> None:
    settings = Settings(csv_path=str(globo_slice), log_format="globo", split="day")
    stream = load_stream_log(settings, "keep")
    assert part_figures(stream.train) == {
        "clicks": 7, "sessions": 3, "items": 3, "predictions": 4,
    }  # fmt: skip
    assert part_figures(stream.test) == {
        "clicks": 12, "sessions": 5, "items": 4, "predictions": 7,
    }  # fmt: skip
    known = load_stream_log(settings, "drop")
    assert part_figures(known.test) == {
        "clicks": 5, "sessions": 2, "items": 3, "predictions": 3,
    }  # fmt: skip
    assert known.train.items == stream.train.items


def test_a_session_goes_by_its_first_click_left_after_filtering(globo_slice: Path) -> None:
    settings = Settings(csv_path=str(globo_slice), log_format="globo", split="day")
    stream = load_stream_log(settings, "keep")
    moved = str(1_506_900_000_000_000 + 3)
    assert moved in stream.test.session_ids and moved not in stream.train.session_ids
    assert stream.test.items[stream.test.session_ids.index(moved)] == [101, 202, 303]


def test_a_day_split_needs_whole_days(globo_slice: Path) -> None:
    settings = Settings(csv_path=str(globo_slice), log_format="globo", split="day", test_days=1.5)
    with pytest.raises(ValueError, match="whole number of --test-days"):
        load_stream_log(settings, "keep")
