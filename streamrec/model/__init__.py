"""Model core: generator, examples and splits, LSTM, baselines, metrics, training, checkpoints."""
