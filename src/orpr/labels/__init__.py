"""Stage 1: the simulation-augmented OR model — rolling inventory-day labels (DESIGN §5).

Symbols:
    t     a review (decision) day; ``L`` lead time and ``R`` review period, days.
    v     inventory days on the grid (default 0 … 30 by 0.5); target ``S_t = v · d̂_t``.
    d̂_t  reference rate: mean latent demand of the 28 days before t, units per day.
    H     replay horizon, days (default ``L + 2R``, at least 7).
    α     service target: the group may lose ``(1 − α)`` of its demand value.
    λ*    the group knapsack's multiplier: value-days of stock per value of lost demand.

Modules: ``replay`` (candidate replay + group knapsack, shared with the oracle), ``rolling``
(labels along the OR policy's own trajectory), ``hindsight`` (the ``or_hindsight`` policy),
``run`` (``make_labels``: α, labels, comparison, MILP check), ``artifacts`` (files),
``report`` (printing and JSON).
"""

from orpr.labels.artifacts import Labels, load_labels, write_labels
from orpr.labels.report import labels_json, render_labels
from orpr.labels.run import LabelRun, make_labels

__all__ = [
    "LabelRun",
    "Labels",
    "labels_json",
    "load_labels",
    "make_labels",
    "render_labels",
    "write_labels",
]
