"""ORPR: OR-guided pretrain-then-reinforce replenishment.

For every unit (a product at a location) and review day, ORPR decides how many days of
inventory to hold. See ``docs/architecture.md`` for the data flow.
"""

__version__ = "0.1.0"
