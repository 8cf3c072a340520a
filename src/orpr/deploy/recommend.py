"""Recommendations: the order of every unit that reviews on a decision day ``D``.

Symbols: ``D`` the decision day; ``L`` lead time and ``R`` review period (days); ``d̂_D`` the
reference rate (units/day: mean latent demand of the ``W`` active days before ``D``); ``v``
the policy's decision in inventory days; ``S = v · d̂_D`` the target inventory position;
``IP = on_hand + pipeline`` (units after ``D``'s arrivals, plus all outstanding orders);
``q = max(0, S − IP)`` the order quantity (units).

A unit reviews on ``D`` when ``(D − offset) % R == 0`` (``backtest.review_days``). The
policy is fitted on the days before ``D`` and decides with ``Policy.decide`` as in the
backtest; the order comes from the simulator's order-up-to step. The position is either

- read from a positions file (``on_hand`` after ``D``'s arrivals, ``pipeline`` = all that is
  outstanding), or
- simulated: the backtest walks the policy over the warm-up days before ``D`` from the
  evaluation's days-of-cover start (``split.warmup_days``) and the position is the one the
  policy holds on ``D``; the decision and order are then exactly the backtest's.

Units the policy cannot score are refused with a reason, never given a silent zero. The
per-unit work is ``recommend_units`` over a shard of units (units are independent once the
policy is fitted on the whole panel), so shards can run anywhere and give the same rows: the
``compute.shards`` shards run on the engine of ``[compute]`` (``orpr.compute``), in this
process or on Ray hosts, which read the panel and the fitted policy from the object store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from orpr.baselines.backtest import review_days, sim_params
from orpr.baselines.contract import Policy
from orpr.baselines.forecast import ForecastBaseStock
from orpr.baselines.rules import BaseStock, Incumbent
from orpr.baselines.split import Split
from orpr.compute import open_engine
from orpr.config import Config
from orpr.data.panel import Panel
from orpr.data.rate import reference_rates
from orpr.deploy.positions import Positions, extend_one_day, file_orders, simulated_orders
from orpr.deploy.recommendation import Recommendation, recommendation_rows
from orpr.errors import InputError
from orpr.evaluation.policies import ORACLES, POLICIES, FitInputs, build_policy
from orpr.model.features import Calendar
from orpr.model.run_dir import MODEL_POLICIES, model_dir

RECOMMENDABLE = tuple(p for p in POLICIES if p not in ORACLES)
BEST_FIRST = ("orpr_expert", "orpr", "pretrained")
"""Model policies in order of preference when ``--policy`` is not given."""


def decision_day(panel: Panel, date: str | None) -> int:
    """Day index of ``date`` on the panel's grid; default: the day after the last date.

    Raises:
        InputError: not a date, or outside ``[second date, last date + 1]`` (a decision
            needs at least one day of history before it and no gap after the data).
    """
    if date is None:
        return panel.n_days
    try:
        when = np.datetime64(dt.date.fromisoformat(date), "D")
    except ValueError:
        raise InputError("--date", "expected a date YYYY-MM-DD", value=date) from None
    day = int((when - panel.dates[0]).astype(np.int64))
    if not 1 <= day <= panel.n_days:
        valid = f"{panel.dates[0] + 1} … {panel.dates[-1] + 1}"
        raise InputError("--date", f"outside the data: valid decision days are {valid}", value=date)
    return day


def choose_policy(run_dir: str | Path | None, policy: str | None) -> str:
    """The deciding policy: ``policy`` if given, else the best model ``run_dir`` holds.

    Raises:
        InputError: an unknown policy or an oracle; a model policy whose model is absent;
            no ``policy`` and no model in ``run_dir`` (the incumbent must be asked for).
    """
    if policy is not None:
        if policy in ORACLES:
            raise InputError(
                "--policy",
                "an oracle reads future demand and cannot recommend; "
                f"valid: {', '.join(RECOMMENDABLE)}",
                value=policy,
            )
        if policy not in RECOMMENDABLE:
            raise InputError(
                "--policy", f"unknown policy; valid: {', '.join(RECOMMENDABLE)}", value=policy
            )
        if policy in MODEL_POLICIES:
            model_dir(run_dir or "", policy)  # raises if the run holds no such model
        return policy
    if run_dir is None:
        raise InputError(
            "--model",
            "no run directory: pass --model RUN_DIR, or --policy "
            "incumbent (or base_stock) to recommend with a baseline",
        )
    for name in BEST_FIRST:
        try:
            model_dir(run_dir, name)
            return name
        except InputError:
            continue
    raise InputError(
        str(run_dir),
        "no trained model here (orpr_expert, orpr or pretrained); "
        "pass --policy incumbent to recommend with the incumbent rule",
    )


def fit_policy(
    name: str, panel: Panel, day: int, cfg: Config, run_dir: str | Path | None
) -> Policy:
    """The policy fitted on the whole panel's days before ``day`` (the policy registry).

    The incumbent's safety days are tuned on ``[split.history_days, day)`` after the
    evaluation's warm-up; a model policy loads its model from ``run_dir``.
    """
    need = cfg.split.history_days + cfg.split.warmup_days + 7
    if name == "incumbent" and day < need:
        raise InputError(
            panel.source,
            f"too few days before the decision day to tune the "
            f"incumbent: need {need} (history + warm-up + 7)",
            column="date",
            value=_iso(panel, day),
        )
    run_cfg = replace(cfg, model=replace(cfg.model, checkpoint=str(run_dir or "")))
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    split = Split(cfg.split.history_days, day, day + 1)
    return build_policy(name, FitInputs(panel, d_hat, split, run_cfg))


def policy_for_units(policy: Policy, idx: np.ndarray, n_units: int) -> Policy:
    """The fitted policy restricted to the units at ``idx`` (a shard of ``n_units``)."""
    if np.array_equal(idx, np.arange(n_units)) or isinstance(policy, BaseStock):
        return policy
    if isinstance(policy, Incumbent):
        return replace(policy, safety=policy.safety[idx])
    if isinstance(policy, ForecastBaseStock):
        cal = tuple(a[idx] for a in policy.calendar)
        return replace(policy, calendar=type(policy.calendar)(*cal), forecasts={})
    if policy.name in MODEL_POLICIES:
        cal = policy.calendar  # type: ignore[attr-defined]
        return replace(policy, calendar=Calendar(*(a[idx] if a.ndim == 2 else a for a in cal)))
    raise ValueError(f"policy {policy.name} has no rule to restrict it to a shard of units")


def recommend(
    panel: Panel,
    cfg: Config,
    run_dir: str | Path | None,
    date: str | None = None,
    policy: str | None = None,
    positions: Positions | None = None,
) -> Recommendation:
    """Recommend orders for the units reviewing on ``date`` (default: after the last date).

    Args:
        panel: the data up to (at least) the day before ``date``.
        cfg: the run configuration (``split``, ``policy``, ``[compute]``: engine and shards).
        run_dir: a run directory holding trained models (``orpr.model.run_dir``), or None.
        date: the decision day, YYYY-MM-DD.
        policy: one of ``RECOMMENDABLE``; default: the best model in ``run_dir``.
        positions: positions from a file; default: simulated by the backtest.
    """
    day = decision_day(panel, date)
    name = choose_policy(run_dir, policy)
    fitted = fit_policy(name, panel, day, cfg, run_dir)
    shards = np.array_split(
        np.arange(panel.n_units), max(1, min(cfg.compute.shards, panel.n_units))
    )
    with open_engine(cfg.compute) as engine:
        shared = engine.share(panel), engine.share(fitted)
        tables = engine.run(
            recommend_shard, [(*shared, idx, day, cfg, positions) for idx in shards]
        )
    source = position_source(panel, name, day, cfg, positions)
    return Recommendation(_iso(panel, day), name, source, pl.concat(tables))


def recommend_shard(
    panel: Panel,
    policy: Policy,
    idx: np.ndarray,
    day: int,
    cfg: Config,
    positions: Positions | None,
) -> pl.DataFrame:
    """``recommend_units`` for the units at ``idx`` of the whole ``panel`` (one shard), with
    the policy fitted on the whole panel and the positions of the whole file."""
    return recommend_units(
        panel.take_units(idx),
        policy_for_units(policy, idx, panel.n_units),
        day,
        cfg,
        None if positions is None else positions.take(idx),
    )


def recommend_units(
    panel: Panel, policy: Policy, day: int, cfg: Config, positions: Positions | None
) -> pl.DataFrame:
    """The rows of a shard of units: every unit of ``panel`` that reviews on ``day``.

    Args:
        panel: the shard's data (its units, every day of the data).
        policy: the policy fitted on the whole panel, restricted to this shard.
        day: ``D``, day index on the panel's grid, at most ``panel.n_days``.
        cfg: the run configuration (``split``).
        positions: the shard's positions from a file, or None to simulate them.
    """
    window = panel.take_days(0, day + 1) if day < panel.n_days else extend_one_day(panel)
    d_hat = reference_rates(
        window.demand, window.active, cfg.split.history_days, cfg.split.rate_floor
    )
    due = review_days(sim_params(window), day, 1)[:, 0]
    if positions is None:
        v, on_hand, pipeline, orders = simulated_orders(window, policy, day, d_hat, cfg)
    else:
        due_known = due & np.isfinite(positions.on_hand)
        v, orders = file_orders(window, policy, day, d_hat, positions, due_known)
        on_hand, pipeline = positions.on_hand, positions.pipeline
    reasons = refusal_reasons(panel, window, day, cfg.split.history_days, positions)
    source = position_source(panel, policy.name, day, cfg, positions)
    return recommendation_rows(
        window,
        day,
        due,
        policy.name,
        source,
        reasons,
        cfg.split.history_days,
        v,
        d_hat[:, day],
        on_hand,
        pipeline,
        orders,
    )


def refusal_reasons(
    panel: Panel, window: Panel, day: int, history_days: int, positions: Positions | None
) -> np.ndarray:
    """Why each unit cannot be scored on ``day`` (None where it can), object ``(unit,)``.

    In order: not launched before ``day``; not listed on ``day``; ``d̂`` undefined (no
    demand on the active days of the ``W`` days before ``day``); no position in the file.
    """
    when = str(window.dates[day])
    reasons = np.full(panel.n_units, None, dtype=object)
    ever = panel.active.any(axis=1)
    first = np.where(ever, panel.active.argmax(axis=1), -1)
    last = window.active[:, :day].shape[1] - 1 - window.active[:, :day][:, ::-1].argmax(axis=1)
    recent = slice(max(0, day - history_days), day)
    demand = np.where(window.active[:, recent], window.demand[:, recent], 0.0).sum(axis=1)
    for u in range(panel.n_units):
        if not window.active[u, :day].any():
            launch = f"first listed {panel.dates[first[u]]}" if ever[u] else "never listed"
            reasons[u] = f"not launched yet: {launch}"
        elif not window.active[u, day]:
            reasons[u] = f"inactive on {when}: last listed {window.dates[last[u]]}"
        elif demand[u] <= 0:
            reasons[u] = f"d̂ undefined: no demand in the {history_days} days before {when}"
        elif positions is not None and not np.isfinite(positions.on_hand[u]):
            reasons[u] = f"no position in {positions.source}"
    return reasons


def position_source(
    panel: Panel, policy: str, day: int, cfg: Config, positions: Positions | None
) -> str:
    """Where the positions come from, in words."""
    if positions is not None:
        return f"file: {positions.source}"
    warmup = min(cfg.split.warmup_days, day - 1)
    return (
        f"simulated: {policy} from {_iso(panel, day - warmup)} ({warmup}-day warm-up "
        "from the days-of-cover start)"
    )


def _iso(panel: Panel, day: int) -> str:
    """The date of day index ``day`` (may be one past the grid), YYYY-MM-DD."""
    return str(panel.dates[0] + day)
