"""Session replay -> click events -> Kafka."""
