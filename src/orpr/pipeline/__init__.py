"""``orpr run``: every stage in order, each skipped when its fingerprint matches and resumed when interrupted."""
