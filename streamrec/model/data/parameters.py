"""The generated data's process parameters, and the stream protocol's choices, that the
CLI's help quotes.

They live here, in a module that imports nothing, so that building the ``streamrec`` parser
does not import numpy; ``generator_modes`` and ``scenarios`` use them from here.
"""

from __future__ import annotations

FOLLOW_PROB = 0.5  # series: chance that a click follows the last item's successor
ANCHOR_PROB = 0.4  # anchor: chance that a click is drawn from the first click's sub-topic
SUBTOPIC_SIZE = 8  # anchor: about this many items per sub-topic (within one category)
BEHAVIOR_PROBS_AFTER: tuple[float, ...] = (0.6, 0.2, 0.2)  # behaviour-mix after the moment
NEW_ITEM_SHARE = 0.2  # new-items: share of each category's items that appear at the moment

# the prequential protocol's choices (data/stream_log.py, evaluation/prequential.py)
NEW_ITEMS = ("keep", "drop")  # a test log's clicks on items the training log lacks
HISTORIES = ("strict", "whole")  # what version 0 learns (stream_log.py says which is which)
VERSION_TIMES = ("target", "served")  # which click's time picks a prediction's version
