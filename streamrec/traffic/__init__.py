"""Traffic with a clock: when each click of a replay is due, as pure, seeded functions.

``profiles`` modulates a rate over time (flat, a compressed day, a flash crowd), ``dwell``
draws and fits the time between a session's clicks, ``schedule`` turns sessions into due
times (a log's own times scaled, or Poisson session starts with drawn dwell times) and
``clock`` is the one description of a clock the producer and the CLI share. Nothing here
knows Kafka: the producer sends what these functions schedule.
"""
