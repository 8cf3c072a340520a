"""Candidate replay: the outcomes of every candidate v from the deciding units' positions.

Symbols (DESIGN §2, §5):
    t     the decision day (absolute panel day).
    L, R  lead time and review period of a unit, days.
    H     replay horizon, days: ``max(L + 2R, H_min)`` by default (``horizons``).
    v     candidate inventory days on the grid; the target is ``S = v · d̂_t``, held over H.
    d̂_t  reference rate of day t, units per day.
    c     unit value; α the service target; λ the knapsack's multiplier (``orpr.labels.knapsack``).

From the units' positions at the start of day t, every candidate v is replayed with the
simulator kernel over the days ``[t, t + H)`` of latent demand; the decision can only affect
``[t + L, t + H)``, so over those days it records ``stock_iv = Σ c·I``, ``loss_iv = Σ c·lost``
and ``sale_i = Σ c·d``. A unit marked ``start`` (its first label) has no position yet: each
candidate then starts from its own steady position (``backtest.steady_state`` of
``v · d̂_t``). Windows are cut at ``stop`` (the first day the replay may not see): the labels
never reach it (they skip such days), the oracle truncates its last windows.

The group decision over the replayed outcomes is ``orpr.labels.decide``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from orpr.baselines.backtest import order_up_to, sim_params, steady_state
from orpr.config import LabelsConfig
from orpr.data.panel import Panel
from orpr.sim.kernel import SimParams, SimState, pipeline_length, simulate_totals


class LabelInputs(NamedTuple):
    """Everything fixed over a label run, arrays ``(unit,)`` unless stated.

    Attributes:
        demand: latent demand, 0 on inactive days, units ``(unit, day)``.
        d_hat: reference rate ``d̂``, units per day ``(unit, day)``.
        params: lead times and review calendar.
        unit_cost: ``c``, value per unit.
        group: decision-group code (0 for every unit when all units form one group).
        horizon: ``H``, days.
        grid: candidate inventory days ``v``, ascending ``(candidate,)``.
        lam: each unit's own price of a lost sale ``λ = (p / c) / h``, days (``alpha_mode =
            "cost"``: every unit takes its least ``stock + λ·loss`` candidate, no knapsack).
        follow: inventory days each unit orders up to after the decision day
            (``continuation = "incumbent"``); None: every candidate is held over ``H``.
        whole_units: targets are rounded to whole units (``orpr.baselines.backtest.order_up_to``).
        active: the unit is listed that day, bool ``(unit, day)`` (None: every day).
        scenarios: ``K`` > 0: each candidate's outcome is its mean over ``K`` demand futures
            resampled from the unit's own past (``scenario_demand``) instead of the realised
            future (0: hindsight, the realised demand).
        scenario_days: days of the past the futures are resampled from, days.
        seed: seed of the resampling.
        unit0: panel index of the first unit held (a shard's offset), so every unit draws
            the same futures in any shard layout.
    """

    demand: np.ndarray
    d_hat: np.ndarray
    params: SimParams
    unit_cost: np.ndarray
    group: np.ndarray
    horizon: np.ndarray
    grid: np.ndarray
    lam: np.ndarray | None = None
    follow: np.ndarray | None = None
    whole_units: bool = False
    active: np.ndarray | None = None
    scenarios: int = 0
    scenario_days: int = 56
    seed: int = 0
    unit0: int = 0

    @property
    def slots(self) -> int:
        """Pipeline slots ``P`` of the simulator state."""
        return pipeline_length(self.params.lead_time)


class Positions(NamedTuple):
    """Units deciding on day t and their state at the start of t (before its arrivals).

    Attributes:
        units: unit indices ``(n,)``.
        on_hand: units on hand ``(n,)``.
        pipeline: outstanding orders ``(n, P)``; slot k arrives on day t + k.
        start: the unit has no position yet and starts at each candidate's steady one, ``(n,)``.
    """

    units: np.ndarray
    on_hand: np.ndarray
    pipeline: np.ndarray
    start: np.ndarray


class Replay(NamedTuple):
    """Outcomes of every candidate, rows in ``Positions.units`` order. With a ``Workspace``,
    ``stock`` and ``loss`` live in its buffers until the workspace's next replay.

    Attributes:
        stock: ``Σ c·I`` over ``[t + L, t + H)``, value-days ``(n, candidate)``.
        loss: ``Σ c·lost`` over the same days, value ``(n, candidate)``.
        sale: ``Σ c·d`` over the same days, value ``(n,)``.
    """

    stock: np.ndarray
    loss: np.ndarray
    sale: np.ndarray


def horizons(params: SimParams, cfg: LabelsConfig) -> np.ndarray:
    """``H`` per unit, days ``(unit,)``: ``L + 2R`` (or ``cfg.horizon_days``), ≥ ``H_min``, ≥ L + 1."""
    lead = np.asarray(params.lead_time, dtype=np.int64)
    rule = lead + 2 * np.asarray(params.review_period, dtype=np.int64)
    base = np.full_like(lead, cfg.horizon_days) if cfg.horizon_days > 0 else rule
    return np.maximum(np.maximum(base, cfg.horizon_min), lead + 1)


def group_codes(panel: Panel, rule: str) -> np.ndarray:
    """Decision-group code per unit: all zeros (``"all"``) or the top-level category index."""
    if rule == "category":
        return np.unique(panel.units.category, return_inverse=True)[1].astype(np.int64)
    return np.zeros(panel.n_units, dtype=np.int64)


def label_inputs(
    panel: Panel,
    d_hat: np.ndarray,
    cfg: LabelsConfig,
    follow: np.ndarray | None = None,
    seed: int = 0,
) -> LabelInputs:
    """The fixed inputs of a label run or of the oracle on ``panel``; ``follow``: the inventory
    days each unit orders up to after a decision day (default: the candidate is held); ``seed``:
    of the resampled futures (``cfg.scenarios``)."""
    params = sim_params(panel)
    u = panel.units
    return LabelInputs(
        demand=np.where(panel.active, panel.demand, 0.0),
        d_hat=d_hat,
        params=params,
        unit_cost=np.asarray(panel.units.unit_cost, dtype=np.float64),
        group=group_codes(panel, cfg.group),
        horizon=horizons(params, cfg),
        grid=np.asarray(cfg.grid, dtype=np.float64),
        lam=cost_prices(u.unit_cost, u.holding_rate, u.lost_penalty),
        follow=None if follow is None else np.asarray(follow, dtype=np.float64),
        whole_units=u.whole_units,
        active=np.asarray(panel.active, dtype=bool),
        scenarios=cfg.scenarios,
        scenario_days=cfg.scenario_days,
        seed=seed,
    )


def cost_prices(
    unit_cost: np.ndarray, holding_rate: np.ndarray, lost_penalty: np.ndarray
) -> np.ndarray:
    """Each unit's own ``λ = (p / c) / h``, days: the value-days of stock that cost as much as
    one value of lost demand (``h·c·I + p·lost = h·(c·I + λ·c·lost)``); ``inf`` where
    ``h = 0`` (stock is free: the least loss wins)."""
    ratio = np.asarray(lost_penalty, dtype=np.float64) / np.asarray(unit_cost, dtype=np.float64)
    holding = np.asarray(holding_rate, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(holding > 0, ratio / np.where(holding > 0, holding, 1.0), np.inf)


class Workspace:
    """Scratch arrays reused from one decision day to the next.

    The replay's start state is ``(candidate, n, P)`` — tens of MB for a large group — and
    its targets and outcomes ``(candidate, n)`` several MB each; fresh arrays of that size are
    mapped and zero-filled by the OS every day, while reused buffers cost only the writes.
    """

    def __init__(self) -> None:
        self._flat: dict[str, np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A C-contiguous float64 array of ``shape`` (contents undefined), valid until the
        next call with the same ``name``."""
        size = int(np.prod(shape))
        flat = self._flat.get(name)
        if flat is None or flat.size < size:
            flat = self._flat[name] = np.empty(max(size, 1))
        return flat[:size].reshape(shape)


def candidate_state(
    positions: Positions,
    target: np.ndarray,
    rate: np.ndarray,
    lead_time: np.ndarray,
    workspace: Workspace | None = None,
) -> SimState:
    """The replay's start state ``(candidate, n)``: the position, or each v's steady one.

    Args:
        positions: the deciding units.
        target: ``S = v · d̂_t``, units ``(candidate, n)``.
        rate: ``d̂_t``, units per day ``(n,)``.
        lead_time: ``L``, days ``(n,)``.
        workspace: reusable buffers for the state (a fresh one if None).
    """
    ws = workspace or Workspace()
    batch, (n, slots) = target.shape[0], positions.pipeline.shape
    on_hand = ws.array("on_hand", (batch, n))
    pipeline = ws.array("pipeline", (batch, n, slots))
    on_hand[:] = positions.on_hand[None]
    pipeline[:] = positions.pipeline[None]
    s = positions.start
    if s.any():
        steady = steady_state(target[:, s], rate[s], lead_time[s], slots)
        on_hand[:, s] = steady.on_hand
        pipeline[:, s] = steady.pipeline
    return SimState(on_hand, pipeline)


def windows(
    lead_time: np.ndarray, horizon: np.ndarray, days_left: int
) -> tuple[np.ndarray, np.ndarray]:
    """The affected days ``[L, min(H, days_left))`` relative to t, int64 ``(n,)`` each."""
    stop = np.minimum(horizon, days_left).astype(np.int64)
    return np.minimum(lead_time, stop).astype(np.int64), stop


def window_sum(demand: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """``Σ d`` over each row's days ``[start, stop)``; ``demand (n, day)``, returns ``(n,)``."""
    day = np.arange(demand.shape[1])[None, :]
    return np.where((day >= start[:, None]) & (day < stop[:, None]), demand, 0.0).sum(axis=1)


def replay_width(inputs: LabelInputs, t: int, stop: int, units: np.ndarray) -> int:
    """Days of demand a replay of ``units`` on day t reads: their longest window, days."""
    return int(min(inputs.horizon[units].max(initial=0), stop - t))


def replay_candidates(
    inputs: LabelInputs,
    t: int,
    stop: int,
    positions: Positions,
    workspace: Workspace | None = None,
    width: int | None = None,
) -> Replay:
    """Replay every grid v from the positions over ``[t, t + H)``, cut at ``stop``.

    Args:
        inputs: the run's fixed inputs.
        t: the decision day; ``t < stop``.
        stop: the first day the replay may not see (the panel's end, or the training end).
        positions: the deciding units.
        workspace: reusable buffers (see ``Workspace``).
        width: days of demand read (default ``replay_width`` of these units); a shard of a
            day's units is given the whole day's, so that ``sale`` sums the same columns.
    """
    ws = workspace or Workspace()
    u = positions.units
    width = replay_width(inputs, t, stop, u) if width is None else width
    if inputs.scenarios > 0:
        return _scenario_replay(inputs, t, positions, width)
    n, m = len(u), len(inputs.grid)
    params = SimParams(*(np.asarray(a)[u] for a in inputs.params))
    start, end = windows(params.lead_time, inputs.horizon[u], stop - t)
    demand = np.ascontiguousarray(inputs.demand[u, t : t + width])
    rate = inputs.d_hat[u, t]
    target = order_up_to(
        inputs.grid[:, None], rate[None, :], inputs.whole_units, out=ws.array("target", (m, n))
    )
    state = candidate_state(positions, target, rate, params.lead_time, ws)
    if inputs.follow is not None:  # the candidate on day t, then the continuation rule
        target = continuation_targets(
            target, inputs.follow[u], inputs.d_hat[u, t : t + width], inputs.whole_units
        )
    held, lost = simulate_totals(demand, target, state, params, start, end, day0=t)
    cost = inputs.unit_cost[u][:, None]
    return Replay(
        stock=np.multiply(held.T, cost, out=ws.array("stock", (n, m))),
        loss=np.multiply(lost.T, cost, out=ws.array("loss", (n, m))),
        sale=window_sum(demand, start, end) * cost[:, 0],
    )


def scenario_uniforms(seed: int, t: int, units: np.ndarray, count: int, width: int) -> np.ndarray:
    """Uniforms in [0, 1) ``(n, count, width)`` from a counter hash (splitmix64) of
    ``(seed, t, unit, scenario, day)``: each unit's draws depend on its panel index only, never
    on which other units (or shard) share the call."""
    with np.errstate(over="ignore"):
        key = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(t) * np.uint64(
            0xD1B54A32D192ED03
        )
        x = (
            key
            + units.astype(np.uint64)[:, None, None] * np.uint64(0x8CB92BA72F3D8DD7)
            + np.arange(count, dtype=np.uint64)[None, :, None] * np.uint64(0xABC98388FB8FAC03)
            + np.arange(width, dtype=np.uint64)[None, None, :] * np.uint64(0x94D049BB133111EB)
        )
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            x = (x ^ (x >> np.uint64(shift))) * np.uint64(mult)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def scenario_demand(inputs: LabelInputs, units: np.ndarray, t: int, width: int) -> np.ndarray:
    """``K`` demand futures of ``width`` days per unit, each day drawn independently from the
    unit's active days among the ``scenario_days`` before t, ``(n, K, width)``; a unit with no
    such day gets zeros."""
    lo = max(0, t - inputs.scenario_days)
    past = inputs.demand[units, lo:t]
    listed = (
        np.ones(past.shape, dtype=bool) if inputs.active is None else (inputs.active[units, lo:t])
    )
    count = listed.sum(axis=1)
    order = np.argsort(~listed, axis=1, kind="stable")  # each row's listed days first
    draws = scenario_uniforms(inputs.seed, t, units + inputs.unit0, inputs.scenarios, width)
    pick = np.minimum(
        (draws * count[:, None, None]).astype(np.int64), np.maximum(count - 1, 0)[:, None, None]
    )
    days = np.take_along_axis(order[:, None, :], pick.reshape(len(units), 1, -1), axis=2)
    out = np.take_along_axis(past[:, None, :], days, axis=2).reshape(pick.shape)
    return np.where(count[:, None, None] > 0, out, 0.0) if past.shape[1] else np.zeros(pick.shape)


def _scenario_replay(inputs: LabelInputs, t: int, positions: Positions, width: int) -> Replay:
    """``replay_candidates`` over ``K`` resampled futures: the outcomes' means over them (each
    future is a copy of the unit, so every candidate meets the same futures). The continuation
    orders up to ``follow · d̂_t`` on every later day: nothing after ``t`` is read."""
    u, k = positions.units, inputs.scenarios
    n, m = len(u), len(inputs.grid)
    copies = np.repeat(np.arange(n), k)  # row j·K + s: unit j in future s
    params = SimParams(*(np.asarray(a)[u][copies] for a in inputs.params))
    start, end = windows(params.lead_time, inputs.horizon[u][copies], width)
    demand = np.ascontiguousarray(scenario_demand(inputs, u, t, width).reshape(n * k, width))
    rate = inputs.d_hat[u, t][copies]
    target = order_up_to(inputs.grid[:, None], rate[None, :], inputs.whole_units)
    state = candidate_state(
        positions._replace(**{f: getattr(positions, f)[copies] for f in Positions._fields}),
        target,
        rate,
        params.lead_time,
    )
    if inputs.follow is not None:  # d̂_t on every later day: a later d̂ reads the real future
        rates = np.broadcast_to(rate[:, None], (n * k, width))
        target = continuation_targets(target, inputs.follow[u][copies], rates, inputs.whole_units)
    held, lost = simulate_totals(demand, target, state, params, start, end, day0=t)
    cost = inputs.unit_cost[u][:, None]
    return Replay(
        stock=held.T.reshape(n, k, m).mean(axis=1) * cost,
        loss=lost.T.reshape(n, k, m).mean(axis=1) * cost,
        sale=window_sum(demand, start, end).reshape(n, k).mean(axis=1) * cost[:, 0],
    )


def continuation_targets(
    first: np.ndarray, follow: np.ndarray, rates: np.ndarray, whole_units: bool
) -> np.ndarray:
    """Targets ``(candidate, n, width)``: each candidate's ``first`` level ``(candidate, n)``
    on the decision day, then ``follow`` days ``(n,)`` of each later day's ``d̂`` (``rates``,
    ``(n, width)`` from the decision day on), the same for every candidate."""
    later = order_up_to(follow[:, None], rates, whole_units)
    target = np.broadcast_to(later[None], (first.shape[0], *later.shape)).copy()
    target[:, :, 0] = first
    return target
