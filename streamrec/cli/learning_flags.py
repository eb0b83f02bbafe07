"""The flags of learning from the stream online: ``learn``'s own (``--refresh``, ``--out-dir``,
``--idle-timeout-s``) and the settings that make ``consume`` follow its versions
(``--follow``, ``--version-wait-ms``).

The settings flags of learning (following, and how models update) are declared here and
added to ``flags.REGISTRY`` when this module is imported (``parser`` imports it), so the
learning flags stay in one place.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from streamrec.cli.flags import REGISTRY
from streamrec.cli.setting_flag import CONSUMER, TRAINING, SettingFlag
from streamrec.cli.validators import number
from streamrec.config import Settings
from streamrec.refresh import parse_refresh

DEFAULT_IDLE_TIMEOUT_S = 2.0
FOLLOW_FLAGS = (
    SettingFlag(
        "follow_dir",
        "serve the versions `streamrec learn` publishes in this directory instead of "
        "--model: each event by the version its event time calls for",
        CONSUMER,
        flag="--follow",
        metavar="DIR",
    ),
    SettingFlag(
        "version_wait_ms",
        "with --follow: how long a batch waits for a version its events call for (once per "
        "version); after it they are served by the newest version there, counted as stale",
        CONSUMER,
        metavar="MS",
    ),
)
# the settings of how models learn from the stream (offline --refresh and `learn` alike)
UPDATE_FLAGS = (
    SettingFlag(
        "update_budget_s",
        "stream learning: most seconds a neural model's fine-tune may take; 0 = its own",
        TRAINING,
        metavar="SECONDS",
    ),
    SettingFlag(
        "update_steps",
        "stream learning: most optimiser steps of a neural model's fine-tune; 0 = its own",
        TRAINING,
        metavar="N",
    ),
    SettingFlag(
        "replay_sessions",
        "stream learning: older sessions a neural fine-tune replays beside the new clicks, "
        "drawn at random (seeded) so the model does not forget",
        TRAINING,
        metavar="N",
    ),
    SettingFlag(
        "recency_half_life_h",
        "recent-popularity, recent-markov: a click's weight halves every HOURS of event time",
        TRAINING,
        metavar="HOURS",
    ),
)
REGISTRY.update({spec.field: spec for spec in (*FOLLOW_FLAGS, *UPDATE_FLAGS)})
UPDATE_FIELDS = tuple(spec.field for spec in UPDATE_FLAGS)  # the commands that update models


def refresh_period(text: str) -> float:
    """An argparse ``type``: a refresh period in seconds (``10m`` -> 600); not ``never``."""
    try:
        seconds = parse_refresh(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds is None:
        raise argparse.ArgumentTypeError("a learner needs a period (e.g. 10m), not 'never'")
    return seconds


def learn_flags(p: argparse.ArgumentParser, _defaults: Settings) -> None:
    """``learn``: the refresh period, the version directory, when a partition is idle."""
    p.add_argument(
        "--refresh",
        type=refresh_period,
        required=True,
        metavar="PERIOD",
        help="publish a version every PERIOD of event time: a number with a unit s, m, h or "
        "d (e.g. 10m); boundaries are t0 + k * PERIOD, t0 the first click's time",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="the version directory (created if missing; a learner killed and started again "
        "on it resumes after its newest valid version)",
    )
    p.add_argument(
        "--idle-timeout-s",
        type=number(float, above=0),
        default=DEFAULT_IDLE_TIMEOUT_S,
        metavar="SECONDS",
        help="a partition read to its end for this long no longer holds the event-time "
        "watermark back (default: %(default)s)",
    )
