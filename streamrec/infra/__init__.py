"""Local services, topic administration, names of topics and keys."""
