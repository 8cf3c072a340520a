"""Rolling backtest: a policy decides on each review day, the simulator replays latent demand.

The window ``[start, stop)`` is walked day by day over all units at once: on day ``t`` the
reviewing units' policy decisions ``v`` become order-up-to levels ``S_t = v · d̂_t`` and the
kernel advances every unit one day (arrivals → order → demand → end-of-day on-hand). A policy
sees only the history before ``t`` and the current position.

Start: each unit begins at its policy's first decision in a steady position — on-hand
``S − L·d̂`` and one day's ``d̂`` arriving on each of the next ``L`` days, so the inventory
position equals ``S`` — because the data records no inventory (documented in
``docs/evaluation.md``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from orpr.panel import Panel
from orpr.policies import DecisionContext, Policy
from orpr.sim import SimParams, SimState, pipeline_length, simulate


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


def sim_params(panel: Panel) -> SimParams:
    """The simulator's per-unit parameters from the unit table."""
    u = panel.units
    return SimParams(u.lead_time, u.review_period, u.review_offset)


def review_days(params: SimParams, day0: int, days: int) -> np.ndarray:
    """Whether each unit may order on each day, bool ``(unit, day)``: ``(t − offset) % R == 0``."""
    t = np.arange(day0, day0 + days)[None, :]
    return (t - params.review_offset[:, None]) % params.review_period[:, None] == 0


def steady_state(target: np.ndarray, d_hat: np.ndarray, lead_time: np.ndarray, slots: int) -> SimState:
    """A position whose inventory position equals ``target``, with orders in flight.

    Args:
        target: order-up-to level ``S``, units ``(batch, unit)``.
        d_hat: reference rate, units/day ``(unit,)``.
        lead_time: ``L`` per unit ``(unit,)``.
        slots: pipeline length of the simulator state.

    Returns:
        On-hand ``max(S − L·d̂, 0)`` and ``min(d̂, S/L)`` arriving on each of the next ``L`` days.
    """
    batch, units = target.shape
    lead = lead_time.astype(np.float64)
    per_day = np.where(lead > 0, np.minimum(d_hat, target / np.maximum(lead, 1.0)), 0.0)
    pipeline = np.zeros((batch, units, slots))
    k = np.arange(slots)[None, :]
    in_flight = (k < lead_time[:, None]).astype(np.float64)  # (unit, slots)
    pipeline[:] = per_day[..., None] * in_flight[None]
    on_hand = target - per_day * lead
    return SimState(on_hand=np.maximum(on_hand, 0.0), pipeline=pipeline)


def run_backtest(
    panel: Panel, policy: Policy, d_hat: np.ndarray, start: int, stop: int
) -> BacktestResult:
    """Walk ``policy`` over days ``[start, stop)`` of ``panel``.

    Args:
        panel: the whole panel (a policy only ever sees the days before its decision day).
        policy: the policy to replay.
        d_hat: reference rates for the whole panel, units/day ``(unit, day)``.
        start, stop: the window, absolute day indices; ``start ≥ 1``.
    """
    params = sim_params(panel)
    demand = np.where(panel.active, panel.demand, 0.0)
    slots = pipeline_length(params.lead_time)
    days = stop - start
    review = review_days(params, start, days)
    v = np.full((panel.n_units, days), np.nan)
    traj = {k: np.zeros((panel.n_units, days)) for k in ("orders", "arrivals", "sales", "lost", "on_hand")}
    state = None
    for j, t in enumerate(range(start, stop)):
        if state is None:
            first = _decide(panel, policy, t, np.arange(panel.n_units), d_hat[:, t], None)
            state = steady_state((first * d_hat[:, t])[None], d_hat[:, t], params.lead_time, slots)
        due = np.flatnonzero(review[:, j])
        v[due, j] = _decide(panel, policy, t, due, d_hat[due, t], state)
        target = np.where(np.isnan(v[:, j]), 0.0, v[:, j]) * d_hat[:, t]
        step, state = simulate(demand[:, t : t + 1], target[None, :, None], state, params, day0=t)
        for name, arr in traj.items():
            arr[:, j] = getattr(step, name)[0, :, 0]
    return BacktestResult(
        policy.name, policy.oracle, start, stop, v, d_hat[:, start:stop].copy(), **traj
    )


def _decide(
    panel: Panel, policy: Policy, t: int, units: np.ndarray, d_hat: np.ndarray,
    state: SimState | None,
) -> np.ndarray:
    """Ask the policy for the units reviewing on ``t``, given the state before ``t``'s arrivals."""
    if state is None:
        on_hand = np.zeros(len(units))
        pipeline = np.zeros((len(units), 0))
    else:
        on_hand = state.on_hand[0, units] + state.pipeline[0, units, 0]
        pipeline = state.pipeline[0, units, 1:]
    ctx = DecisionContext(t, units, panel.take_days(0, t), d_hat, on_hand, pipeline)
    v = np.asarray(policy.decide(ctx), dtype=np.float64)
    if v.shape != units.shape or not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError(f"policy {policy.name} returned invalid inventory days on day {t}")
    return v
