"""A decision day's recommendation: its table of rows, its JSON figures, and its file.

One row per unit reviewing on the decision day ``D`` (``orpr.deploy.recommend``): the
decision ``v`` (inventory days), the reference rate ``d̂_D`` (units/day), the target position
``S = v · d̂_D``, the position ``on_hand`` and ``pipeline`` (units), and the order
``q = max(0, S − IP)`` with ``IP = on_hand + pipeline``. Refused units keep their row, with
the reason and no figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from orpr.baselines.backtest import order_up_to
from orpr.data.panel import Panel
from orpr.errors import InputError
from orpr.io import atomic_write, write_parquet

COLUMNS = {
    "unit_id": pl.String,
    "date": pl.String,
    "policy": pl.String,
    "inventory_days": pl.Float64,
    "d_hat": pl.Float64,
    "target_position": pl.Float64,
    "on_hand": pl.Float64,
    "pipeline": pl.Float64,
    "order_quantity": pl.Float64,
    "lead_time": pl.Int64,
    "review_period": pl.Int64,
    "review_offset": pl.Int64,
    "unit_cost": pl.Float64,
    "order_value": pl.Float64,
    "d_hat_days": pl.Int64,
    "position_source": pl.String,
    "refused": pl.String,
}
"""The recommendation table: figures are null on refused rows, ``refused`` holds the reason."""


class Recommendation(NamedTuple):
    """One decision day's rows: one per unit reviewing on it, refused units included.

    Attributes:
        date: the decision day ``D``, YYYY-MM-DD.
        policy: the deciding policy.
        position_source: where the positions came from.
        table: the rows (``COLUMNS``); ``refused`` holds the reason, null when recommended.
    """

    date: str
    policy: str
    position_source: str
    table: pl.DataFrame

    @property
    def units(self) -> int:
        """Units with a recommendation."""
        return int(self.table["refused"].is_null().sum())

    @property
    def refused(self) -> int:
        """Reviewing units refused (with a reason)."""
        return self.table.height - self.units

    @property
    def refused_by_reason(self) -> dict[str, int]:
        """Refused units counted by the kind of reason (the text before its colon)."""
        kinds = self.table["refused"].drop_nulls().str.split(":").list.first()
        return {k: int(n) for k, n in kinds.value_counts(sort=True).iter_rows()}

    def to_json(self, out: str | Path | None = None) -> dict[str, Any]:
        """A summary, and the rows unless they were written to ``out``, as one JSON object."""
        t = self.table
        head = {
            "date": self.date,
            "policy": self.policy,
            "position_source": self.position_source,
            "reviewing": t.height,
            "units": self.units,
            "refused": self.refused,
            "refused_by_reason": self.refused_by_reason,
            "order_quantity": float(t["order_quantity"].sum()),
            "order_value": float(t["order_value"].sum()),
        }
        return {**head, "out": str(out)} if out is not None else {**head, "rows": t.to_dicts()}


def recommendation_rows(
    window: Panel,
    day: int,
    due: np.ndarray,
    policy: str,
    source: str,
    reasons: np.ndarray,
    history_days: int,
    v: np.ndarray,
    d_hat: np.ndarray,
    on_hand: np.ndarray,
    pipeline: np.ndarray,
    orders: np.ndarray,
) -> pl.DataFrame:
    """The table of the units reviewing on ``day``; refused rows carry no figures."""
    keep = np.flatnonzero(due)
    ok = np.array([r is None for r in reasons[keep]], dtype=bool)
    u = window.units

    def figure(x: np.ndarray) -> pl.Series:
        return pl.Series(np.where(ok, x[keep], np.nan)).fill_nan(None)

    recent = slice(max(0, day - history_days), day)
    frame = pl.DataFrame(
        {
            "unit_id": u.unit_id[keep].astype(str),
            "date": [str(window.dates[day])] * keep.size,
            "policy": [policy] * keep.size,
            "inventory_days": figure(v),
            "d_hat": figure(d_hat),
            "target_position": figure(order_up_to(v, d_hat, u.whole_units)),
            "on_hand": figure(on_hand),
            "pipeline": figure(pipeline),
            "order_quantity": figure(orders),
            "lead_time": u.lead_time[keep],
            "review_period": u.review_period[keep],
            "review_offset": u.review_offset[keep],
            "unit_cost": u.unit_cost[keep],
            "order_value": figure(orders * u.unit_cost),
            "d_hat_days": window.active[keep, recent].sum(axis=1),
            "position_source": [source] * keep.size,
            "refused": pl.Series(reasons[keep].tolist(), dtype=pl.String),
        }
    )
    return frame.cast(COLUMNS)


def output_suffix(out: str | Path) -> str:
    """``.parquet`` or ``.csv``, the format ``out`` is written in.

    Raises:
        InputError: any other suffix.
    """
    suffix = Path(out).suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(str(out), "unsupported output type; expected .parquet or .csv")
    return suffix


def write_recommendation(rec: Recommendation, out: str | Path) -> Path:
    """Write the rows to ``out`` atomically, Parquet or CSV by its suffix."""
    if output_suffix(out) == ".parquet":
        return write_parquet(out, rec.table)
    return atomic_write(out, lambda tmp: rec.table.write_csv(tmp))
