"""Rolling label generation: the OR policy's own trajectory, one day at a time.

Symbols: t decision day, ``L, R`` lead time and review period (days), ``H`` replay horizon
(days), ``v*`` the label (inventory days), ``λ*`` its group's multiplier, ``d̂_t`` reference
rate (units per day), α the service target.

Days ``[start, stop)`` are walked in order. On day t the units reviewing that day decide
together (candidate replay + knapsack per group, as ``replay.decide_groups``). Every unit follows
the simulator under its current label; units not reviewing keep their pipeline. Each unit
keeps its own clock (``Book``): it is advanced over all the days since its last review when
it reviews again, which is the same day-by-day simulation in one kernel call per group of
units. A unit's first label starts it in the steady position of ``v* · d̂_t``
(``backtest.steady_state``).

The end of the window: a review day is labelled only if its whole horizon fits,
``t + H ≤ stop``, so every label sums the same span of days and never sees past ``stop``.
On later review days the unit keeps its last label (the trajectory still runs to ``stop``,
for the label policy's metrics). Units with no labelled review day are never started.

Shards (``orpr.compute``): the per-unit work — advance and candidate replay — runs in
``LabelShard``s over unit ranges, in-process or on Ray; the knapsack of each group sees all
of its units, gathered in unit order, so any shard count gives the same labels bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from orpr.baselines.backtest import order_up_to, review_days, steady_state
from orpr.compute import Engine, LocalEngine, spans
from orpr.config import LabelsConfig
from orpr.labels.decide import GroupDecision, choose, unit_prices
from orpr.labels.replay import (
    LabelInputs,
    Positions,
    Replay,
    Workspace,
    replay_candidates,
    replay_width,
)
from orpr.sim.kernel import SimParams, SimState, simulate


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
    shapes = dict(
        unit=i8,
        day=i8,
        v_index=i8,
        lam=f8,
        met=bool,
        start=bool,
        stock=f8,
        loss=f8,
        sale=f8,
        d_hat=f8,
        on_hand=f8,
    )
    cols = {name: np.zeros(count, dtype=dtype) for name, dtype in shapes.items()}
    return StateRows(
        **cols,
        pipeline=np.zeros((count, max(slots - 1, 0))),
        cand_stock=np.zeros((count, n_candidates), dtype=np.float32),
        cand_loss=np.zeros((count, n_candidates), dtype=np.float32),
    )


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
    engine: Engine | None = None,
) -> LabelTrace:
    """Generate labels along the OR policy's own trajectory over days ``[start, stop)``.

    Each day the shards (``LabelShard``, unit ranges) advance and replay their reviewing
    units; their outcomes are joined in unit order, every group's knapsack is solved here
    over all of its units, and each shard takes its units' labels with its next call.

    Args:
        inputs: demand, ``d̂``, unit parameters, groups, horizons and grid.
        start, stop: the window, absolute days; nothing at or after ``stop`` is seen.
        alpha: the service target α of every group's knapsack.
        cfg: λ bisection settings.
        progress: called as ``progress(days_done, days)`` after each day.
        engine: where the shards run (default: one shard, in this process).
    """
    engine = engine or LocalEngine()
    n_unit, days = inputs.demand.shape[0], stop - start
    labelled = labelled_days(inputs, start, stop)
    first_day = np.where(labelled.any(axis=1), start + labelled.argmax(axis=1), stop)
    offsets = np.concatenate([[0], np.cumsum(labelled.sum(axis=0))])
    rows = empty_rows(int(offsets[-1]), len(inputs.grid), inputs.slots)
    ranges = spans(n_unit, engine.shards)
    shared = engine.share(inputs)
    shards = engine.spawn(LabelShard, [(shared, r, start, stop, inputs.slots) for r in ranges])
    labels: list[np.ndarray | None] = [None] * len(ranges)
    for j, t in enumerate(range(start, stop)):
        due = np.flatnonzero(labelled[:, j])
        if due.size:
            width = replay_width(inputs, t, stop, due)
            parts = engine.call(shards, "replay", [(t, width, v) for v in labels])
            positions, replay = join_replays(parts, ranges)
            decision = choose(replay, inputs.group[due], alpha, cfg, unit_prices(inputs, due, cfg))
            v = inputs.grid[decision.choice]
            labels = np.split(v, np.cumsum([len(p.units) for p, _ in parts])[:-1])
            at = slice(int(offsets[j]), int(offsets[j + 1]))
            _fill_rows(
                rows,
                at,
                t,
                positions,
                decision,
                inputs.d_hat[due, t],
                label_positions(inputs, t, positions, v),
            )
        if progress is not None:
            progress(j + 1, days)
    flows = engine.call(shards, "finish", [(v,) for v in labels])
    engine.release(shards)
    return LabelTrace(rows, join_flows(flows), first_day, start, stop, alpha)


def shard_inputs(inputs: LabelInputs, units: slice) -> LabelInputs:
    """The inputs of the unit range ``units`` (views), unit indices counted from its start."""
    return inputs._replace(
        demand=inputs.demand[units],
        d_hat=inputs.d_hat[units],
        params=SimParams(*(np.asarray(a)[units] for a in inputs.params)),
        unit_cost=inputs.unit_cost[units],
        group=inputs.group[units],
        horizon=inputs.horizon[units],
        lam=None if inputs.lam is None else inputs.lam[units],
        follow=None if inputs.follow is None else inputs.follow[units],
        active=None if inputs.active is None else inputs.active[units],
        unit0=inputs.unit0 + (units.start or 0),
    )


def label_positions(
    inputs: LabelInputs, t: int, positions: Positions, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The deciding units' state at the start of day t under their labels ``v``: as it was,
    or, for a unit starting, the steady position of ``v · d̂_t``; ``(n,)`` and ``(n, P)``."""
    on_hand, pipeline = positions.on_hand.copy(), positions.pipeline.copy()
    new = positions.start
    if new.any():
        u = positions.units[new]
        rate = inputs.d_hat[u, t]
        level = order_up_to(v[new], rate, inputs.whole_units)
        steady = steady_state(level[None], rate, inputs.params.lead_time[u], pipeline.shape[1])
        on_hand[new], pipeline[new] = steady.on_hand[0], steady.pipeline[0]
    return on_hand, pipeline


class LabelShard:
    """The per-unit half of a label run for one unit range: each unit's position (``Book``)
    and trajectory, each day's advance and candidate replay. The knapsack, which couples the
    units of every shard, is the caller's; the shard takes the labels with its next call.

    Args:
        inputs: the whole run's inputs (read, never copied).
        units: this shard's unit range.
        start, stop: the window, absolute days.
        slots: pipeline slots ``P`` of the whole run (positions have the same width in
            every shard).
    """

    def __init__(
        self, inputs: LabelInputs, units: slice, start: int, stop: int, slots: int
    ) -> None:
        self.inputs = shard_inputs(inputs, units)
        self.start, self.stop = start, stop
        n = self.inputs.demand.shape[0]
        self.labelled = labelled_days(self.inputs, start, stop)
        self.book = Book(
            np.zeros(n), np.zeros((n, slots)), np.full(n, -1, dtype=np.int64), np.zeros(n)
        )
        self.flows = Flows(*(np.zeros((n, stop - start)) for _ in Flows._fields))
        self.workspace = Workspace()
        self.deciding: tuple[int, Positions] | None = None

    def replay(self, t: int, width: int, labels: np.ndarray | None) -> tuple[Positions, Replay]:
        """Take the last decision day's ``labels``, then advance the units reviewing on t
        and replay their candidates over ``width`` days; units in shard order."""
        self.settle(labels)
        due = np.flatnonzero(self.labelled[:, t - self.start])
        book = self.book
        advance(self.inputs, book, due, t, self.flows, self.start)
        positions = Positions(due, book.on_hand[due], book.pipeline[due], book.since[due] < 0)
        self.deciding = (t, positions)
        if due.size == 0:
            m = len(self.inputs.grid)
            return positions, Replay(np.zeros((0, m)), np.zeros((0, m)), np.zeros(0))
        return positions, replay_candidates(
            self.inputs, t, self.stop, positions, self.workspace, width
        )

    def settle(self, labels: np.ndarray | None) -> None:
        """Hold ``labels`` (inventory days) from the last replayed day on; a unit's first
        label starts it in the steady position of that label."""
        if labels is None or self.deciding is None:
            return
        t, positions = self.deciding
        due, book = positions.units, self.book
        book.on_hand[due], book.pipeline[due] = label_positions(self.inputs, t, positions, labels)
        book.v[due], book.since[due] = labels, t
        self.deciding = None

    def finish(self, labels: np.ndarray | None) -> Flows:
        """Take the last labels, advance every started unit to ``stop``; the trajectory."""
        self.settle(labels)
        started = np.flatnonzero(self.book.since >= 0)
        advance(self.inputs, self.book, started, self.stop, self.flows, self.start)
        return self.flows


def join_replays(
    parts: list[tuple[Positions, Replay]], ranges: list[slice]
) -> tuple[Positions, Replay]:
    """The shards' positions and replays of one day as one, in unit order (panel indices)."""
    if len(parts) == 1:
        return parts[0]
    positions = Positions(
        np.concatenate([p.units + r.start for (p, _), r in zip(parts, ranges, strict=True)]),
        *(np.concatenate([getattr(p, f) for p, _ in parts]) for f in Positions._fields[1:]),
    )
    replay = Replay(*(np.concatenate([getattr(x, f) for _, x in parts]) for f in Replay._fields))
    return positions, replay


def join_flows(parts: list[Flows]) -> Flows:
    """The shards' trajectories as one, in unit order."""
    if len(parts) == 1:
        return parts[0]
    return Flows(*(np.concatenate(f) for f in zip(*parts, strict=True)))


def advance(
    inputs: LabelInputs, book: Book, units: np.ndarray, until: int, flows: Flows, start: int
) -> None:
    """Simulate ``units`` from their ``since`` day to ``until`` under their labels (kept on
    any review day in between), writing their flows ``(unit, day − start)`` and new positions
    into ``book``; units not started yet are left alone."""
    units = units[book.since[units] >= 0]
    for since in np.unique(book.since[units]):
        group = units[book.since[units] == since]
        if since >= until:
            continue
        params = SimParams(*(np.asarray(a)[group] for a in inputs.params))
        target = order_up_to(
            book.v[group][:, None], inputs.d_hat[group, since:until], inputs.whole_units
        )
        state = SimState(book.on_hand[group][None], book.pipeline[group][None])
        demand = np.ascontiguousarray(inputs.demand[group, since:until])
        step, end = simulate(demand, target[None], state, params, day0=int(since))
        for flow, name in zip(flows, Flows._fields, strict=True):
            flow[group, since - start : until - start] = getattr(step, name)[0]
        book.on_hand[group], book.pipeline[group] = end.on_hand[0], end.pipeline[0]
        book.since[group] = until


def _fill_rows(
    rows: StateRows,
    at: slice,
    t: int,
    positions: Positions,
    decision: GroupDecision,
    rate: np.ndarray,
    state: tuple[np.ndarray, np.ndarray],
) -> None:
    """Write one day's states into the preallocated rows ``at``; ``rate`` is ``d̂_t`` and
    ``state`` the units' start-of-day on-hand and pipeline under their labels."""
    replay, choice, due = decision.replay, decision.choice, positions.units
    on_hand, pipeline = state
    pick = np.arange(len(due)), choice
    rows.unit[at], rows.day[at], rows.v_index[at] = due, t, choice
    rows.lam[at], rows.met[at], rows.start[at] = decision.lam, decision.met, positions.start
    rows.stock[at], rows.loss[at] = replay.stock[pick], replay.loss[pick]
    rows.sale[at], rows.d_hat[at] = replay.sale, rate
    rows.on_hand[at] = on_hand + pipeline[:, 0]
    rows.pipeline[at] = pipeline[:, 1:]
    rows.cand_stock[at], rows.cand_loss[at] = replay.stock, replay.loss
