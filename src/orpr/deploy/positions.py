"""Inventory positions on a decision day ``D`` and the orders they lead to.

Symbols: ``D`` the decision day; ``L`` lead time (days); ``d̂_D`` the reference rate
(units/day); ``v`` inventory days; ``S = v · d̂_D`` the target position; ``on_hand`` units on
hand after ``D``'s arrivals; ``pipeline`` all outstanding orders (units);
``q = max(0, S − on_hand − pipeline)`` the order quantity (units).

A position comes from one of two places:

- a positions file (``unit_id, on_hand`` and optional ``pipeline``): the policy decides from
  it (``Policy.decide``) and the order is the simulator's order-up-to step from it;
- the backtest: the policy is walked over the days before ``D`` (``backtest.run_backtest``)
  and the decision, position and order of day ``D`` are the backtest's own.

A decision day just after the data is simulated on the panel grown by that day
(``extend_one_day``): its demand is unknown and never read before the order is placed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from orpr.baselines.backtest import order_up_to, run_backtest, sim_params
from orpr.baselines.contract import DecisionContext, Policy
from orpr.config import Config
from orpr.data.panel import Panel
from orpr.data.tables import check_units, first_bad_row, number_checks, read_user_table, unit_checks
from orpr.data.validate import number, unit_key
from orpr.sim.kernel import SimState, pipeline_length, simulate


class Positions(NamedTuple):
    """Positions read from a file, aligned with the panel's units, units ``(unit,)``.

    Attributes:
        on_hand: on-hand after the decision day's arrivals; NaN where the file has no row.
        pipeline: total outstanding orders (0 where the file has no ``pipeline`` column).
        source: the file.
    """

    on_hand: np.ndarray
    pipeline: np.ndarray
    source: str

    def take(self, idx: np.ndarray) -> Positions:
        """The positions of the units at ``idx``."""
        return Positions(self.on_hand[idx], self.pipeline[idx], self.source)


def read_positions(path: str | Path, unit_ids: np.ndarray) -> Positions:
    """Read and check a positions file (``unit_id, on_hand`` and optional ``pipeline``).

    Raises:
        InputError: a missing column, a missing, non-numeric, non-finite or negative value,
            a unit not in the data, or a unit on two rows — naming file, column, row, value.
    """
    file = str(path)
    df = read_user_table(path, ("unit_id", "on_hand"))
    columns = [c for c in ("on_hand", "pipeline") if c in df.columns]
    first_bad_row(
        df, unit_checks() + [c for name in columns for c in number_checks(df, name)], file
    )
    check_units(df, file, unit_ids, "the data")
    at = {u: i for i, u in enumerate(unit_ids.astype(str))}
    rows = np.array([at[u] for u in df.select(unit_key()).to_series()])
    on_hand, pipeline = np.full(len(unit_ids), np.nan), np.zeros(len(unit_ids))
    values = df.select(number(df, c) for c in columns)
    on_hand[rows] = values["on_hand"].to_numpy()
    if "pipeline" in columns:
        pipeline[rows] = values["pipeline"].to_numpy()
    return Positions(on_hand, pipeline, file)


@dataclass(frozen=True)
class Recorder:
    """Wraps a policy in the backtest and keeps the position it was shown on ``day``."""

    policy: Policy
    day: int
    seen: dict[str, np.ndarray] = field(default_factory=dict)
    oracle: bool = False

    @property
    def name(self) -> str:
        return self.policy.name

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        if ctx.day == self.day:
            self.seen.update(units=ctx.units, on_hand=ctx.on_hand, pipeline=ctx.pipeline.sum(1))
        return self.policy.decide(ctx)


def simulated_orders(
    window: Panel, policy: Policy, day: int, d_hat: np.ndarray, cfg: Config
) -> tuple[np.ndarray, ...]:
    """Decision, position and order of every unit on ``day``, from the backtest.

    Returns:
        ``(v, on_hand, pipeline, orders)``, ``(unit,)``; NaN for units not reviewing.
    """
    warmup = min(cfg.split.warmup_days, day - 1)
    recorder = Recorder(policy, day)
    result = run_backtest(window, recorder, d_hat, day, day + 1, warmup)
    on_hand, pipeline = np.full(window.n_units, np.nan), np.full(window.n_units, np.nan)
    if recorder.seen:
        units = recorder.seen["units"]
        on_hand[units], pipeline[units] = recorder.seen["on_hand"], recorder.seen["pipeline"]
    return result.inventory_days[:, 0], on_hand, pipeline, result.orders[:, 0]


def file_orders(
    window: Panel,
    policy: Policy,
    day: int,
    d_hat: np.ndarray,
    positions: Positions,
    due: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Decision and order of the ``due`` units on ``day`` from the positions of a file.

    The policy sees the history before ``day`` and the file's position; the order is the
    simulator's order-up-to step from that position. A total pipeline is spread evenly over
    the days ``D + 1 … D + max(L − 1, 1)`` (the shape of a unit that orders every day).

    Returns:
        ``(v, orders)``, ``(unit,)``; NaN where not ``due``.
    """
    params = sim_params(window)
    slots = max(pipeline_length(params.lead_time), 2)
    on_hand = np.where(np.isfinite(positions.on_hand), positions.on_hand, 0.0)
    state = SimState(
        on_hand[None], spread_pipeline(positions.pipeline, params.lead_time, slots)[None]
    )
    units = np.flatnonzero(due)
    v = np.full(window.n_units, np.nan)
    if units.size:
        history = replace(window.take_days(0, day), true_demand=None)
        ctx = DecisionContext(
            day, units, history, d_hat[units, day], on_hand[units], state.pipeline[0, units, 1:]
        )
        v[units] = policy.decide(ctx)
    target = np.where(
        due, order_up_to(np.nan_to_num(v), d_hat[:, day], window.units.whole_units), 0.0
    )
    step, _ = simulate(
        np.zeros((window.n_units, 1)), target[None, :, None], state, params, day0=day
    )
    return v, np.where(due, step.orders[0, :, 0], np.nan)


def spread_pipeline(total: np.ndarray, lead_time: np.ndarray, slots: int) -> np.ndarray:
    """A total pipeline as simulator slots ``(unit, slots)``: slot 0 (today's arrivals, already
    on hand) empty, slots ``1 … max(L − 1, 1)`` sharing the total evenly."""
    last = np.clip(lead_time - 1, 1, slots - 1)
    k = np.arange(slots)[None, :]
    share = ((k >= 1) & (k <= last[:, None])) / last[:, None]
    return total[:, None] * share


def extend_one_day(panel: Panel) -> Panel:
    """The panel and one more day: no demand or sales recorded, full price, no promotion or
    holiday, each unit listed as on the last day (the decision day after the data)."""

    def grow(arr: np.ndarray, value: float | None) -> np.ndarray:
        extra = arr[:, -1:] if value is None else np.full((arr.shape[0], 1), value, arr.dtype)
        return np.concatenate([arr, extra], axis=1)

    zero = ("sales", "demand", "stockout_fraction", "promo", "holiday")
    return replace(
        panel,
        dates=np.append(panel.dates, panel.dates[-1] + 1),
        **{name: grow(getattr(panel, name), 0.0) for name in zero},
        discount=grow(panel.discount, 1.0),
        in_stock_share=grow(panel.in_stock_share, 1.0),
        active=grow(panel.active, None),
        true_demand=None if panel.true_demand is None else grow(panel.true_demand, 0.0),
    )
