"""Expert guidance for promotions (DESIGN §8): planners' labels, or the built-in planner rule.

Symbols: ``t`` a decision day; ``L, R`` lead time and review period (days); ``v*`` the OR
label and ``v_expert`` the expert's inventory days; ``u_c`` category ``c``'s promotion uplift.

**Promotion states.** A labelled state is a promotion state when a promotion is planned on a
day of ``[t, t + lookahead)`` — by default ``lookahead = L + R``, the days an order placed at
``t`` arrives for and covers.

**Expert labels file** (``rl.expert``, CSV or Parquet): columns ``unit_id``, ``date``
(YYYY-MM-DD) and ``v_expert`` (inventory days ≥ 0, at most the grid's largest value). Every
row must name a unit of the panel and a date of its calendar; a row that does not, a missing
column or a value that is not a finite number ≥ 0 is refused with the file, column and
value. Rows whose (unit, date) is not a labelled promotion state are not used (counted in the
fine-tune's figures).

**Planner rule** (no file): ``v_expert = v* · (1 + (u_c − 1) · f)``, where ``f`` is the share
of promotion days in ``[t, t + lookahead)`` and ``u_c`` the category's observed uplift —
the median over its units of (mean latent demand on promotion days ÷ mean on other days),
listed training days only, clipped to ``[1, rl.uplift_cap]``. The result is rounded up to the
grid and capped at its largest value. It encodes the planner's habit of scaling cover by the
expected promotion lift, which OR labels driven by a service budget tend to under-provide.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl

from orpr.data.panel import Panel
from orpr.errors import InputError
from orpr.training.labels import LabelTable

EXPERT_COLUMNS = ("unit_id", "date", "v_expert")


class ExpertTargets(NamedTuple):
    """Promotion states and their expert targets.

    Attributes:
        rows: label-table rows of the promotion states that carry a target ``(n,)``.
        v_index: the target's grid bin ``(n,)``.
        v_expert: the target, inventory days ``(n,)``.
        source: ``"file: PATH"`` or ``"planner rule"``.
        uplift: the rule's uplift per category (empty for a file).
        unused: file rows that matched no labelled promotion state.
    """

    rows: np.ndarray
    v_index: np.ndarray
    v_expert: np.ndarray
    source: str
    uplift: dict[str, float]
    unused: int


def promotion_states(panel: Panel, table: LabelTable, lookahead: int = 0) -> np.ndarray:
    """Whether each labelled state has a promotion planned in ``[t, t + lookahead)`` (bool).

    ``lookahead = 0`` uses each unit's ``L + R``.
    """
    return promotion_share(panel, table, lookahead) > 0


def promotion_share(panel: Panel, table: LabelTable, lookahead: int = 0) -> np.ndarray:
    """Share of days of ``[t, t + lookahead)`` with a promotion planned, per labelled state."""
    span = (
        (panel.units.lead_time + panel.units.review_period)[table.units]
        if lookahead <= 0
        else np.full(len(table.units), lookahead)
    )
    promo = np.concatenate(
        [np.zeros((panel.n_units, 1)), np.cumsum(panel.promo > 0, axis=1)], axis=1
    )
    stop = np.minimum(table.days + span, panel.n_days)
    days = np.maximum(stop - table.days, 1)
    return (promo[table.units, stop] - promo[table.units, table.days]) / days


def category_uplift(panel: Panel, stop: int, cap: float) -> dict[str, float]:
    """Median over each top-level category's units of promo-day ÷ other-day mean demand.

    Listed days before ``stop`` only; units without both kinds of day do not count; a
    category without such units gets 1. Clipped to ``[1, cap]``.
    """
    listed = panel.active[:, :stop]
    demand = np.where(listed, panel.demand[:, :stop], 0.0)
    promo = (panel.promo[:, :stop] > 0) & listed
    other = ~promo & listed
    n_promo, n_other = promo.sum(1), other.sum(1)
    ok = (n_promo > 0) & (n_other > 0)
    mean_promo = np.where(ok, (demand * promo).sum(1) / np.maximum(n_promo, 1), 0.0)
    mean_other = np.where(ok, (demand * other).sum(1) / np.maximum(n_other, 1), 0.0)
    ok &= mean_other > 0
    ratio = np.where(ok, mean_promo / np.where(ok, mean_other, 1.0), np.nan)
    out = {}
    category = panel.units.category.astype(str)
    for c in np.unique(category):
        r = ratio[(category == c) & ok]
        out[str(c)] = float(np.clip(np.median(r), 1.0, cap)) if r.size else 1.0
    return out


def planner_rule(
    panel: Panel,
    table: LabelTable,
    rows: np.ndarray,
    stop: int,
    cap: float,
    lookahead: int = 0,
) -> tuple[np.ndarray, dict[str, float]]:
    """The rule's ``v_expert`` (days) for label-table ``rows``, and the uplift per category."""
    uplift = category_uplift(panel, stop, cap)
    category = panel.units.category.astype(str)[table.units[rows]]
    u = np.array([uplift[c] for c in category], dtype=np.float64)
    share = promotion_share(panel, table, lookahead)[rows]
    v_star = table.grid[table.v_index[rows]]
    return v_star * (1.0 + (u - 1.0) * share), uplift


def snap_up(v: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The index of the smallest grid value ≥ ``v`` (the largest bin when ``v`` exceeds it)."""
    index = np.searchsorted(grid, v - 1e-9 * np.maximum(1.0, np.abs(v)), side="left")
    return np.minimum(index, len(grid) - 1)


def read_expert_file(path: str | Path, panel: Panel, grid: np.ndarray) -> pl.DataFrame:
    """The expert labels file as ``(unit, day, v_expert)`` panel indices, validated.

    Raises:
        InputError: missing file or column, unknown unit or date, bad ``v_expert``.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(str(file), "expert labels file not found")
    try:
        frame = (
            pl.read_parquet(file)
            if file.suffix.lower() in (".parquet", ".pq")
            else pl.read_csv(file, infer_schema_length=10000)
        )
    except Exception as err:  # noqa: BLE001 — any reader failure is the file's fault
        raise InputError(
            str(file), f"cannot read as CSV or Parquet ({type(err).__name__})"
        ) from None
    for col in EXPERT_COLUMNS:
        if col not in frame.columns:
            raise InputError(str(file), "missing column", column=col)
    if frame.height == 0:
        raise InputError(str(file), "no rows", column="v_expert")
    value = frame["v_expert"].cast(pl.Float64, strict=False)
    bad = value.is_null() | ~value.is_finite() | (value < 0)
    if bad.any():
        i = int(bad.arg_max())
        raise InputError(
            str(file),
            "expected a number ≥ 0",
            column="v_expert",
            where=f"row {i + 1}",
            value=frame["v_expert"][i],
        )
    if (value > grid[-1] + 1e-9).any():
        i = int((value > grid[-1] + 1e-9).arg_max())
        raise InputError(
            str(file),
            f"above the largest decision on the grid ({grid[-1]:g} days)",
            column="v_expert",
            where=f"row {i + 1}",
            value=value[i],
        )
    wanted = frame["unit_id"].cast(pl.String).to_numpy().astype(str)
    units = panel.units.index_of(wanted)
    if (units < 0).any():
        i = int(np.argmax(units < 0))
        raise InputError(
            str(file),
            "unit not in the data",
            column="unit_id",
            where=f"row {i + 1}",
            value=wanted[i],
        )
    dates = frame["date"].cast(pl.String).str.to_date("%Y-%m-%d", strict=False)
    if dates.is_null().any():
        i = int(dates.is_null().arg_max())
        raise InputError(
            str(file),
            "expected a date YYYY-MM-DD",
            column="date",
            where=f"row {i + 1}",
            value=frame["date"][i],
        )
    day = (dates.to_numpy().astype("datetime64[D]") - panel.dates[0]).astype(np.int64)
    outside = (day < 0) | (day >= panel.n_days)
    if outside.any():
        i = int(np.argmax(outside))
        raise InputError(
            str(file),
            "date outside the data's calendar",
            column="date",
            where=f"row {i + 1}",
            value=str(dates[i]),
        )
    return pl.DataFrame({"unit": units, "day": day, "v_expert": value.to_numpy()})


def expert_targets(
    panel: Panel,
    table: LabelTable,
    stop: int,
    expert: str = "",
    cap: float = 3.0,
    lookahead: int = 0,
) -> ExpertTargets:
    """Expert targets of the labelled promotion states (file when given, else the rule)."""
    promo_rows = np.flatnonzero(promotion_states(panel, table, lookahead))
    if expert:
        file = read_expert_file(expert, panel, table.grid)
        states = pl.DataFrame(
            {"unit": table.units[promo_rows], "day": table.days[promo_rows], "row": promo_rows}
        )
        joined = file.join(states, on=["unit", "day"], how="inner").sort("row")
        rows = joined["row"].to_numpy()
        v = joined["v_expert"].to_numpy()
        index = np.abs(table.grid[None, :] - v[:, None]).argmin(1)  # nearest decision
        return ExpertTargets(
            rows, index, table.grid[index], f"file: {expert}", {}, file.height - len(rows)
        )
    v, uplift = planner_rule(panel, table, promo_rows, stop, cap, lookahead)
    index = snap_up(v, table.grid)
    return ExpertTargets(promo_rows, index, table.grid[index], "planner rule", uplift, 0)
