"""The service–cost frontier, its interpolation, and the location hold-out, on small panels."""

from dataclasses import replace

import numpy as np
import pytest

from orpr.baselines.split import time_split
from orpr.config import load_config
from orpr.data import load_panel
from orpr.data.rate import reference_rates
from orpr.errors import InputError
from orpr.evaluation.evaluate import evaluate
from orpr.evaluation.frontier import efficient, frontier, value_at
from orpr.evaluation.locations import held_out_stores, held_out_units
from orpr.evaluation.policies import FitInputs, build_policy

SMALL = ["synthetic.units=48", "synthetic.days=112", "split.holdout_days=28"]


@pytest.fixture(scope="module")
def cfg():
    return load_config(None, SMALL)


@pytest.fixture(scope="module")
def panel(cfg):
    return load_panel(cfg)


def family(fr, name):
    """The points of one family, knob ascending."""
    return sorted((p for p in fr.points if p.policy == name), key=lambda p: p.value)


def test_raising_base_stocks_quantile_never_lowers_its_in_stock_rate(panel, cfg):
    fr = frontier(
        panel,
        cfg,
        ("base_stock",),
        {"base_stock": (0.3, 0.5, 0.7, 0.85, 0.95, 0.99), "incumbent": ()},
    )
    points = family(fr, "base_stock")
    assert [p.value for p in points] == [0.3, 0.5, 0.7, 0.85, 0.95, 0.99]
    in_stock = np.array([p.in_stock_rate for p in points])
    assert np.all(np.diff(in_stock) >= 0) and in_stock[-1] > in_stock[0]
    assert np.all(np.diff([p.holding_cost for p in points]) > 0)


def test_more_incumbent_safety_never_lowers_in_stock(panel, cfg):
    fr = frontier(panel, cfg, ("incumbent",), {"incumbent": (-3.0, -1.0, 0.5, 1.0, 2.0, 5.0)})
    points = family(fr, "incumbent")
    assert [p.value for p in points] == [-3.0, -1.0, 0.0, 0.5, 1.0, 2.0, 5.0]  # 0 always run
    in_stock = np.array([p.in_stock_rate for p in points])
    assert np.all(np.diff(in_stock) >= 0) and in_stock[-1] > in_stock[0]
    assert np.all(np.diff([p.holding_cost for p in points]) > 0)


def test_the_as_evaluated_settings_lie_on_their_frontiers(panel, cfg):
    ev = evaluate(panel, cfg, ("incumbent", "base_stock"))
    fr = frontier(
        panel,
        cfg,
        ("incumbent", "base_stock"),
        {"incumbent": (0.0,), "base_stock": (cfg.policy.base_stock_quantile,)},
    )
    for report in ev.reports:
        (p,) = family(fr, report.name)
        assert p.in_stock_rate == report.overall.in_stock_rate
        assert p.holding_cost == pytest.approx(report.overall.holding_cost)
    assert fr.reference_in_stock == ev.reports[0].overall.in_stock_rate
    incumbent = next(a for a in fr.at_reference if a.policy == "incumbent")
    assert incumbent.holding_cost == pytest.approx(ev.reports[0].overall.holding_cost)
    assert incumbent.holding_change == pytest.approx(0.0)


def test_the_oracle_is_swept_over_alpha_and_marked(panel, cfg):
    fr = frontier(panel, cfg, ("or_hindsight",), {"incumbent": (0.0,), "or_hindsight": (0.8, 0.99)})
    low, high = family(fr, "or_hindsight")
    assert fr.oracles == ("or_hindsight",)
    assert (low.knob, low.value, high.value) == ("alpha", 0.8, 0.99)
    assert high.fill_rate > low.fill_rate and high.holding_cost > low.holding_cost
    block = fr.to_json()
    assert block["knobs"] == {"incumbent": "safety_offset", "or_hindsight": "alpha"}
    assert set(block["points"][0]) == {
        "policy",
        "knob",
        "value",
        "in_stock_rate",
        "holding_cost",
        "turnover_days",
        "fill_rate",
        "total_cost",
    }


def test_efficient_points_drop_those_beaten_on_both_service_and_cost():
    x = np.array([0.80, 0.85, 0.90, 0.95, 0.90])
    cost = np.array([10.0, 50.0, 20.0, 40.0, 25.0])
    assert efficient(x, cost).tolist() == [0, 2, 3]  # (0.85, 50) and (0.90, 25) are beaten


def test_cost_at_a_service_is_interpolated_between_the_bracketing_efficient_points():
    x = np.array([0.80, 0.85, 0.90, 0.95])
    ys = np.array([[10.0, 1.0], [50.0, 9.0], [20.0, 2.0], [40.0, 4.0]])
    (cost, turnover), status = value_at(x, ys, 0.925)
    assert status == "interpolated"
    assert cost == pytest.approx(30.0) and turnover == pytest.approx(3.0)
    (cost, _), _ = value_at(x, ys, 0.85)  # on the segment 0.80 → 0.90, the beaten point ignored
    assert cost == pytest.approx(15.0)
    assert value_at(x, ys, 0.90) == ((20.0, 2.0), "interpolated")


def test_a_service_outside_the_frontier_is_a_bound_or_unreached():
    x, ys = np.array([0.80, 0.90]), np.array([[10.0, 1.0], [20.0, 2.0]])
    assert value_at(x, ys, 0.70) == ((10.0, 1.0), "upper_bound")
    assert value_at(x, ys, 0.95) == ((None, None), "unreached")


def test_held_out_stores_are_seeded_and_leave_a_store_to_fit_on():
    stores = np.repeat(np.array([f"S{i}" for i in range(8)]), 3)
    picked = held_out_stores(stores, 0.25, seed=0)
    assert len(picked) == 2 and picked == held_out_stores(stores, 0.25, seed=0)
    assert len({held_out_stores(stores, 0.25, seed=s) for s in range(6)}) > 1
    assert len(held_out_stores(stores, 3, seed=0)) == 3
    assert held_out_stores(stores, 0, seed=0) == ()
    for every in (8, 9):
        with pytest.raises(InputError, match="split.holdout_locations.*holds out every store"):
            held_out_stores(stores, every, seed=0)


def perturbed(panel, units, seed=3):
    """``panel`` with the demand of ``units`` replaced by a far more erratic one."""
    rng = np.random.default_rng(seed)
    demand = panel.demand.copy()
    demand[units] *= rng.exponential(1.0, demand[units].shape) * rng.integers(
        0, 4, demand[units].shape
    )
    return replace(panel, demand=demand)


def tuned_safety(panel, cfg, held):
    split = time_split(panel, cfg)
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    return build_policy("incumbent", FitInputs(panel, d_hat, split, cfg, held)).safety


def test_the_location_holdout_never_tunes_on_held_out_stores(panel):
    cfg = load_config(None, [*SMALL, "split.holdout_locations=3"])
    held = held_out_units(panel, cfg)
    assert 0 < held.sum() < panel.n_units
    other = perturbed(panel, held)
    assert np.array_equal(tuned_safety(panel, cfg, held), tuned_safety(other, cfg, held))
    # without the hold-out, the same change of demand moves the tuned safety
    assert not np.array_equal(tuned_safety(panel, cfg, None), tuned_safety(other, cfg, None))


def test_metrics_json_scores_the_held_out_stores_apart(panel):
    cfg = load_config(None, [*SMALL, "split.holdout_locations=0.25"])
    ev = evaluate(panel, cfg, ("incumbent", "base_stock"))
    block = ev.to_json()["locations"]
    held = held_out_units(panel, cfg)
    assert len(block["stores"]) == 2 and block["held_out_units"] == int(held.sum())
    assert block["fitted_without_held_out"] == {"incumbent": True, "base_stock": True}
    for name, overall in ev.to_json()["policies"].items():
        days = block["held_out"][name]["unit_days"] + block["fitted"][name]["unit_days"]
        assert days == overall["unit_days"]
    assert "locations" not in (evaluate(panel, load_config(None, SMALL), ("base_stock",)).to_json())


def test_a_calibrated_oracle_alpha_ignores_the_held_out_stores(panel):
    cfg = load_config(
        None,
        [
            *SMALL,
            "split.holdout_locations=3",
            "labels.alpha_mode='in_stock'",
            "labels.target=0.9",
            "labels.calibration_steps=3",
        ],
    )
    held = held_out_units(panel, cfg)
    split = time_split(panel, cfg)

    def alpha(p):
        d_hat = reference_rates(p.demand, p.active, cfg.split.history_days, cfg.split.rate_floor)
        return build_policy("or_hindsight", FitInputs(p, d_hat, split, cfg, held)).alpha

    assert alpha(panel) == alpha(perturbed(panel, held))


def test_holding_out_every_store_is_refused_in_one_line():
    from typer.testing import CliRunner

    from orpr.cli import app

    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--set",
            "synthetic.units=16",
            "--set",
            "synthetic.days=112",
            "--set",
            "split.holdout_locations=8",
        ],
    )
    assert result.exit_code == 2
    assert "split.holdout_locations" in result.output and "Traceback" not in result.output


def test_a_category_sold_only_at_held_out_stores_gets_the_safety_of_all_fitting_units(panel):
    from orpr.baselines.tuning import fit_incumbent

    cfg = load_config(None, [*SMALL, "split.holdout_locations=3"])
    held = held_out_units(panel, cfg)
    categories = panel.units.categories.astype("<U16")
    categories[held, 0] = "only_held_out"
    other = replace(panel, units=replace(panel.units, categories=categories))
    safety = tuned_safety(other, cfg, held)
    fit = np.flatnonzero(~held)
    pooled = other.take_units(fit)
    one = pooled.units.categories.copy()
    one[:, 0] = "one"  # every fitting unit in one category
    pooled = replace(pooled, units=replace(pooled.units, categories=one))
    split = time_split(panel, cfg)
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    (expected,) = fit_incumbent(
        pooled,
        d_hat[fit],
        split.train_start,
        split.holdout_start,
        cfg.policy.alpha,
        cfg.policy.safety_days,
        cfg.split.warmup_days,
    ).category_safety
    assert np.all(safety[held] == expected)
    assert np.array_equal(safety[~held], tuned_safety(panel, cfg, held)[~held])
