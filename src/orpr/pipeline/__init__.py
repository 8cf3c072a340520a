"""``orpr run``: every stage in order, each skipped when its fingerprint matches and resumed
when interrupted (``run``).

Each stage's declaration — the config it reads, its inputs and outputs — and its one
fingerprint live at the bottom, in ``orpr.config.stages``, so that the stages' own commands
check their inputs and checkpoints with the same function without importing this package.
"""
