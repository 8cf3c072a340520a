"""Difference-in-differences of a deployment, with an event-study check of pre-trends.

Data: an outcome panel, one row per unit-day (``OUTCOME_COLUMNS``), the treated units, and
the deployment's start date ``s``. ``D_it = treated_i · 1[t ≥ s]``.

Model, per additive outcome ``y`` (two-way fixed effects; ``linearmodels.PanelOLS`` with
unit and day effects, standard errors clustered by unit):

    y_it = α_i + γ_t + τ · D_it + ε_it

``τ`` estimates the average effect on the treated (ATT) per unit-day of the post-period:
the mean of ``y`` on the treated units' unit-days from ``s`` on, minus what it would have
been without the deployment, under parallel trends. The counterfactual mean is
``ȳ₁ − τ`` (``ȳ₁`` the observed treated post-period mean); ``relative = τ / (ȳ₁ − τ)``.

Turnover days are a ratio, ``TD = Σ on_hand_value / Σ sales_value`` over the treated
post-period unit-days (the metrics' definition), so they are not regressed directly: with
``Ī₁, S̄₁`` the treated post-period means of inventory and sales value and ``τ_I, τ_S`` their
ATTs, the effect is ``θ = Ī₁/S̄₁ − TD₀`` with counterfactual ``TD₀ = (Ī₁ − τ_I)/(S̄₁ − τ_S)``.
Its standard error is the delta method's: ``se(θ) = se(τ_z) / (S̄₁ − τ_S)``, where ``τ_z =
τ_I − TD₀ · τ_S`` is the DiD coefficient of the composite outcome ``z = on_hand_value −
TD₀ · sales_value`` (one regression, so the covariance of ``τ_I`` and ``τ_S`` is included).

Event study (pre-trends): ``y_it = α_i + γ_t + Σ_{k ≠ −1} β_k · treated_i · 1[⌊(t − s)/b⌋ =
k] + ε_it`` with bins of ``b`` days (``k < 0`` leads, ``k ≥ 0`` lags; the bin just before
``s`` is the reference); the pre-trend p-value is the clustered Wald χ² test that every
lead ``β_k, k ≤ −2`` is zero (None with fewer than two pre-period bins). For turnover days
the test is run on the composite outcome ``z``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import polars as pl
from linearmodels.panel import PanelOLS
from scipy.stats import norm

from orpr.data.tables import (
    check_units,
    date_checks,
    first_bad_row,
    number_checks,
    raise_at,
    read_user_table,
    unit_checks,
)
from orpr.data.validate import day, number, unit_key
from orpr.errors import InputError

OUTCOME_COLUMNS = ("on_hand_value", "sales_value", "in_stock", "holding_cost")
"""Outcome panel columns: end-of-day inventory value ``c·I_t`` and sales value ``c·sales_t``
(money, required); ``in_stock`` 0/1 (stock after arrivals was positive and covered the
day's demand) and ``holding_cost`` ``h·c·I_t`` (money), optional."""
REPORTED = {  # reported outcome ← panel column; turnover_days comes first, from two of them
    "in_stock_rate": "in_stock",
    "holding_cost": "holding_cost",
    "inventory_value": "on_hand_value",
    "sales_value": "sales_value",
}


class Effect(NamedTuple):
    """The DiD estimate of one outcome (per unit-day; turnover days in days).

    Attributes:
        estimate: ``τ`` (``θ`` for turnover days).
        std_error: unit-clustered standard error.
        ci_low, ci_high: the 95 % confidence interval.
        p_value: of ``τ = 0``.
        treated_mean: the treated units' observed post-period mean (``TD₁`` for turnover).
        counterfactual_mean: ``treated_mean − estimate``.
        pretrend_p: the event study's joint test that all leads are zero (None if < 2 bins).
        event_study: ``(bin k, β_k, se)`` per bin, the reference bin −1 left out.
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    treated_mean: float
    counterfactual_mean: float
    pretrend_p: float | None
    event_study: list[tuple[int, float, float]]

    @property
    def relative(self) -> float:
        """``estimate / counterfactual_mean`` (NaN when the counterfactual is 0)."""
        c = self.counterfactual_mean
        return self.estimate / c if c else float("nan")


class DidResult(NamedTuple):
    """A deployment's effects on every outcome the panel has."""

    start: str
    units: int
    treated: int
    pre_days: int
    post_days: int
    bin_days: int
    effects: dict[str, Effect]

    def to_json(self, truth: dict[str, float] | None = None) -> dict[str, Any]:
        """The result as one JSON object; with ``truth`` (a simulated pilot), the true effects."""
        effects = {}
        for name, e in self.effects.items():
            item = {k: _num(v) for k, v in e._asdict().items() if k != "event_study"}
            item["relative"] = _num(e.relative)
            item["event_study"] = [
                {"bin": k, "from_day": k * self.bin_days, "estimate": _num(b), "std_error": _num(s)}
                for k, b, s in e.event_study
            ]
            if truth is not None and name in truth:
                item["true_effect"] = _num(truth[name])
                item["covered"] = bool(e.ci_low <= truth[name] <= e.ci_high)
            effects[name] = item
        head = {k: v for k, v in self._asdict().items() if k != "effects"}
        return {**head, "effects": effects}


def read_outcomes(path: str) -> pl.DataFrame:
    """Read and check an outcome panel; return ``unit_id`` (str), ``date`` (Date), outcomes.

    Raises:
        InputError: a missing column, an unparseable date, a missing, non-numeric, negative
            or non-finite value, ``in_stock`` not 0/1, a repeated (unit, date).
    """
    df = read_user_table(path, ("unit_id", "date", "on_hand_value", "sales_value"))
    present = [c for c in OUTCOME_COLUMNS if c in df.columns]
    checks = unit_checks() + date_checks(df)
    for name in present:
        checks += number_checks(df, name, flag=name == "in_stock")
    first_bad_row(df, checks, path)
    out = df.select(unit_id=unit_key(), date=day(df), **{c: number(df, c) for c in present})
    repeat = np.flatnonzero(
        ~out.select(pl.struct("unit_id", "date").is_first_distinct()).to_series().to_numpy()
    )
    if repeat.size:
        raise_at(
            df,
            int(repeat[0]),
            path,
            "date",
            "duplicate (unit_id, date)",
            str(out["date"][int(repeat[0])]),
        )
    return out


def read_treated(path: str, units: np.ndarray, panel_file: str) -> np.ndarray:
    """The treated unit ids of a ``unit_id`` table; each must be a unit of the panel."""
    df = read_user_table(path, ("unit_id",))
    first_bad_row(df, unit_checks(), path)
    check_units(df, path, units, f"the panel {panel_file}")
    return df.select(unit_key()).to_series().to_numpy().astype(str)


def did_from_files(panel: str, treated: str, start: str, bin_days: int = 7) -> DidResult:
    """``estimate_did`` on an outcome panel file and a treated-units file."""
    try:
        begin = dt.date.fromisoformat(start)
    except ValueError:
        raise InputError("--start", "expected a date YYYY-MM-DD", value=start) from None
    outcomes = read_outcomes(panel)
    ids = read_treated(treated, outcomes["unit_id"].unique().to_numpy().astype(str), panel)
    check_design(outcomes, ids, begin, panel, treated)
    return estimate_did(outcomes, ids, begin, bin_days)


def check_design(
    outcomes: pl.DataFrame, treated: np.ndarray, start: dt.date, panel: str, treated_file: str
) -> None:
    """Refuse a design without a pre-period, a post-period, or control units.

    Raises:
        InputError: naming the file and the value that makes the comparison impossible.
    """
    is_treated = np.isin(outcomes["unit_id"].to_numpy().astype(str), treated)
    post = (outcomes["date"] >= start).to_numpy()
    if not (~post).any():
        raise InputError(
            panel,
            f"no pre-period: no date before the start {start}",
            column="date",
            value=str(outcomes["date"].min()),
        )
    if not post.any():
        raise InputError(
            panel,
            f"no post-period: no date on or after the start {start}",
            column="date",
            value=str(outcomes["date"].max()),
        )
    if is_treated.all():
        raise InputError(
            treated_file, "no control units: every unit of the panel is treated", column="unit_id"
        )
    for group, rows in (("treated", is_treated), ("control", ~is_treated)):
        for when, period in (("before", ~post), ("on or after", post)):
            if not (rows & period).any():
                raise InputError(
                    panel, f"no {group} unit has a row {when} the start {start}", column="date"
                )


def estimate_did(
    outcomes: pl.DataFrame, treated: np.ndarray, start: dt.date, bin_days: int = 7
) -> DidResult:
    """The DiD effect and event study of every outcome the panel has (module docstring).

    Args:
        outcomes: checked outcome panel (``read_outcomes``), one row per unit-day.
        treated: treated unit ids, str ``(k,)``.
        start: the deployment's first day ``s``.
        bin_days: ``b``, event-study bin width, days.
    """
    frame = design(outcomes, treated, start, bin_days)
    treated_post = frame[frame["d"] > 0]
    effects = {
        name: additive_effect(frame, frame[column], float(treated_post[column].mean()))
        for name, column in REPORTED.items()
        if column in frame.columns
    }
    turnover = turnover_effect(frame, effects["inventory_value"], effects["sales_value"])
    effects = {"turnover_days": turnover, **effects}
    days = frame.index.get_level_values(1)
    return DidResult(
        str(start),
        frame.index.get_level_values(0).nunique(),
        len(set(treated)),
        int(np.unique(days[days < 0]).size),
        int(np.unique(days[days >= 0]).size),
        bin_days,
        effects,
    )


def design(
    outcomes: pl.DataFrame, treated: np.ndarray, start: dt.date, bin_days: int
) -> pd.DataFrame:
    """Regression frame indexed by (unit code, day relative to ``s``): outcomes, ``d`` = D_it,
    and one event-study column ``e{k}`` per bin ``k ≠ −1`` that holds a treated unit-day."""
    rel = (outcomes["date"].to_numpy().astype("datetime64[D]") - np.datetime64(start, "D")).astype(
        np.int64
    )
    units, code = np.unique(outcomes["unit_id"].to_numpy().astype(str), return_inverse=True)
    on = np.isin(units, treated)[code]
    columns = [c for c in OUTCOME_COLUMNS if c in outcomes.columns]
    frame = pd.DataFrame(
        {c: outcomes[c].to_numpy() for c in columns},
        index=pd.MultiIndex.from_arrays([code, rel], names=["unit", "day"]),
    )
    frame["d"] = (on & (rel >= 0)).astype(np.float64)
    bins = np.floor_divide(rel, bin_days)
    for k in np.unique(bins[on]):
        if k != -1:
            frame[f"e{k}"] = (on & (bins == k)).astype(np.float64)
    return frame


def fit(frame: pd.DataFrame, y: pd.Series, columns: list[str]):
    """PanelOLS with unit and day effects, unit-clustered (debiased) covariance.

    ``low_memory`` absorbs both effects without building day dummies: the same estimates,
    several times faster from a few thousand unit-days up.
    """
    model = PanelOLS(y, frame[columns], entity_effects=True, time_effects=True)
    return model.fit(cov_type="clustered", cluster_entity=True, low_memory=True)


def additive_effect(frame: pd.DataFrame, y: pd.Series, treated_mean: float) -> Effect:
    """The DiD and event study of one additive outcome ``y`` (rows of ``frame``)."""
    res = fit(frame, y, ["d"])
    low, high = res.conf_int(0.95).loc["d"]
    tau = float(res.params["d"])
    pre_p, bins = event_study(frame, y)
    return Effect(
        tau,
        float(res.std_errors["d"]),
        float(low),
        float(high),
        float(res.pvalues["d"]),
        treated_mean,
        treated_mean - tau,
        pre_p,
        bins,
    )


def event_study(frame: pd.DataFrame, y: pd.Series) -> tuple[float | None, list]:
    """Pre-trend p-value and ``(k, β_k, se)`` of every bin but the reference."""
    columns = [c for c in frame.columns if c.startswith("e")]
    res = fit(frame, y, columns)
    bins = [(int(c[1:]), float(res.params[c]), float(res.std_errors[c])) for c in columns]
    leads = [i for i, (k, _, _) in enumerate(bins) if k <= -2]
    if not leads:
        return None, bins
    restriction = np.zeros((len(leads), len(columns)))
    restriction[np.arange(len(leads)), leads] = 1.0
    return float(res.wald_test(restriction, np.zeros(len(leads))).pval), bins


def turnover_effect(frame: pd.DataFrame, stock: Effect, sales: Effect) -> Effect:
    """``θ = TD₁ − TD₀`` with its delta-method interval, from the DiD effects on inventory
    value and sales value (module docstring); NaN when ``S̄₁`` or ``S̄₁ − τ_S`` is not > 0."""
    base = sales.counterfactual_mean
    if not (sales.treated_mean > 0 and base > 0):
        nan = float("nan")
        return Effect(nan, nan, nan, nan, nan, nan, nan, None, [])
    td1, td0 = stock.treated_mean / sales.treated_mean, stock.counterfactual_mean / base
    z = (frame["on_hand_value"] - td0 * frame["sales_value"]).rename("z")
    comp = additive_effect(frame, z, 0.0)
    theta, se = td1 - td0, comp.std_error / base
    q = (comp.ci_high - comp.estimate) / comp.std_error  # the interval's critical value
    return Effect(
        theta,
        se,
        theta - q * se,
        theta + q * se,
        float(2 * norm.sf(abs(theta) / se)),
        td1,
        td0,
        comp.pretrend_p,
        [(k, b / base, s / base) for k, b, s in comp.event_study],
    )


def _num(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)
