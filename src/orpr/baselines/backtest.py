"""Rolling backtest: a policy decides on each review day, the simulator replays latent demand.

The window ``[start, stop)`` is walked day by day over all units at once: on day ``t`` the
reviewing units' policy decisions ``v`` become order-up-to levels ``S_t = v · d̂_t`` and the
kernel advances every unit one day (arrivals → order → demand → end-of-day on-hand). A policy
sees only the history before ``t`` and the current position.

Start: the data records no inventory, so every unit starts ``warmup`` days before the
scored window in the steady position of a days-of-cover rule ``S = (L + R) · d̂`` (the same
for every policy), and the policy then decides as usual through the warm-up days, so each
policy reaches its own regime (and review-cycle position) before scoring begins.

Shards (``run_sharded``): units are independent in the backtest, so the walk can be split
into unit ranges (``orpr.compute``) and joined in unit order, bit for bit the same.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from orpr.baselines.contract import DecisionContext, Policy
from orpr.compute import Engine, spans
from orpr.data.panel import Panel, Units
from orpr.sim.kernel import SimParams, SimState, pipeline_length, simulate
from orpr.sim.metrics import WindowTotals, window_totals


class BacktestResult(NamedTuple):
    """A policy's simulated window; daily arrays ``(unit, day)`` over ``[start, stop)``.

    Attributes:
        policy: the policy's name.
        oracle: the policy looked ahead (not implementable).
        start, stop: the window, absolute day indices.
        inventory_days: decisions ``v`` on review days, NaN on other days.
        d_hat: reference rate ``d̂_t``, units/day.
        orders, arrivals, sales, lost, on_hand: the simulator's trajectories, units.
    """

    policy: str
    oracle: bool
    start: int
    stop: int
    inventory_days: np.ndarray
    d_hat: np.ndarray
    orders: np.ndarray
    arrivals: np.ndarray
    sales: np.ndarray
    lost: np.ndarray
    on_hand: np.ndarray

    def totals(self, units: Units, mask: np.ndarray) -> WindowTotals:
        """The window's per-unit totals over the unit-days where ``mask`` holds, priced with
        the units' ``c, h, p`` (``orpr.sim.metrics.window_totals``)."""
        return window_totals(
            self.on_hand,
            self.sales,
            self.lost,
            units.unit_cost,
            units.holding_rate,
            units.lost_penalty,
            mask,
        )


def sim_params(panel: Panel) -> SimParams:
    """The simulator's per-unit parameters from the unit table."""
    u = panel.units
    return SimParams(u.lead_time, u.review_period, u.review_offset)


def order_up_to(
    inventory_days: np.ndarray,
    d_hat: np.ndarray,
    whole_units: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The order-up-to level ``S = v · d̂`` (broadcast), rounded to the nearest whole unit for
    goods that come in whole units (``Units.whole_units``), units; into ``out`` if given."""
    target = np.multiply(inventory_days, d_hat, out=out)
    return np.rint(target, out=target) if whole_units else target


def review_days(params: SimParams, day0: int, days: int) -> np.ndarray:
    """Whether each unit may order on each day, bool ``(unit, day)``: ``(t − offset) % R == 0``."""
    t = np.arange(day0, day0 + days)[None, :]
    return (t - params.review_offset[:, None]) % params.review_period[:, None] == 0


def steady_state(
    target: np.ndarray, d_hat: np.ndarray, lead_time: np.ndarray, slots: int
) -> SimState:
    """The position of a unit that has ordered up to ``target`` every day at demand ``d̂``.

    At the start of a day, before arrivals, such a unit holds the orders of the last ``L``
    days in its pipeline (``d̂`` each) and ``S − (L + 1)·d̂`` on hand: yesterday it ordered up
    to ``S`` and then sold ``d̂``. Where ``S < (L + 1)·d̂`` the flow is scaled down to
    ``S / (L + 1)`` per day.

    Args:
        target: order-up-to level ``S``, units ``(batch, unit)``.
        d_hat: reference rate, units/day ``(unit,)``.
        lead_time: ``L`` per unit ``(unit,)``.
        slots: pipeline length of the simulator state.

    Returns:
        A state with inventory position ``S − flow`` (so the first review orders one day's flow).
    """
    lead = lead_time.astype(np.float64)
    flow = np.minimum(d_hat, target / (lead + 1.0))  # (batch, unit)
    in_flight = (np.arange(slots)[None, :] < lead_time[:, None]).astype(np.float64)
    pipeline = flow[..., None] * in_flight[None]  # (batch, unit, slots)
    on_hand = np.maximum(target - flow * (lead + 1.0), 0.0)
    return SimState(on_hand=on_hand, pipeline=pipeline)


def run_backtest(
    panel: Panel,
    policy: Policy,
    d_hat: np.ndarray,
    start: int,
    stop: int,
    warmup: int = 0,
    units: slice = slice(None),
) -> BacktestResult:
    """Walk ``policy`` over days ``[start − warmup, stop)`` of ``panel``; keep ``[start, stop)``.

    Args:
        panel: the whole panel (a policy only ever sees the days before its decision day).
        policy: the policy to replay.
        d_hat: reference rates for the whole panel, units/day ``(unit, day)``.
        start, stop: the scored window, absolute day indices.
        warmup: days simulated (with the policy deciding) before ``start`` and not returned.
        units: the unit range walked (a shard, see ``run_sharded``); the policy still sees
            the whole panel and panel unit indices; the result holds these units' rows.
    """
    params = sim_params(panel)
    slots = pipeline_length(params.lead_time)  # the whole panel's: the same state in any shard
    rows = np.arange(panel.n_units)[units]
    params = SimParams(*(a[units] for a in params))
    demand = np.where(panel.active[units], panel.demand[units], 0.0)
    rate = d_hat[units]
    first = start - warmup
    if first < 1:
        raise ValueError(f"the warm-up would start on day {first}; it needs history before it")
    cover = (params.lead_time + params.review_period) * rate[:, first]
    state = steady_state(cover[None], rate[:, first], params.lead_time, slots)
    review = review_days(params, first, stop - first)
    v = np.full((len(rows), stop - first), np.nan)
    names = ("orders", "arrivals", "sales", "lost", "on_hand")
    traj = {k: np.zeros((len(rows), stop - first)) for k in names}
    for j, t in enumerate(range(first, stop)):
        due = np.flatnonzero(review[:, j])
        v[due, j] = _decide(panel, policy, t, rows[due], rate[due, t], state, due)
        target = order_up_to(
            np.where(np.isnan(v[:, j]), 0.0, v[:, j]), rate[:, t], panel.units.whole_units
        )
        step, state = simulate(demand[:, t : t + 1], target[None, :, None], state, params, day0=t)
        for name, arr in traj.items():
            arr[:, j] = getattr(step, name)[0, :, 0]
    keep = slice(warmup, None)
    return BacktestResult(
        policy.name,
        policy.oracle,
        start,
        stop,
        v[:, keep],
        rate[:, start:stop].copy(),
        **{k: arr[:, keep] for k, arr in traj.items()},
    )


def run_sharded(
    engine: Engine,
    panel: Panel,
    policy: Policy,
    d_hat: np.ndarray,
    start: int,
    stop: int,
    warmup: int = 0,
    whole: bool = False,
) -> BacktestResult:
    """``run_backtest`` over the engine's unit ranges, joined in unit order.

    Units are simulated one by one, so for a policy that decides each unit from that unit's
    own data the join equals the one-range backtest bit for bit. Any other policy is walked
    whole, in this process (``whole``): one that decides across units (a group knapsack), or
    whose floats depend on which units share a batch (a model's batched matrix products).
    """
    if whole:
        return run_backtest(panel, policy, d_hat, start, stop, warmup)
    ranges = spans(panel.n_units, engine.shards)
    shared = engine.share(panel), engine.share(policy), engine.share(d_hat)
    parts = engine.run(run_backtest, [(*shared, start, stop, warmup, r) for r in ranges])
    if len(parts) == 1:
        return parts[0]
    head = parts[0]
    return head._replace(
        **{
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in BacktestResult._fields[4:]
        }
    )


def _decide(
    panel: Panel,
    policy: Policy,
    t: int,
    units: np.ndarray,
    d_hat: np.ndarray,
    state: SimState,
    rows: np.ndarray,
) -> np.ndarray:
    """Ask the policy for the units reviewing on ``t`` (panel indices; ``rows`` of ``state``),
    given the state before ``t``'s arrivals."""
    on_hand = state.on_hand[0, rows] + state.pipeline[0, rows, 0]
    pipeline = state.pipeline[0, rows, 1:]
    history = replace(panel.take_days(0, t), true_demand=None)
    ctx = DecisionContext(t, units, history, d_hat, on_hand, pipeline)
    v = np.asarray(policy.decide(ctx), dtype=np.float64)
    if v.shape != units.shape or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"policy {policy.name} returned invalid inventory days on day {t}")
    return v
