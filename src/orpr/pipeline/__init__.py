"""``orpr run``: every stage in order, each skipped when its fingerprint matches and resumed
when interrupted.

``stage``: each stage's declaration (the config it reads, its inputs and outputs) and its
fingerprint; it imports only ``orpr.config``, so the stages' own commands check their inputs
and checkpoints with it. ``stages``: ``run_pipeline``, which imports every stage.
"""
