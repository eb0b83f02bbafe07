"""``learn``: the online learner (``streamrec.learner``)."""

from __future__ import annotations

import argparse
import logging
import sys

from streamrec.cli.commands.stream import missing_model
from streamrec.cli.exits import EXIT_OK, UsageError
from streamrec.config import Settings
from streamrec.stopping import stop_on_signals


def learn(args: argparse.Namespace, settings: Settings) -> int:
    """Learn from the clicks topic and publish a version every ``--refresh`` of event time,
    until SIGTERM."""
    if not settings.model_path.is_file():
        raise UsageError(missing_model(settings))
    with stop_on_signals() as stop:
        from streamrec.learner.main import run_learner

        logging.basicConfig(
            level=settings.log_level,
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s",
        )
        run_learner(settings, args.out_dir, args.refresh, args.idle_timeout_s, stop)
    return EXIT_OK
