"""The trace-driven lost-sales simulator: one numba day-step for backtests, labels and RL.

Symbols (DESIGN §2, §4):
    L    lead time, days from order to arrival (0: arrives before that day's demand).
    R    review period, days: a unit may order on absolute days t with (t − offset) % R == 0.
    S_t  order-up-to level: the target inventory position on review day t, units.
    IP_t inventory position: on-hand after day t's arrivals + all outstanding orders, units.
    d_t  latent demand of day t, units: lost when not in stock, never backordered.

Events of day t, in this order:
    1. orders due at t arrive: on-hand += pipeline head;
    2. on a review day, order q_t = max(0, S_t − IP_t); it arrives at the start of day t + L
       (L = 0: at once, counted in day t's arrivals), but never before an order placed
       earlier (orders do not cross: this matters for per-order, stochastic lead times);
    3. sales_t = min(on-hand, d_t), lost_t = d_t − sales_t;
    4. the end-of-day on-hand I_t is recorded.

Arrays are ``(batch, unit, day)``, float64: the batch holds candidate decisions (labels),
sampled actions (RL) or one policy (backtest), all replaying the same demand ``(unit, day)``.
The kernels run in parallel over blocks of units, each unit day by day with the batch as the
innermost, vectorised loop over state (on-hand, a ring buffer of pipeline slots) in L1 cache.

``orpr.sim.reference.simulate_reference`` is the executable specification, plain loops
straight from the event list for one unit and batch member: the tests hold the kernels to it;
no hot path uses it.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np


class SimParams(NamedTuple):
    """Per-unit replenishment parameters, int64 ``(unit,)``.

    Attributes:
        lead_time: ``L`` ≥ 0, days: an order placed on day t arrives at the start of t + L.
        review_period: ``R`` ≥ 1, days between order opportunities.
        review_offset: in [0, R): the unit reviews on days t with (t − offset) % R == 0.
    """

    lead_time: np.ndarray
    review_period: np.ndarray
    review_offset: np.ndarray


class SimState(NamedTuple):
    """Stock of every batch member at the start of a day, before that day's arrivals.

    Attributes:
        on_hand: units on hand, float64 ``(batch, unit)``.
        pipeline: outstanding orders, float64 ``(batch, unit, P)``; ``pipeline[..., k]``
            arrives at the start of the k-th next day (k = 0: the next simulated day).
    """

    on_hand: np.ndarray
    pipeline: np.ndarray


class Trajectory(NamedTuple):
    """Daily flows of a simulated window, units, float64 ``(batch, unit, day)``.

    Attributes:
        orders: quantity ordered that day.
        arrivals: quantity arriving that day, including an L = 0 order placed that day.
        sales: ``min(available, d_t)``.
        lost: ``d_t − sales``.
        on_hand: end-of-day on-hand ``I_t``.
    """

    orders: np.ndarray
    arrivals: np.ndarray
    sales: np.ndarray
    lost: np.ndarray
    on_hand: np.ndarray


def initial_state(on_hand: np.ndarray, batch: int, pipeline_len: int) -> SimState:
    """A state with ``on_hand`` ``(unit,)`` copied to every batch member and nothing on order."""
    on_hand = np.asarray(on_hand, dtype=np.float64)
    if on_hand.ndim != 1 or batch < 1 or pipeline_len < 1:
        raise ValueError("initial_state needs on_hand (unit,), batch >= 1 and pipeline_len >= 1")
    stock = np.repeat(on_hand[None, :], batch, axis=0)
    return SimState(stock, np.zeros((batch, on_hand.size, pipeline_len)))


def pipeline_length(lead_time: np.ndarray, order_lead_time: np.ndarray | None = None) -> int:
    """Pipeline slots ``P`` needed for these lead times: the longest lead time + 1 (≥ 1)."""
    leads = [lead_time] if order_lead_time is None else [lead_time, order_lead_time]
    return int(max(np.max(a, initial=0) for a in leads)) + 1


def simulate(
    demand: np.ndarray,
    target: np.ndarray,
    state: SimState,
    params: SimParams,
    day0: int = 0,
    order_lead_time: np.ndarray | None = None,
) -> tuple[Trajectory, SimState]:
    """Simulate a window of days for every batch member and unit, recording every flow.

    Args:
        demand: latent demand ``d``, float64 ≥ 0 ``(unit, day)``, shared by the batch.
        target: order-up-to position ``S``, float64 ``(batch, unit, day)``, read on review
            days only; a zero-stride ``np.broadcast_to`` view is used as is, never copied.
        state: the state at the start of the window.
        params: lead times and review calendar.
        day0: absolute index of the window's first day, for the review calendar.
        order_lead_time: optional per-order lead time, int64 ≥ 0 ``(unit, day)``, used
            instead of ``params.lead_time`` for an order placed that day.

    Returns:
        The window's ``Trajectory`` and the state at its end, from which a simulation of
        the following days continues exactly.
    """
    inputs = _check(demand, target, state, params, day0, order_lead_time)
    flows = np.empty((len(Trajectory._fields), *target.shape))
    end = SimState(np.empty(state.on_hand.shape), np.empty(state.pipeline.shape))
    _simulate_kernel(*inputs, flows, *end)
    return Trajectory(*flows), end


def simulate_totals(
    demand: np.ndarray,
    target: np.ndarray,
    state: SimState,
    params: SimParams,
    window_start: np.ndarray,
    window_stop: np.ndarray,
    day0: int = 0,
    order_lead_time: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Replay the same dynamics as ``simulate`` and sum stock and lost units over windows.

    The label-replay entry point: it stores no trajectory and stops each unit at its window's end.

    Args:
        demand, state, params, day0, order_lead_time: as for ``simulate``.
        target: order-up-to position ``S``, float64 ``(batch, unit, day)``, or ``(batch, unit)``
            for a level held over the whole replay (viewed over days with a zero stride).
        window_start, window_stop: each unit's window ``[start, stop)``, int64 ``(unit,)``,
            in days relative to the first simulated day.

    Returns:
        ``(stock, lost)``, float64 ``(batch, unit)``: the sums of end-of-day on-hand ``I_t``
        and of lost units over each unit's window.
    """
    if np.ndim(target) == 2:  # a constant level: view it over days with a zero stride
        target = np.broadcast_to(target[:, :, None], (*target.shape, np.shape(demand)[-1]))
    inputs = _check(demand, target, state, params, day0, order_lead_time)
    n_unit, n_day = inputs[0].shape
    start, stop = (np.ascontiguousarray(a, dtype=np.int64) for a in (window_start, window_stop))
    _require(start.shape == stop.shape == (n_unit,), "windows must be (unit,) arrays")
    in_range = np.all((start >= 0) & (start <= stop) & (stop <= n_day))
    _require(in_range, f"windows need 0 <= start <= stop <= {n_day}")
    stock, lost = np.empty(state.on_hand.shape), np.empty(state.on_hand.shape)
    _totals_kernel(*inputs, start, stop, stock, lost)
    return stock, lost


def _require(ok: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``ok``: a programming mistake, not bad data."""
    if not ok:
        raise ValueError(message)


def _check(demand, target, state, params, day0, order_lead_time):
    """Validate shapes and dtypes; return the kernels' inputs (see ``_INPUTS``)."""
    demand = np.ascontiguousarray(demand)
    arrays = {"demand": demand, "target": target, "state.on_hand": state.on_hand}
    for name, arr in {**arrays, "state.pipeline": state.pipeline}.items():
        _require(getattr(arr, "dtype", None) == np.float64, f"{name} must be a float64 array")
    _require(demand.ndim == 2 and state.pipeline.ndim == 3, "need demand 2-d, state.pipeline 3-d")
    (n_unit, n_day), (n_batch, _, n_slot) = demand.shape, state.pipeline.shape
    shapes = [(n_unit, n_day), (n_batch, n_unit, n_day), (n_batch, n_unit)]
    for (name, arr), shape in zip(arrays.items(), shapes, strict=True):
        _require(arr.shape == shape, f"{name} must have shape {shape}, got {arr.shape}")
    _require(state.pipeline.shape[1] == n_unit, f"state.pipeline must be (batch, {n_unit}, P)")
    _require(not np.any(state.pipeline < 0), "state.pipeline must be >= 0")
    lead, first, period = _calendar(params, n_unit, n_day, day0, order_lead_time)
    needed = pipeline_length(params.lead_time, lead)
    _require(n_slot >= needed, f"pipeline has {n_slot} slots, the lead times need {needed}")
    on_hand, pipeline = (np.ascontiguousarray(a) for a in state)
    return demand, target, lead, first, period, on_hand, pipeline


def _calendar(params, n_unit, n_day, day0, order_lead_time):
    """Validate ``params``; return each day's order lead time, the first review day and R."""
    lead_time, period, offset = (np.ascontiguousarray(a, dtype=np.int64) for a in params)
    shaped = all(a.shape == (n_unit,) for a in (lead_time, period, offset))
    _require(shaped, f"params must be ({n_unit},) arrays")
    _require(np.all((period >= 1) & (offset >= 0) & (offset < period)), "need 0 <= offset < R")
    lead = np.broadcast_to(lead_time[:, None], (n_unit, n_day))  # zero-stride, no copy
    if order_lead_time is not None:
        lead = np.asarray(order_lead_time, dtype=np.int64)
        _require(lead.shape == (n_unit, n_day), f"order_lead_time must be {(n_unit, n_day)}")
    _require(not (np.any(lead_time < 0) or np.any(lead < 0)), "lead times must be >= 0")
    return lead, (offset - day0) % period, period


_BLOCK = 32  # units per parallel task: enough work per task, small enough to balance threads
_ORDER, _ARRIVAL, _SALES, _LOST, _STOCK = range(5)  # rows of ``now``: ``Trajectory`` order


# Compiled once, at import (cached on disk), for these types; read-only accepts writable arrays.
# The wrappers make the "C" inputs contiguous; target and lead may be strided or zero-stride.
_F8, _I8 = numba.float64, numba.int64
_INPUTS = tuple(  # demand, target, lead, first review day, R, on_hand, pipeline (`::1`: "C")
    t.copy(readonly=True)
    for t in (_F8[:, ::1], _F8[:, :, :], _I8[:, :], _I8[::1], _I8[::1], _F8[:, ::1], _F8[:, :, ::1])
)
_SIMULATE = numba.void(*_INPUTS, _F8[:, :, :, ::1], _F8[:, ::1], _F8[:, :, ::1])  # + flows, end
_TOTALS = numba.void(*_INPUTS, *_INPUTS[3:5], _F8[:, ::1], _F8[:, ::1])  # + windows, sums


@numba.njit
def _scratch(n_batch, n_slot):
    """One unit's working state, reused unit after unit (see ``_load``)."""
    return np.empty((n_slot, n_batch)), np.empty((5, n_batch)), np.empty(n_batch, np.int64)


@numba.njit(inline="always")
def _load(ring, now, due, on_hand, pipeline, u):
    """Copy unit ``u``'s start state into its scratch and return the horizon.

    ``ring`` ``(P, batch)`` holds the pipeline: row ``head`` arrives today, row ``head + k``
    k days later, wrapping around; ``head`` starts at row 0. ``now`` ``(5, batch)`` holds the
    day's flows in ``Trajectory`` order, its last row the on-hand. ``due`` ``(batch,)`` is the
    last day (relative to the window start) on which an outstanding order arrives, −1 if none.
    The horizon is the batch's latest ``due``: ring rows due later are empty.
    """
    horizon = -1
    for b in range(due.size):
        now[_STOCK, b] = on_hand[b, u]
        due[b] = -1
        for k in range(ring.shape[0]):
            ring[k, b] = pipeline[b, u, k]
            if pipeline[b, u, k] > 0.0:
                due[b] = k
        horizon = max(horizon, due[b])
    return horizon


@numba.njit(inline="always")
def _store(ring, now, head, on_hand, pipeline, u):
    """Write unit ``u``'s end state from its scratch, pipeline unrolled from ``head``."""
    for b in range(now.shape[1]):
        on_hand[b, u] = now[_STOCK, b]
        for k in range(ring.shape[0]):
            pipeline[b, u, k] = ring[(head + k) % ring.shape[0], b]


@numba.njit(inline="always")
def _review(ring, now, due, head, horizon, t, target, lead):
    """Event 2 for every batch member: order up to ``target[:, t]``; returns the horizon."""
    n_slot, n_batch = ring.shape
    position = now[_ORDER]  # IP first, then overwritten by the order
    for b in range(n_batch):
        position[b] = now[_STOCK, b]
    for k in range(1, min(n_slot, horizon - t + 1)):  # add the rows due 1, 2, … days ahead
        row = head + k if head + k < n_slot else head + k - n_slot
        for b in range(n_batch):
            position[b] += ring[row, b]
    for b in range(n_batch):
        gap = target[b, t] - position[b]
        now[_ORDER, b] = gap if gap > 0.0 else 0.0
        if gap > 0.0:
            lag = max(lead, due[b] - t)  # orders do not cross
            due[b] = t + lag
            horizon = max(horizon, t + lag)
            if lag == 0:
                now[_STOCK, b] += gap
                now[_ARRIVAL, b] += gap
            else:
                ring[head + lag if head + lag < n_slot else head + lag - n_slot, b] += gap
    return horizon


@numba.njit(inline="always")
def _day(ring, now, due, head, horizon, review, d, t, target, lead):
    """Advance every batch member of one unit through day ``t`` (events 1–3).

    Takes the unit's scratch (see ``_load``), today's ring row ``head``, the ``horizon``,
    whether t is a ``review`` day, the demand ``d``, the unit's targets ``(batch, day)``, the
    lead time of today's order; leaves the flows in ``now``, returns the next head and horizon.
    """
    n_slot, n_batch = ring.shape
    for b in range(n_batch):
        now[_ARRIVAL, b] = ring[head, b]
        ring[head, b] = 0.0
        now[_STOCK, b] += now[_ARRIVAL, b]
        now[_ORDER, b] = 0.0
    if review:
        horizon = _review(ring, now, due, head, horizon, t, target, lead)
    for b in range(n_batch):
        now[_SALES, b] = now[_STOCK, b] if now[_STOCK, b] < d else d
        now[_LOST, b] = d - now[_SALES, b]
        now[_STOCK, b] -= now[_SALES, b]
    return head + 1 if head + 1 < n_slot else 0, horizon


@numba.njit(_SIMULATE, parallel=True, cache=True, fastmath=False)
def _simulate_kernel(
    demand, target, lead, first, period, on_hand, pipeline, flows, end_on_hand, end_pipeline
):
    """Fill ``flows`` ``(5, batch, unit, day)`` in ``Trajectory`` order and the end state."""
    (n_batch, n_unit, n_slot), n_day = pipeline.shape, demand.shape[1]
    for block in numba.prange((n_unit + _BLOCK - 1) // _BLOCK):
        ring, now, due = _scratch(n_batch, n_slot)
        unit_flows = np.empty((5, n_day, n_batch))  # filled day by day, then copied by rows
        for u in range(block * _BLOCK, min(n_unit, (block + 1) * _BLOCK)):
            horizon, head, until_review = _load(ring, now, due, on_hand, pipeline, u), 0, first[u]
            targets = target[:, u]
            for t in range(n_day):
                d = demand[u, t]
                head, horizon = _day(
                    ring, now, due, head, horizon, until_review == 0, d, t, targets, lead[u, t]
                )
                until_review = until_review - 1 if until_review > 0 else period[u] - 1
                for f in range(5):
                    for b in range(n_batch):
                        unit_flows[f, t, b] = now[f, b]
            for f in range(5):
                for b in range(n_batch):
                    for t in range(n_day):
                        flows[f, b, u, t] = unit_flows[f, t, b]
            _store(ring, now, head, end_on_hand, end_pipeline, u)


@numba.njit(_TOTALS, parallel=True, cache=True, fastmath=False)
def _totals_kernel(
    demand, target, lead, first, period, on_hand, pipeline, start, stop, stock_sum, lost_sum
):
    """Sum end-of-day on-hand and lost units over each unit's window; see ``simulate_totals``."""
    n_batch, n_unit, n_slot = pipeline.shape
    for block in numba.prange((n_unit + _BLOCK - 1) // _BLOCK):
        ring, now, due = _scratch(n_batch, n_slot)
        held, short = np.empty(n_batch), np.empty(n_batch)  # contiguous, unlike the outputs
        for u in range(block * _BLOCK, min(n_unit, (block + 1) * _BLOCK)):
            horizon, head, until_review = _load(ring, now, due, on_hand, pipeline, u), 0, first[u]
            targets, days, period_u, start_u = target[:, u], demand[u], period[u], start[u]
            for b in range(n_batch):
                held[b], short[b] = 0.0, 0.0
            for t in range(stop[u]):
                d = days[t]
                head, horizon = _day(
                    ring, now, due, head, horizon, until_review == 0, d, t, targets, lead[u, t]
                )
                until_review = until_review - 1 if until_review > 0 else period_u - 1
                if t >= start_u:
                    for b in range(n_batch):
                        held[b] += now[_STOCK, b]
                        short[b] += now[_LOST, b]
            for b in range(n_batch):
                stock_sum[b, u], lost_sum[b, u] = held[b], short[b]
