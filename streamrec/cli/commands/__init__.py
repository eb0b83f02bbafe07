"""One handler per command: ``handler(args, settings) -> exit status``.

Handlers import what they drive (torch, Kafka, the pipeline) when they run, so ``--help``
and the light commands stay quick.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from streamrec.cli.commands import learning, offline, pipeline, reset, services, stream
from streamrec.config import Settings

Handler = Callable[[argparse.Namespace, Settings], int]

HANDLERS: dict[str, Handler] = {
    "generate": offline.generate,
    "train": offline.train,
    "evaluate": offline.evaluate,
    "compare": offline.compare,
    "explain": offline.explain,
    "produce": stream.produce,
    "consume": stream.consume,
    "learn": learning.learn,
    "services": services.services,
    "report": stream.report,
    "reset": reset.reset,
    "demo": pipeline.demo,
    "loadtest": pipeline.loadtest,
}
