"""The settings flags of large catalogs (issue 21): how neural models train (``--loss``) and
how they serve (``--retrieval``, ``--candidates``, ``--ann-probes``).

Declared here and added to ``flags.REGISTRY`` when this module is imported (``parser``
imports it), like ``learning_flags``.
"""

from __future__ import annotations

from streamrec.cli.flags import REGISTRY
from streamrec.cli.setting_flag import CONSUMER, TRAINING, SettingFlag
from streamrec.config import LOSSES, RETRIEVALS

SCALE_FLAGS = (
    SettingFlag(
        "loss",
        "lstm-attn, narm, sasrec: 'full' (default) cross-entropy over the whole catalog, or "
        "'sampled': over the batch's targets plus popularity-sampled negatives shared by the "
        "batch, corrected by log sampling probability (logQ), for large catalogs; gru4rec "
        "always trains with its authors' sampled loss",
        TRAINING,
        choices=LOSSES,
    ),
    SettingFlag(
        "retrieval",
        "neural models: 'exact' (default) scores the whole catalog; 'ann': the session "
        "vector retrieves --candidates items from an IVF index over the item embeddings "
        "(faiss, built deterministically, kept beside the checkpoint as MODEL.ann), which "
        "are re-scored exactly for the top 20",
        CONSUMER,
        choices=RETRIEVALS,
    ),
    SettingFlag(
        "candidates", "with --retrieval ann: items retrieved and re-scored per click", CONSUMER
    ),
    SettingFlag(
        "ann_probes",
        "with --retrieval ann: IVF lists scanned per click, more for recall, fewer for speed; "
        "0 (default): by catalog size, max(16, lists / 125), recall@20 0.99-1.0 up to 1M items "
        "(docs/benchmarks.md)",
        CONSUMER,
    ),
)
REGISTRY.update({spec.field: spec for spec in SCALE_FLAGS})
