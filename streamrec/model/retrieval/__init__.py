"""Two-stage retrieval for the neural models: ANN candidates, re-scored exactly."""
