"""Kafka -> Redis session state -> scorer -> recommendations and metrics."""
