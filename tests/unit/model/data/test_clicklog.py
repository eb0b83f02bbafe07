"""Click logs: every format parses, preprocessing and splits follow the literature's
protocol, and held-out logs are mapped through the training catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streamrec.config import ConfigError, Settings
from streamrec.model.data.clicklog import (
    ClickLogFormat,
    filter_log,
    log_corpus,
    read_log,
    time_split,
)
from streamrec.model.data.loading import data_label, prepare_data, read_filtered_log

DATA = Path(__file__).resolve().parents[4] / "data"
YOOCHOOSE = DATA / "yoochoose-100k"


def _external(corpus, session: list[int]) -> list[int]:
    return [int(corpus.item_ids[i]) for i in session]


def test_csv_log_sorted_by_time_with_dense_catalog(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "session_id;user_id;item_id;timeframe;eventdate\n"
        "1;NA;500;300;2016-05-09\n1;NA;700;100;2016-05-09\n2;NA;500;5;2016-05-10\n"
        "1;NA;900;50;2016-05-10\n"
    )
    corpus = log_corpus(read_log(log))
    # session 1 by (eventdate, timeframe): 700 (100), 500 (300), then 900 (next day)
    assert corpus.session_ids == ["1", "2"]
    assert [_external(corpus, s) for s in corpus.sessions] == [[700, 500, 900], [500]]
    assert corpus.n_items == 3


def test_session_rec_format(tmp_path: Path) -> None:
    log = tmp_path / "train.txt"
    log.write_text("SessionId\tItemId\tTime\n7\t11\t100.5\n7\t12\t99.0\n8\t11\t200\n")
    read = read_log(log, ClickLogFormat("session-rec"))
    assert read.session_ids == ["7", "8"] and read.items == [[12, 11], [11]]
    assert read.start_times == [99.0, 200.0]


def test_yoochoose_clicks_dat_format(tmp_path: Path) -> None:
    log = tmp_path / "clicks.dat"
    log.write_text(
        "1,2014-04-07T10:54:09.868Z,214536500,0\n1,2014-04-07T10:51:09.277Z,214536502,0\n"
        "2,2014-04-06T15:00:00.000Z,214662742,S\n"
    )
    read = read_log(log, ClickLogFormat("yoochoose"))
    assert read.items == [[214536502, 214536500], [214662742]]
    assert read.start_times[0] == pytest.approx(1396867869.277)


def test_diginetica_format_reads_both_header_spellings(tmp_path: Path) -> None:
    log = tmp_path / "train-item-views.csv"
    log.write_text(
        "sessionId;userId;itemId;timeframe;eventdate\n"
        "1;NA;81766;526309;2016-05-09\n1;NA;31331;1031018;2016-05-09\n"
    )
    read = read_log(log, ClickLogFormat("diginetica"))
    assert read.items == [[81766, 31331]]
    assert read.start_times[0] == pytest.approx(1462752000 + 526.309)
    shipped = read_log(DATA / "diginetica-sample-item-views.csv", ClickLogFormat("diginetica"))
    assert shipped.n_clicks == 12_391 and len(shipped) == 2_986


def test_retailrocket_views_cut_into_sessions_by_gap(tmp_path: Path) -> None:
    log = tmp_path / "events.csv"
    log.write_text(
        "timestamp,visitorid,event,itemid,transactionid\n"
        "1433221332117,257597,view,355908,\n"
        "1433221400000,257597,addtocart,355908,\n"
        "1433221500000,257597,view,248676,\n"
        "1433231500000,257597,view,111,\n"  # 10,000 s later: a new session
        "1433224214164,992329,view,248676,\n"
    )
    read = read_log(log, ClickLogFormat("retailrocket"))
    assert dict(zip(read.session_ids, read.items)) == {
        "257597-0": [355908, 248676], "257597-1": [111], "992329-0": [248676],
    }  # fmt: skip
    with_carts = read_log(
        log, ClickLogFormat("retailrocket", retailrocket_events=("view", "addtocart"))
    )
    assert with_carts.n_clicks == 5


HEADER = "SessionId\tItemId\tTime\n"
MALFORMED = [
    ("session-rec", HEADER + "1\tx\t5\n", r"log:2: item id 'x' is not an integer"),
    ("session-rec", HEADER + "1\t2\tsoon\n", r"log:2: time 'soon' is not a number"),
    ("session-rec", "SessionId\tItem\tTime\n", r"log:1: missing column ItemId"),
    ("yoochoose", "1,2014-04-07T10:54:09Z,5,0\n2,later,5,0\n", r"log:2: timestamp 'later'"),
    ("yoochoose", "1,2014-04-07T10:54:09Z\n", r"log:1: expected 3 fields, got 2"),
    ("csv", "a;b\n1;2\n", r"log:1: missing column session_id"),
]


@pytest.mark.parametrize("fmt,text,message", MALFORMED)
def test_malformed_rows_name_file_and_line(
    tmp_path: Path, fmt: str, text: str, message: str
) -> None:
    log = tmp_path / "log"
    log.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_log(log, ClickLogFormat(fmt))
    with pytest.raises(ValueError, match="does not exist"):
        read_log(tmp_path / "nope", ClickLogFormat(fmt))


def test_filters_drop_short_sessions_and_rare_items(tmp_path: Path) -> None:
    log = tmp_path / "t.txt"
    rows = [(1, 5), (1, 5), (1, 9), (2, 5), (2, 5), (3, 5), (3, 7)]
    log.write_text(
        "SessionId\tItemId\tTime\n" + "".join(f"{s}\t{i}\t{n}\n" for n, (s, i) in enumerate(rows))
    )
    read = filter_log(read_log(log, ClickLogFormat("session-rec")), 2, 5)
    # item 5 is seen 5 times; 9 and 7 are rare; session 3 becomes a single click
    assert dict(zip(read.session_ids, read.items)) == {"1": [5, 5], "2": [5, 5]}


def test_time_split_puts_sessions_starting_in_the_last_days_in_test() -> None:
    read = read_log(YOOCHOOSE / "train_tr.txt", ClickLogFormat("session-rec"))
    train, test = time_split(read, 1.0)
    cut = max(read.start_times) - 86_400
    assert len(train) + len(test) == len(read) and train and test
    assert all(read.start_times[i] >= cut for i in test)
    assert all(read.start_times[i] < cut for i in train)


def test_yoochoose_development_split_follows_the_protocol() -> None:
    settings = Settings(
        csv_path=str(YOOCHOOSE / "train_tr.txt"), log_format="session-rec", split="none",
        validation_csv=str(YOOCHOOSE / "train_valid.txt"),
    )  # fmt: skip
    data = prepare_data(settings)
    assert data.corpus.n_items == 2_873  # the prepared training file's items, all kept
    assert len(data.val) == 12_455  # predictions under the session-rec protocol
    assert data.corpus.dropped_unknown_clicks == 0  # the prepared file has none left
    assert len(data.train) == 53_254 - 13_629
    # what training output, the checkpoint, compare titles and errors call this data
    assert (
        data.corpus.source == "session-rec:train_tr.txt, validated on session-rec:train_valid.txt"
    )


def test_the_data_label_says_what_trains_and_what_validates() -> None:
    assert data_label("session-rec:a.txt") == "session-rec:a.txt"
    assert data_label("csv:a.csv", "csv:b.csv") == "csv:a.csv, validated on csv:b.csv"
    assert data_label("csv:a.csv", test_days=1.0) == "csv:a.csv, validated on its last 1 day(s)"
    timed = prepare_data(
        Settings(csv_path=str(YOOCHOOSE / "train_tr.txt"), log_format="session-rec",
                 split="time", test_days=1.0)
    )  # fmt: skip
    assert timed.corpus.source == "session-rec:train_tr.txt, validated on its last 1 day(s)"


def test_held_out_logs_map_through_the_training_catalog(tmp_path: Path) -> None:
    train = YOOCHOOSE / "train_tr.txt"
    lines = train.read_text().splitlines()
    reversed_log = tmp_path / "reversed.txt"
    reversed_log.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    own = prepare_data(Settings(csv_path=str(train), log_format="session-rec", split="none"))
    assert own.corpus.item_ids is not None
    catalog = [int(i) for i in own.corpus.item_ids]
    mapped = prepare_data(
        Settings(csv_path=str(reversed_log), log_format="session-rec", split="none"),
        item_ids=catalog,
    )
    # another first-appearance order, same dense ids through the given catalog
    assert mapped.corpus.item_ids is not None and own.corpus.item_ids is not None
    assert np.array_equal(mapped.corpus.item_ids, own.corpus.item_ids)
    assert sorted(map(tuple, mapped.train.windows.tolist())) == sorted(
        map(tuple, own.train.windows.tolist())
    )


def test_validation_log_needs_split_none() -> None:
    with pytest.raises(ConfigError, match="--split none"):
        Settings(validation_csv="x.txt").validate()


def test_the_whole_development_log_is_its_two_periods_joined() -> None:
    both = f"{YOOCHOOSE / 'train_tr.txt'},{YOOCHOOSE / 'train_valid.txt'}"
    settings = Settings(csv_path=both, log_format="session-rec", split="none")
    joined = read_filtered_log(settings, both, filtered=False)
    first = read_log(YOOCHOOSE / "train_tr.txt", ClickLogFormat("session-rec"))
    second = read_log(YOOCHOOSE / "train_valid.txt", ClickLogFormat("session-rec"))
    assert joined.session_ids == first.session_ids + second.session_ids
    assert joined.n_clicks == first.n_clicks + second.n_clicks == 53_254 + 16_539


def test_a_session_in_two_files_of_one_log_is_refused(tmp_path: Path) -> None:
    log = tmp_path / "a.txt"
    log.write_text("SessionId\tItemId\tTime\n1\t5\t1.0\n1\t6\t2.0\n")
    settings = Settings(csv_path=f"{log},{log}", log_format="session-rec", split="none")
    with pytest.raises(ValueError, match="appears in both"):
        read_filtered_log(settings, settings.csv_path)
    with pytest.raises(ConfigError, match="empty file name"):
        read_filtered_log(settings, f"{log},")


def test_the_later_test_period_maps_through_the_development_catalog() -> None:
    settings = Settings(
        csv_path=f"{YOOCHOOSE / 'train_tr.txt'},{YOOCHOOSE / 'train_valid.txt'}",
        log_format="session-rec", split="none", validation_csv=str(YOOCHOOSE / "test.txt"),
    )  # fmt: skip
    data = prepare_data(settings)
    test_log = read_log(YOOCHOOSE / "test.txt", ClickLogFormat("session-rec"))
    assert (len(test_log), test_log.n_clicks) == (3_416, 13_568)
    assert min(test_log.start_times) > max(
        read_log(YOOCHOOSE / "train_valid.txt", ClickLogFormat("session-rec")).start_times
    )
    # every held-out click is a prediction unless its item is new or it starts a session
    assert 0 < len(data.val) < 13_568 - 3_416
    assert data.corpus.source == (
        "session-rec:train_tr.txt+session-rec:train_valid.txt, validated on session-rec:test.txt"
    )


def test_every_clicks_time_follows_it_through_filters_and_catalog_mapping(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text(
        "SessionId\tItemId\tTime\n"
        "1\t10\t100.0\n1\t20\t105.5\n1\t10\t130.0\n1\t30\t131.0\n"
        "2\t20\t50.0\n2\t10\t40.0\n3\t40\t10.0\n"
    )
    read = read_log(log, ClickLogFormat("session-rec"))
    assert read.times == [[100.0, 105.5, 130.0, 131.0], [40.0, 50.0], [10.0]]
    # items 30 and 40 are seen once: support 2 drops their clicks, and so session 3
    filtered = filter_log(read, min_session_length=1, min_item_support=2)
    assert filtered.items == [[10, 20, 10], [10, 20]]
    assert filtered.times == [[100.0, 105.5, 130.0], [40.0, 50.0]]
    mapped = log_corpus(read, item_ids=[20, 30])  # a catalog without item 10
    assert mapped.click_times == [[105.5, 131.0], [50.0]]  # session 3 had none of them
    assert mapped.dropped_unknown_clicks == 4
    assert mapped.start_times is not None and mapped.start_times.tolist() == [100.0, 40.0]
