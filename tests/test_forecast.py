"""forecast_base_stock: a LightGBM forecast of the coverage window, ordered up to a quantile."""

import dataclasses

import numpy as np
import pytest
from typer.testing import CliRunner

from orpr.baselines.backtest import run_backtest
from orpr.baselines.contract import DecisionContext
from orpr.baselines.daily import cells
from orpr.baselines.forecast import forecast_base_stock, validation_policy, validation_start
from orpr.baselines.forecaster import Origins, residual_table, sample_origins
from orpr.baselines.split import time_split
from orpr.cli import app
from orpr.config import load_config
from orpr.data import load_panel
from orpr.data.rate import reference_rates
from orpr.errors import InputError
from orpr.evaluation.evaluate import evaluate
from orpr.evaluation.frontier import frontier
from orpr.evaluation.policies import KNOBS, FitInputs, build_policy
from orpr.sim.metrics import summarize

SMALL = [
    "synthetic.units=48",
    "synthetic.days=140",
    "split.holdout_days=28",
    "policy.forecast_samples=4000",
    "policy.forecast_trees=40",
]


@pytest.fixture(scope="module")
def cfg():
    return load_config(None, SMALL)


@pytest.fixture(scope="module")
def panel(cfg):
    return load_panel(cfg)


def inputs_of(panel, cfg):
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    return FitInputs(panel, d_hat, time_split(panel, cfg), cfg)


@pytest.fixture(scope="module")
def fitted(panel, cfg):
    inputs = inputs_of(panel, cfg)
    return inputs, build_policy("forecast_base_stock", inputs)


def decisions(policy, inputs, day):
    panel = inputs.panel
    units = np.arange(panel.n_units)
    ctx = DecisionContext(
        day,
        units,
        panel.take_days(0, day),
        inputs.d_hat[units, day],
        np.full(panel.n_units, 5.0),
        np.zeros((panel.n_units, 3)),
    )
    return policy.decide(ctx)


def test_its_decisions_do_not_move_when_held_out_demand_changes(fitted):
    inputs, policy = fitted
    panel, day = inputs.panel, inputs.split.holdout_start + 5
    rng = np.random.default_rng(1)
    later = np.arange(panel.n_days) >= inputs.split.holdout_start
    noisy = dataclasses.replace(
        panel,
        demand=np.where(later, rng.gamma(1.0, 3.0, panel.demand.shape), panel.demand),
        sales=np.where(later, rng.gamma(1.0, 3.0, panel.sales.shape), panel.sales),
    )
    refit = forecast_base_stock(inputs._replace(panel=noisy))
    assert refit.quantile == policy.quantile
    assert refit.booster.model_to_string() == policy.booster.model_to_string()
    assert np.array_equal(decisions(policy, inputs, day), decisions(refit, inputs, day))


def test_its_decisions_on_a_day_read_no_later_demand(fitted):
    inputs, policy = fitted
    panel, day = inputs.panel, inputs.split.holdout_start + 3
    changed = dataclasses.replace(
        panel, demand=np.where(np.arange(panel.n_days) >= day, 99.0, panel.demand)
    )
    fresh = dataclasses.replace(policy, forecasts={})
    assert np.array_equal(
        decisions(policy, inputs, day), decisions(fresh, inputs._replace(panel=changed), day)
    )


def test_the_quantile_is_the_least_on_the_grid_reaching_the_target_on_validation_days(fitted):
    inputs, policy = fitted
    cfg = inputs.cfg
    trial = forecast_base_stock(inputs)
    assert trial.quantile == policy.quantile
    grid = cfg.policy.forecast_quantiles
    start, stop = validation_start(inputs), inputs.split.holdout_start
    panel = inputs.panel
    base = validation_policy(inputs, panel)
    fills = []
    for q in grid:
        r = run_backtest(
            panel,
            dataclasses.replace(base, quantile=q, forecasts={}),
            inputs.d_hat,
            start,
            stop,
            cfg.split.warmup_days,
        )
        fills.append(summarize(r.totals(panel.units, panel.active[:, start:stop])).fill_rate)
    reached = [q for q, f in zip(grid, fills, strict=True) if f >= cfg.policy.alpha]
    assert policy.quantile == (reached[0] if reached else grid[-1])
    assert np.isclose(policy.fill_rate, fills[grid.index(policy.quantile)])


def test_a_higher_quantile_holds_more(fitted):
    inputs, policy = fitted
    day = inputs.split.holdout_start + 2
    low = decisions(dataclasses.replace(policy, quantile=0.5), inputs, day)
    high = decisions(dataclasses.replace(policy, quantile=0.95), inputs, day)
    assert np.all(high >= low) and np.any(high > low)


def test_the_residuals_are_binned_by_forecast_size():
    mean = np.arange(100.0)
    table = residual_table(mean, mean + np.where(mean < 50, 1.0, 10.0))
    assert table.quantile(np.array([1.0, 90.0]), 0.5).tolist() == [1.0, 10.0]


def test_training_origins_lie_wholly_before_the_stop(panel):
    o = sample_origins(panel, np.arange(panel.n_units), 28, 80, 10**6, 0)
    span = panel.units.lead_time[o.unit] + panel.units.review_period[o.unit]
    assert o.day.min() >= 28 and np.all(o.day + span <= 80)
    assert isinstance(o, Origins) and panel.active[o.unit, o.day].all()


def test_it_is_evaluated_and_swept_on_its_quantile(panel, cfg):
    ev = evaluate(panel, cfg, ("incumbent", "forecast_base_stock"))
    assert [r.name for r in ev.reports] == ["incumbent", "forecast_base_stock"]
    assert KNOBS["forecast_base_stock"] == "quantile"
    chosen = ev.meta["tuning"]["forecast_base_stock"]
    assert chosen["quantile"] in cfg.policy.forecast_quantiles
    assert 0.0 < chosen["validation_fill_rate"] <= 1.0
    accuracy = ev.meta["forecast"]
    assert set(accuracy) == {"mean28", "seasonal_naive", "lightgbm"}
    assert all(0.0 < a["wape"] < 2.0 and -1.0 < a["bias"] < 1.0 for a in accuracy.values())


def test_its_frontier_sweeps_the_quantile_and_is_read_at_the_incumbents_service(panel, cfg):
    fr = frontier(panel, cfg, ("forecast_base_stock",), knobs={"incumbent": (0.0,)})
    values = [p.value for p in fr.points if p.policy == "forecast_base_stock"]
    assert values == sorted(cfg.eval.frontier_quantiles)
    stock = [p.in_stock_rate for p in fr.points if p.policy == "forecast_base_stock"]
    assert stock == sorted(stock)
    assert "forecast_base_stock" in {a.policy for a in fr.at_reference}


def test_too_few_training_days_for_validation_is_one_line(panel, cfg):
    short = load_config(None, [*SMALL, "policy.forecast_val_days=80"])
    with pytest.raises(InputError, match="policy.forecast_val_days"):
        forecast_base_stock(inputs_of(panel, short))


@pytest.mark.parametrize(
    "setting",
    ["policy.forecast_quantiles=[1.5]", "policy.forecast_trees=0", "policy.forecast_leaves=1"],
)
def test_a_bad_forecast_setting_exits_2_naming_the_key(tmp_path, setting):
    result = CliRunner().invoke(
        app, ["evaluate", "--config", "configs/demo.toml", "--set", setting, "--json"]
    )
    assert result.exit_code == 2
    assert setting.split("=")[0] in result.output


def test_accuracy_cells_are_in_stock_days_of_the_period_from_every_origin(panel):
    t, stop = panel.n_days - 10, panel.n_days
    origins, h = cells(panel, t, stop)
    d = t + h - 1
    assert d.max() < stop and h.min() == 1 and h.max() == 10
    assert (
        panel.active[origins.unit, d].all()
        and (panel.stockout_fraction[origins.unit, d] == 0).all()
    )


def test_a_perfect_day_forecast_scores_zero_wape(panel, cfg, monkeypatch):
    import orpr.baselines.daily as daily

    class Oracle:  # predicts each cell's own demand, over the model's scale
        def predict(self, x, num_threads=1):
            return self.y / daily._scale(x)

    oracle = Oracle()
    real = daily.daily_features

    def spy(history, calendar, origins, h):
        x = real(history, calendar, origins, h)
        oracle.y = panel.demand[origins.unit, origins.day + h - 1]
        return x

    monkeypatch.setattr(daily, "fit_daily", lambda *a: oracle)
    monkeypatch.setattr(daily, "daily_features", spy)
    split = time_split(panel, cfg)
    out = daily.forecast_accuracy(
        panel, np.arange(panel.n_units), split.train, split.stop, cfg.policy, 0
    )
    assert out["lightgbm"]["wape"] == pytest.approx(0.0, abs=1e-9)
    assert out["mean28"]["wape"] > 0.05


def test_it_runs_on_the_stationary_benchmark():
    cfg = load_config(
        None,
        [
            'data.format="stationary"',
            "stationary.units=16",
            "stationary.days=160",
            "split.holdout_days=28",
            "policy.forecast_samples=2000",
            "policy.forecast_trees=20",
        ],
    )
    ev = evaluate(load_panel(cfg), cfg, ("incumbent", "forecast_base_stock"))
    m = ev.reports[1].overall
    assert ev.reports[1].name == "forecast_base_stock" and 0.5 < m.in_stock_rate <= 1.0
