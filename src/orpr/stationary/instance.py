"""The stationary benchmark instance as canonical tables: the classical lost-sales model.

Every unit is an independent replication of one instance of ``orpr oracle lost-sales``
(DESIGN §10): i.i.d. daily demand ``D`` (``poisson:MEAN`` or ``geometric:MEAN``), lead time
``L``, daily review (``R = 1``), unit value ``c = 1``, holding ``h`` per unit of end-of-day
on-hand, penalty ``p`` per lost unit (so ``h·c·I + p·lost`` is the oracle's daily cost), goods
in whole units, no promotions, no holidays and no censoring: sales equal demand, so the
recorded history is the demand itself. The unit table carries every parameter, so nothing is
drawn from ``[units]`` rules. Same config → identical tables.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from orpr.config import StationaryConfig
from orpr.errors import InputError
from orpr.stationary.law import Demand, parse_demand
from orpr.stationary.solve import check_solvable

FLAGS = {
    "--demand": "stationary.demand",
    "--lead-time": "stationary.lead_time",
    "--penalty": "stationary.penalty",
    "--holding": "stationary.holding",
}
"""The oracle's flags and the config keys that set them."""


def instance_demand(cfg: StationaryConfig) -> Demand:
    """The instance's demand law; an InputError naming ``stationary.demand`` if unreadable."""
    try:
        return parse_demand(cfg.demand)
    except InputError:
        raise InputError(
            "config",
            "expected poisson:MEAN or geometric:MEAN (MEAN > 0)",
            column="stationary.demand",
            value=cfg.demand,
        ) from None


def check_instance(cfg: StationaryConfig) -> None:
    """Refuse, before any work, an instance the exact oracle cannot solve: an InputError
    naming the ``[stationary]`` key (a lead time too long for the demand, a bad cost)."""
    instance_demand(cfg)
    try:
        check_solvable(cfg.demand, cfg.lead_time, cfg.penalty, cfg.holding)
    except InputError as e:
        raise InputError(
            "config", e.problem, column=FLAGS.get(e.file, e.file), value=e.value
        ) from None


def demand_draws(cfg: StationaryConfig) -> np.ndarray:
    """Daily demand of every unit, float64 counts ``(unit, day)``; unit ``u`` draws from its
    own stream ``[seed, u]``, so a unit's path does not depend on how many units there are."""
    law = instance_demand(cfg)
    return np.stack(
        [
            law.sample(np.random.default_rng([cfg.seed, u]), cfg.days).astype(np.float64)
            for u in range(cfg.units)
        ]
    )


def generate_tables(cfg: StationaryConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The instance as canonical daily and unit tables.

    Returns:
        ``daily``: unit_id, date, sales (= true_demand), true_demand, promo, holiday.
        ``units``: unit_id, location, cat_1, lead_time, review_period, review_offset,
        unit_cost, holding_rate, lost_penalty.
    """
    check_instance(cfg)
    demand = demand_draws(cfg)
    n_units, n_days = demand.shape
    ids = np.array([f"U{u:05d}" for u in range(n_units)])
    start = dt.date.fromisoformat(cfg.start)
    dates = np.arange(np.datetime64(start), np.datetime64(start) + n_days)
    daily = pl.DataFrame(
        {
            "unit_id": np.repeat(ids, n_days),
            "date": np.tile(dates, n_units),
            "sales": demand.reshape(-1),
            "true_demand": demand.reshape(-1),
            "promo": np.zeros(n_units * n_days, dtype=np.int8),
            "holiday": np.zeros(n_units * n_days, dtype=np.int8),
        }
    )
    units = pl.DataFrame(
        {
            "unit_id": ids,
            "location": np.full(n_units, "S0"),
            "cat_1": np.full(n_units, "stationary"),
            "lead_time": np.full(n_units, cfg.lead_time, dtype=np.int64),
            "review_period": np.ones(n_units, dtype=np.int64),
            "review_offset": np.zeros(n_units, dtype=np.int64),
            "unit_cost": np.ones(n_units),
            "holding_rate": np.full(n_units, float(cfg.holding)),
            "lost_penalty": np.full(n_units, float(cfg.penalty)),
        }
    )
    return daily, units
