"""Rolling label generation: the OR policy's own trajectory, one day at a time.

Symbols: t decision day, ``L, R`` lead time and review period (days), ``H`` replay horizon
(days), ``v*`` the label (inventory days), ``λ*`` its group's multiplier, ``d̂_t`` reference
rate (units per day), α the service target.

Days ``[start, stop)`` are walked in order. On day t the units reviewing that day decide
together (``replay.decide_groups``: candidate replay + knapsack per group). Every unit follows
the simulator under its current label; units not reviewing keep their pipeline. Each unit
keeps its own clock (``Book``): it is advanced over all the days since its last review when
it reviews again, which is the same day-by-day simulation in one kernel call per group of
units. A unit's first label starts it in the steady position of ``v* · d̂_t``
(``backtest.steady_state``).

The end of the window: a review day is labelled only if its whole horizon fits,
``t + H ≤ stop``, so every label sums the same span of days and never sees past ``stop``.
On later review days the unit keeps its last label (the trajectory still runs to ``stop``,
for the label policy's metrics). Units with no labelled review day are never started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from orpr.backtest import review_days, steady_state
from orpr.config import LabelsConfig
from orpr.labels.replay import GroupDecision, LabelInputs, Positions, Workspace, decide_groups
from orpr.sim import SimParams, SimState, simulate


class StateRows(NamedTuple):
    """One row per labelled state, day-major then unit order; arrays ``(state,)``.

    Attributes:
        unit: panel unit index.
        day: the decision day t.
        v_index: grid index of ``v*``.
        lam: ``λ*`` of the state's group, days.
        met: the group's budget held.
        start: the state is the unit's first (its position is the steady one of ``v*``).
        stock, loss, sale: the chosen v's ``Σ c·I``, ``Σ c·lost`` (value-days, value) and
            ``Σ c·d`` (value) over ``[t + L, t + H)``.
        d_hat: ``d̂_t``, units per day.
        on_hand: units on hand after day t's arrivals.
        pipeline: outstanding orders after the arrivals, units ``(state, P − 1)``; slot k
            arrives on day t + 1 + k.
        cand_stock, cand_loss: every candidate's stock and loss, float32 ``(state, candidate)``.
    """

    unit: np.ndarray
    day: np.ndarray
    v_index: np.ndarray
    lam: np.ndarray
    met: np.ndarray
    start: np.ndarray
    stock: np.ndarray
    loss: np.ndarray
    sale: np.ndarray
    d_hat: np.ndarray
    on_hand: np.ndarray
    pipeline: np.ndarray
    cand_stock: np.ndarray
    cand_loss: np.ndarray


class Flows(NamedTuple):
    """The label policy's daily trajectory over ``[start, stop)``, units ``(unit, day)``."""

    on_hand: np.ndarray
    sales: np.ndarray
    lost: np.ndarray


class LabelTrace(NamedTuple):
    """A rolling label run.

    Attributes:
        rows: the labelled states.
        flows: the trajectory under the labels.
        first_day: each unit's first labelled day (``stop`` if none), ``(unit,)``.
        start, stop: the window, absolute days.
        alpha: the service target used.
    """

    rows: StateRows
    flows: Flows
    first_day: np.ndarray
    start: int
    stop: int
    alpha: float


def labelled_days(inputs: LabelInputs, start: int, stop: int) -> np.ndarray:
    """Review days whose horizon fits before ``stop``, bool ``(unit, stop − start)``."""
    review = review_days(inputs.params, start, stop - start)
    day = np.arange(start, stop)[None, :]
    return review & (day + inputs.horizon[:, None] <= stop)


def empty_rows(count: int, n_candidates: int, slots: int) -> StateRows:
    """Preallocated state rows for ``count`` states."""
    f8, i8 = np.float64, np.int64
    shapes = dict(unit=i8, day=i8, v_index=i8, lam=f8, met=bool, start=bool, stock=f8,
                  loss=f8, sale=f8, d_hat=f8, on_hand=f8)
    cols = {name: np.zeros(count, dtype=dtype) for name, dtype in shapes.items()}
    return StateRows(**cols, pipeline=np.zeros((count, max(slots - 1, 0))),
                     cand_stock=np.zeros((count, n_candidates), dtype=np.float32),
                     cand_loss=np.zeros((count, n_candidates), dtype=np.float32))


class Book(NamedTuple):
    """Each unit's position at the start of day ``since[u]`` (before its arrivals) and its
    current label; arrays ``(unit,)`` unless stated. Units advance lazily: only when they
    review again (or at the end), over all the days since, in one simulator call.

    Attributes:
        on_hand: units on hand.
        pipeline: outstanding orders ``(unit, P)``; slot k arrives on day ``since + k``.
        since: the day the position refers to; −1 before the unit's first label.
        v: the current label, inventory days.
    """

    on_hand: np.ndarray
    pipeline: np.ndarray
    since: np.ndarray
    v: np.ndarray


def roll_labels(
    inputs: LabelInputs,
    start: int,
    stop: int,
    alpha: float,
    cfg: LabelsConfig,
    progress: Callable[[int, int], None] | None = None,
) -> LabelTrace:
    """Generate labels along the OR policy's own trajectory over days ``[start, stop)``.

    Args:
        inputs: demand, ``d̂``, unit parameters, groups, horizons and grid.
        start, stop: the window, absolute days; nothing at or after ``stop`` is seen.
        alpha: the service target α of every group's knapsack.
        cfg: λ bisection settings.
        progress: called as ``progress(days_done, days)`` after each day.
    """
    n_unit, days = inputs.demand.shape[0], stop - start
    labelled = labelled_days(inputs, start, stop)
    first_day = np.where(labelled.any(axis=1), start + labelled.argmax(axis=1), stop)
    offsets = np.concatenate([[0], np.cumsum(labelled.sum(axis=0))])
    rows = empty_rows(int(offsets[-1]), len(inputs.grid), inputs.slots)
    flows = Flows(*(np.zeros((n_unit, days)) for _ in Flows._fields))
    book = Book(np.zeros(n_unit), np.zeros((n_unit, inputs.slots)),
                np.full(n_unit, -1, dtype=np.int64), np.zeros(n_unit))
    workspace = Workspace()
    for j, t in enumerate(range(start, stop)):
        due = np.flatnonzero(labelled[:, j])
        if due.size:
            advance(inputs, book, due, t, flows, start)
            rows_t = slice(int(offsets[j]), int(offsets[j + 1]))
            _label_day(inputs, t, stop, due, book, alpha, cfg, rows, rows_t, workspace)
        if progress is not None:
            progress(j + 1, days)
    advance(inputs, book, np.flatnonzero(book.since >= 0), stop, flows, start)
    return LabelTrace(rows, flows, first_day, start, stop, alpha)


def advance(inputs: LabelInputs, book: Book, units: np.ndarray, until: int, flows: Flows,
            start: int) -> None:
    """Simulate ``units`` from their ``since`` day to ``until`` under their labels (kept on
    any review day in between), writing their flows ``(unit, day − start)`` and new positions
    into ``book``; units not started yet are left alone."""
    units = units[book.since[units] >= 0]
    for since in np.unique(book.since[units]):
        group = units[book.since[units] == since]
        if since >= until:
            continue
        params = SimParams(*(np.asarray(a)[group] for a in inputs.params))
        target = book.v[group][:, None] * inputs.d_hat[group, since:until]
        state = SimState(book.on_hand[group][None], book.pipeline[group][None])
        demand = np.ascontiguousarray(inputs.demand[group, since:until])
        step, end = simulate(demand, target[None], state, params, day0=int(since))
        for flow, name in zip(flows, Flows._fields, strict=True):
            flow[group, since - start : until - start] = getattr(step, name)[0]
        book.on_hand[group], book.pipeline[group] = end.on_hand[0], end.pipeline[0]
        book.since[group] = until


def _label_day(inputs, t, stop, due, book: Book, alpha, cfg, rows, rows_t, workspace) -> None:
    """Decide day t's labels for the units ``due`` (positions current at t), start new units
    at the steady position of their label, and fill ``rows[rows_t]``."""
    new = book.since[due] < 0
    positions = Positions(due, book.on_hand[due], book.pipeline[due], new)
    decision = decide_groups(inputs, t, stop, positions, alpha, cfg, workspace)
    v = inputs.grid[decision.choice]
    rate = inputs.d_hat[due, t]
    if new.any():
        steady = steady_state((v[new] * rate[new])[None], rate[new],
                              inputs.params.lead_time[due[new]], inputs.slots)
        book.on_hand[due[new]], book.pipeline[due[new]] = steady.on_hand[0], steady.pipeline[0]
    book.v[due], book.since[due] = v, t
    _fill_rows(rows, rows_t, t, due, new, decision, rate, book)


def _fill_rows(rows: StateRows, at: slice, t: int, due: np.ndarray, start: np.ndarray,
               decision: GroupDecision, rate: np.ndarray, book: Book) -> None:
    """Write one day's states into the preallocated rows ``at``."""
    replay, choice = decision.replay, decision.choice
    pick = np.arange(len(due)), choice
    rows.unit[at], rows.day[at], rows.v_index[at] = due, t, choice
    rows.lam[at], rows.met[at], rows.start[at] = decision.lam, decision.met, start
    rows.stock[at], rows.loss[at] = replay.stock[pick], replay.loss[pick]
    rows.sale[at], rows.d_hat[at] = replay.sale, rate
    rows.on_hand[at] = book.on_hand[due] + book.pipeline[due, 0]
    rows.pipeline[at] = book.pipeline[due, 1:]
    rows.cand_stock[at], rows.cand_loss[at] = replay.stock, replay.loss
