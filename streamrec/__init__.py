"""StreamRec: a streaming session recommender (Kafka -> Redis -> session LSTM -> Prometheus)."""

__version__ = "0.1.0"
