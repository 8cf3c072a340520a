"""The simulator's executable specification: the event list of a day as plain Python loops.

One unit and one batch member, no speed: the tests hold the numba kernels of
``orpr.sim.kernel`` to it, bit for bit. Symbols and the event order of a day are the
kernel's (``orpr.sim.kernel``): arrivals, the review's order ``q_t = max(0, S_t − IP_t)``
(arriving after ``L`` days, never crossing an earlier order), sales ``min(on-hand, d_t)``,
lost ``d_t − sales``, end-of-day on-hand ``I_t``.
"""

from __future__ import annotations

import numpy as np

from orpr.sim.kernel import SimParams, SimState, Trajectory


def simulate_reference(
    demand: np.ndarray,
    target: np.ndarray,
    state: SimState,
    params: SimParams,
    day0: int = 0,
    order_lead_time: np.ndarray | None = None,
) -> tuple[Trajectory, SimState]:
    """The executable specification: one unit, one batch member, plain loops, no speed.

    Arguments and results are ``simulate``'s without the batch and unit axes: ``demand``,
    ``target``, ``order_lead_time`` and the ``Trajectory`` are ``(day,)``, ``state`` is a
    scalar on-hand and a ``(P,)`` pipeline, ``params`` holds three ints.
    """
    lead_time, review_period, review_offset = (int(x) for x in params)
    stock, pipe = float(state.on_hand), [float(x) for x in state.pipeline]
    rows = []  # (order, arrival, sales, lost, on_hand) of each day
    for t, d in enumerate(float(x) for x in demand):
        arrival, pipe = pipe[0], [*pipe[1:], 0.0]  # pipe[j]: arrives j + 1 days from today
        stock += arrival
        order = 0.0
        if (day0 + t - review_offset) % review_period == 0:
            position = stock
            for x in pipe:
                position += x
            order = max(0.0, float(target[t]) - position)
        if order > 0.0:
            lag = lead_time if order_lead_time is None else int(order_lead_time[t])
            lag = max([lag] + [j + 1 for j, x in enumerate(pipe) if x > 0.0])  # no crossing
            if lag == 0:
                stock, arrival = stock + order, arrival + order
            else:
                pipe[lag - 1] += order
        sales = min(stock, d)
        stock -= sales
        rows.append((order, arrival, sales, d - sales, stock))
    flows = np.array(rows, dtype=np.float64).reshape(-1, len(Trajectory._fields)).T
    return Trajectory(*flows), SimState(np.array(stock), np.array(pipe))
