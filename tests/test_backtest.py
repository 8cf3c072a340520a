"""The rolling backtest, incumbent tuning and the evaluate protocol on small synthetic panels."""

import json
from dataclasses import dataclass

import numpy as np
import pytest
from typer.testing import CliRunner

from orpr.baselines.backtest import review_days, run_backtest, sim_params, steady_state
from orpr.baselines.contract import DecisionContext
from orpr.baselines.split import time_split
from orpr.baselines.tuning import category_fill_rates, fit_incumbent, simulate_inventory_days
from orpr.cli import app
from orpr.config import load_config
from orpr.data import load_panel
from orpr.data.rate import reference_rates
from orpr.evaluation.evaluate import evaluate
from orpr.sim.kernel import SimParams, pipeline_length, simulate

SMALL = ["synthetic.units=30", "synthetic.days=112", "split.holdout_days=28"]


@pytest.fixture(scope="module")
def cfg():
    return load_config(None, SMALL)


@pytest.fixture(scope="module")
def panel(cfg):
    return load_panel(cfg)


@pytest.fixture(scope="module")
def d_hat(panel, cfg):
    return reference_rates(panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor)


@dataclass(frozen=True)
class Constant:
    """A test policy: the same inventory days for every unit; records what it was shown."""

    days: float
    seen: list
    name: str = "constant"
    oracle: bool = False

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        self.seen.append((ctx.day, ctx.history.n_days, len(ctx.units)))
        return np.full(len(ctx.units), self.days)


def test_steady_state_is_a_day_after_ordering_up_to_the_target():
    target = np.array([[10.0, 3.0, 0.0]])
    d_hat = np.array([2.0, 2.0, 2.0])
    state = steady_state(target, d_hat, np.array([2, 3, 1]), slots=4)
    position = state.on_hand + state.pipeline.sum(axis=2)
    flow = np.minimum(d_hat, target / (np.array([2, 3, 1]) + 1))
    assert np.allclose(position, target - flow)
    # unit 0: orders of the last 2 days in flight, 10 - 3*2 = 4 on hand
    assert state.on_hand[0, 0] == 4.0 and state.pipeline[0, 0].tolist() == [2.0, 2.0, 0.0, 0.0]
    assert np.all(state.on_hand >= 0) and np.all(state.pipeline >= 0)


def test_a_unit_in_steady_state_stays_there_under_constant_demand():
    lead = np.array([0, 1, 3])
    params = SimParams(lead, np.ones(3, dtype=np.int64), np.zeros(3, dtype=np.int64))
    target = np.array([[9.0, 9.0, 9.0]])
    state = steady_state(target, np.full(3, 2.0), lead, slots=4)
    traj, _ = simulate(
        np.full((3, 10), 2.0), np.broadcast_to(target[..., None], (1, 3, 10)), state, params
    )
    assert np.allclose(traj.orders, 2.0) and np.allclose(traj.lost, 0.0)
    assert np.allclose(traj.on_hand[0], (9.0 - 2.0 * (lead + 1))[:, None])


def test_a_policy_only_ever_sees_the_days_before_its_decision(panel, d_hat):
    seen = []
    run_backtest(panel, Constant(5.0, seen), d_hat, 80, 90, warmup=5)
    assert [day for day, _, _ in seen][0] == 75
    assert all(history_days == day for day, history_days, _ in seen)


def test_a_policy_never_sees_the_true_demand(panel, d_hat):
    assert panel.true_demand is not None

    @dataclass(frozen=True)
    class Peek:
        name: str = "peek"
        oracle: bool = False

        def decide(self, ctx):
            assert ctx.history.true_demand is None
            return np.full(len(ctx.units), 3.0)

    run_backtest(panel, Peek(), d_hat, 80, 84)


def test_decisions_do_not_move_when_future_demand_changes(panel, d_hat):
    from dataclasses import replace

    from orpr.baselines.rules import BaseStock

    policy = BaseStock(0.9, 56)
    before = run_backtest(panel, policy, d_hat, 80, 90)
    demand = panel.demand.copy()
    demand[:, 85:] *= 3.0
    after = run_backtest(replace(panel, demand=demand), policy, d_hat, 80, 90)
    due = ~np.isnan(before.inventory_days[:, :6])
    assert np.array_equal(before.inventory_days[:, :6][due], after.inventory_days[:, :6][due])


def test_units_are_asked_only_on_their_review_days(panel, d_hat):
    seen = []
    result = run_backtest(panel, Constant(5.0, seen), d_hat, 80, 90)
    due = review_days(sim_params(panel), 80, 10)
    assert np.array_equal(~np.isnan(result.inventory_days), due)


def test_backtest_equals_one_kernel_call_for_a_state_free_policy(panel, d_hat):
    result = run_backtest(panel, Constant(6.0, []), d_hat, 80, 100, warmup=7)
    params = sim_params(panel)
    target = 6.0 * d_hat[:, 73:100]
    cover = (params.lead_time + params.review_period) * d_hat[:, 73]
    state = steady_state(
        cover[None], d_hat[:, 73], params.lead_time, pipeline_length(params.lead_time)
    )
    demand = np.where(panel.active, panel.demand, 0.0)[:, 73:100]
    traj, _ = simulate(np.ascontiguousarray(demand), target[None], state, params, day0=73)
    assert np.allclose(result.on_hand, traj.on_hand[0, :, 7:])
    assert np.allclose(result.lost, traj.lost[0, :, 7:])
    assert result.on_hand.shape == (panel.n_units, 20)


def test_invalid_decisions_are_refused(panel, d_hat):
    with pytest.raises(ValueError, match="invalid inventory days"):
        run_backtest(panel, Constant(-1.0, []), d_hat, 80, 82)


def test_tuned_incumbent_takes_the_smallest_safety_that_meets_the_target(panel, d_hat, cfg):
    split = time_split(panel, cfg)
    alpha, warmup = 0.9, cfg.split.warmup_days
    grid = cfg.policy.safety_days
    inc = fit_incumbent(panel, d_hat, split.train_start, split.holdout_start, alpha, grid, warmup)
    u = panel.units
    step = np.diff(np.sort(grid)).min()
    for shift, meets in ((0.0, True), (-step, False)):
        safety = np.maximum(inc.safety + shift, 0.0)
        v = (u.lead_time + u.review_period + safety)[None].astype(float)
        _, lost = simulate_inventory_days(
            panel, v, d_hat, split.train_start, split.holdout_start, warmup
        )
        names, fill = category_fill_rates(
            lost, panel, split.train_start + warmup, split.holdout_start
        )
        for k, name in enumerate(names):
            chosen = inc.safety[u.category == name][0]
            if meets:
                assert fill[0, k] >= alpha or chosen == max(grid)
            elif chosen > 0 and np.isin(chosen - step, grid):
                assert fill[0, k] < alpha


def test_more_safety_days_never_lose_more_sales(panel, d_hat, cfg):
    split = time_split(panel, cfg)
    u = panel.units
    grid = np.array([0.0, 2.0, 4.0])
    v = (u.lead_time + u.review_period)[None] + grid[:, None]
    _, lost = simulate_inventory_days(
        panel, v.astype(float), d_hat, split.train_start, split.holdout_start
    )
    assert np.all(np.diff(lost.sum(axis=1)) <= 1e-9)


def test_evaluate_reports_every_policy_overall_by_segment_and_on_promotions(panel, cfg):
    ev = evaluate(panel, cfg)
    out = ev.to_json()
    assert list(out["policies"]) == ["incumbent", "base_stock"]
    keys = {
        "turnover_days",
        "in_stock_rate",
        "fill_rate",
        "holding_cost",
        "lost_sales_cost",
        "total_cost",
    }
    for metrics in out["policies"].values():
        assert keys <= set(metrics)
        assert 0.0 <= metrics["in_stock_rate"] <= 1.0
    assert set(out["segments"]) == set(np.unique(ev.segments))
    assert set(out["promo"]) == {"incumbent", "base_stock"}
    assert set(out["meta"]["tuning"]["incumbent"]) == set(np.unique(panel.units.category))
    assert out["meta"]["units"] == panel.n_units


def test_evaluate_is_deterministic(panel, cfg):
    assert evaluate(panel, cfg).to_json() == evaluate(panel, cfg).to_json()


def test_evaluate_command_writes_metrics_and_resolved_config(tmp_path):
    args = ["evaluate", "--format", "synthetic", "--out", str(tmp_path / "run"), "--json"]
    for item in SMALL:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert printed == written
    assert "units = 30" in (tmp_path / "run" / "config.toml").read_text()


def test_evaluate_command_refuses_an_unknown_policy():
    result = CliRunner().invoke(
        app, ["evaluate", "--policies", "magic", *sum((["--set", s] for s in SMALL), [])]
    )
    assert result.exit_code == 2
    assert "unknown policy" in result.stderr and "magic" in result.stderr


def test_a_too_short_panel_is_refused_with_its_length():
    result = CliRunner().invoke(app, ["evaluate", "--set", "synthetic.days=40"])
    assert result.exit_code == 2
    assert "too few days" in result.stderr and "40" in result.stderr
