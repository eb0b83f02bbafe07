"""The data a run works on: a click log named in the settings, else generated sessions,
as prefix examples split for training and validation.

Splits (``Settings.split``): ``session`` (a seeded 80/20 of whole sessions) and ``example``
(the seed's 80/20 of prefix examples) split one corpus; ``time`` holds out the sessions that
start in the log's last ``test_days`` days (``day``: on its last ``test_days`` UTC calendar
days); ``none`` trains on every session, and validates on
``validation_csv`` when one is given. Held-out logs are always mapped through the training
catalog: clicks on items it does not know are removed (the session-rec / GRU4Rec protocol).

Under a drift scenario (generated data, ``Settings.scenario``) every split trains on the
sessions generated before the moment only: the split's training examples of later sessions
are dropped, its held-out part is kept whole (both sides of the moment), so evaluating or
replaying it shows how a model that never saw the drift does after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamrec.config import ConfigError, Settings
from streamrec.model.data.clicklog import (
    FORMAT_FILTERS,
    ClickLogFormat,
    LogSessions,
    filter_log,
    join_logs,
    log_corpus,
    read_log,
    split_log,
)
from streamrec.model.data.corpus import SessionCorpus, generated_corpus
from streamrec.model.data.examples import PrefixExamples, build_examples, split_examples

TIME_SPLITS = ("time", "day")  # split a log by its click times


def log_format(settings: Settings) -> ClickLogFormat:
    """How to read ``settings.csv_path`` (and the other logs of the run)."""
    return ClickLogFormat(
        name=settings.log_format,
        separator=settings.csv_separator,
        session_column=settings.csv_session_column,
        item_column=settings.csv_item_column,
        time_columns=tuple(c for c in settings.csv_time_columns.split(",") if c),
        session_gap_s=settings.session_gap_minutes * 60.0,
    )


def log_paths(path: str) -> list[str]:
    """The files of a log given as ``PATH[,PATH...]`` (consecutive periods of one log)."""
    parts = [part.strip() for part in path.split(",")]
    if not all(parts):
        raise ConfigError(f"empty file name in log list {path!r}: give PATH[,PATH...]")
    return parts


def read_filtered_log(settings: Settings, path: str, filtered: bool = True) -> LogSessions:
    """A log of the run read in its format, from one file or several (``PATH,PATH``, joined
    before filtering); ``filtered``: with the preprocessing filters (training logs; a
    held-out log is only mapped through the training catalog)."""
    fmt = log_format(settings)
    log = join_logs([read_log(Path(part), fmt) for part in log_paths(path)])
    return filter_for_format(settings, log) if filtered else log


def filter_for_format(settings: Settings, log: LogSessions) -> LogSessions:
    """``log`` with the run's preprocessing filters (the format's defaults unless set)."""
    min_length, min_support = FORMAT_FILTERS[settings.log_format]
    return filter_log(
        log,
        settings.min_session_length or min_length,
        settings.min_item_support or min_support,
    )


def split_training_log(settings: Settings) -> tuple[LogSessions, list[int], list[int]]:
    """The ``--from-csv`` log filtered, and its (train, test) session indices under a
    ``time`` or ``day`` split."""
    raw = read_filtered_log(settings, settings.csv_path, filtered=False)
    log = filter_for_format(settings, raw)
    train, test = split_log(log, settings.split, settings.test_days, max(raw.start_times))
    return log, train, test


def load_corpus(settings: Settings, item_ids: list[int] | None = None) -> SessionCorpus:
    """The click log named by ``settings.csv_path`` (its own catalog, or mapped through
    ``item_ids``), else the generator's sessions."""
    if settings.csv_path:
        return log_corpus(
            read_filtered_log(settings, settings.csv_path, item_ids is None), item_ids
        )
    return generated_corpus(
        users=settings.users,
        items=settings.items,
        seed=settings.seed,
        generator=settings.generator,
        scenario=settings.scenario,
        drift_at=settings.drift_at,
    )


@dataclass
class PreparedData:
    """A corpus with its prefix examples split for training and validation.

    The corpus holds the training sessions and, after them, any held-out log mapped through
    the training catalog; examples point into it by session index."""

    corpus: SessionCorpus
    train: PrefixExamples
    val: PrefixExamples


def prepare_data(
    settings: Settings, corpus: SessionCorpus | None = None, item_ids: list[int] | None = None
) -> PreparedData:
    """Load (or take) the data, build prefix examples and split them by ``settings.split``.

    ``item_ids``: map every log through this catalog (a checkpoint's) instead of building one.
    """
    if settings.split in TIME_SPLITS and corpus is None:
        corpus, n_train = _time_split_corpus(settings, item_ids)
    else:
        corpus = corpus or load_corpus(settings, item_ids)
        n_train = len(corpus.sessions)
        if settings.split == "none" and settings.validation_csv:
            held_out = read_filtered_log(settings, settings.validation_csv, filtered=False)
            corpus = _append(corpus, held_out, data_label(corpus.source, held_out.source))
    examples = build_examples(corpus.sessions, settings.max_len)
    if settings.split in (*TIME_SPLITS, "none"):
        is_val = examples.session_index >= n_train
        train, val = (
            examples.subset(np.flatnonzero(~is_val)),
            examples.subset(np.flatnonzero(is_val)),
        )
    else:
        train, val = split_examples(examples, len(corpus.sessions), settings.split, settings.seed)
    if corpus.generated is not None and corpus.generated.scenario != "none":
        before = train.session_index < corpus.generated.first_drifted
        train = train.subset(np.flatnonzero(before))
    if settings.max_train_sessions > 0:
        keep = np.unique(train.session_index)[: settings.max_train_sessions]
        train = train.subset(np.flatnonzero(np.isin(train.session_index, keep)))
    if 0 < settings.validation_sample < len(val):
        rng = np.random.default_rng(settings.seed)
        val = val.subset(np.sort(rng.choice(len(val), settings.validation_sample, replace=False)))
    return PreparedData(corpus, train, val)


def _time_split_corpus(settings: Settings, item_ids: list[int] | None) -> tuple[SessionCorpus, int]:
    if not settings.csv_path:
        raise ConfigError(f"--split {settings.split} needs a click log (--from-csv) with times")
    log, train_idx, test_idx = split_training_log(settings)
    corpus = log_corpus(log.subset(train_idx), item_ids)
    label = data_label(log.source, test_days=settings.test_days)
    return _append(corpus, log.subset(test_idx), label), len(corpus.sessions)


def data_label(
    source: str, validation_source: str | None = None, test_days: float | None = None
) -> str:
    """What the data of a run is, as training output, checkpoints, compare titles and errors
    name it: the training log ``source``, and what validates (and scores) the model: another
    log (``--validation-csv``/``--test-csv``) or the log's own last ``test_days`` days."""
    if validation_source is not None:
        return f"{source}, validated on {validation_source}"
    if test_days is not None:
        return f"{source}, validated on its last {test_days:g} day(s)"
    return source


def _append(corpus: SessionCorpus, held_out: LogSessions, source: str) -> SessionCorpus:
    """``corpus`` followed by ``held_out`` mapped through its catalog, labelled ``source``
    (``data_label``)."""
    if corpus.item_ids is None:
        raise ConfigError("a held-out click log needs a model or training set from a click log")
    mapped = log_corpus(held_out, [int(i) for i in corpus.item_ids])
    starts = (
        np.concatenate([corpus.start_times, mapped.start_times])
        if corpus.start_times is not None and mapped.start_times is not None
        else None
    )
    return SessionCorpus(
        sessions=corpus.sessions + mapped.sessions,
        session_ids=corpus.session_ids + mapped.session_ids,
        behaviors=corpus.behaviors + mapped.behaviors,
        n_items=corpus.n_items,
        source=source,
        item_ids=corpus.item_ids,
        start_times=starts,
        click_times=(
            corpus.click_times + mapped.click_times
            if corpus.click_times is not None and mapped.click_times is not None
            else None
        ),
        dropped_unknown_clicks=corpus.dropped_unknown_clicks + mapped.dropped_unknown_clicks,
    )
