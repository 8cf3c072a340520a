"""The time split (DESIGN §9): training period, then the held-out days at the panel's end.

The last ``split.holdout_days`` days are held out; the training period is everything before,
after the first ``split.history_days`` days, which only feed the reference rate ``d̂``.
Policies are fitted or tuned on the training period only.
"""

from __future__ import annotations

from typing import NamedTuple

from orpr.config import Config
from orpr.data.panel import Panel
from orpr.errors import InputError


class Split(NamedTuple):
    """Day indices of the time split: training ``[train_start, holdout_start)``, held-out
    ``[holdout_start, stop)``; days before ``train_start`` only feed ``d̂``."""

    train_start: int
    holdout_start: int
    stop: int

    @property
    def train(self) -> tuple[int, int]:
        """The training days ``(start, stop)``."""
        return self.train_start, self.holdout_start


def time_split(panel: Panel, cfg: Config) -> Split:
    """The split for ``panel``; an InputError if it is too short for the configured windows."""
    need = cfg.split.history_days + cfg.split.warmup_days + 7 + cfg.split.holdout_days
    if panel.n_days < need:
        raise InputError(
            panel.source,
            f"too few days: need at least {need} (history + warm-up + 7 training + held-out)",
            column="date",
            value=panel.n_days,
        )
    return Split(cfg.split.history_days, panel.n_days - cfg.split.holdout_days, panel.n_days)
