"""``streamrec explain``: where a session model's attention goes, measured over many prefixes.

``attention`` reads each architecture's attention over a window's positions, ``profile``
aggregates it by position, behaviour and prefix length, ``claims`` tests the case study's
three attention patterns against a uniform baseline, ``report`` writes the JSON, PNG and
table, and ``workflow`` runs it all on a checkpoint and its data. Pure model code: nothing
here knows about Kafka or Redis.
"""
