"""The corpus a run works on: a click log named in the settings, else generated sessions."""

from __future__ import annotations

from pathlib import Path

from streamrec.config import Settings
from streamrec.model.data.clicklog import ClickLogFormat, load_click_log
from streamrec.model.data.corpus import SessionCorpus, generated_corpus


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
