"""The data a run works on: a click log named in the settings, else generated sessions,
as prefix examples split for training and validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamrec.config import Settings
from streamrec.model.data.clicklog import ClickLogFormat, load_click_log
from streamrec.model.data.corpus import SessionCorpus, generated_corpus
from streamrec.model.data.examples import PrefixExamples, build_examples, split_examples


def load_corpus(settings: Settings, item_ids: list[int] | None = None) -> SessionCorpus:
    """The click log named by ``settings.csv_path``, else the generator's sessions."""
    if settings.csv_path:
        fmt = ClickLogFormat(
            separator=settings.csv_separator,
            session_column=settings.csv_session_column,
            item_column=settings.csv_item_column,
            time_columns=tuple(c for c in settings.csv_time_columns.split(",") if c),
        )
        return load_click_log(Path(settings.csv_path), fmt, item_ids)
    return generated_corpus(users=settings.users, seed=settings.seed)


@dataclass
class PreparedData:
    """A corpus with its prefix examples split for training and validation."""

    corpus: SessionCorpus
    train: PrefixExamples
    val: PrefixExamples


def prepare_data(settings: Settings, corpus: SessionCorpus | None = None) -> PreparedData:
    """Load (or take) the corpus, build prefix examples and split them."""
    corpus = corpus or load_corpus(settings)
    examples = build_examples(corpus.sessions, settings.max_len)
    train, val = split_examples(examples, len(corpus.sessions), settings.split, settings.seed)
    if settings.max_train_sessions > 0:
        keep = np.unique(train.session_index)[: settings.max_train_sessions]
        train = train.subset(np.flatnonzero(np.isin(train.session_index, keep)))
    if 0 < settings.validation_sample < len(val):
        rng = np.random.default_rng(settings.seed)
        val = val.subset(np.sort(rng.choice(len(val), settings.validation_sample, replace=False)))
    return PreparedData(corpus, train, val)
