"""The stationary benchmark: its instance as data, whole units, cost labels with the incumbent
as continuation, the cost reward, the exact optimum run in the backtest, and the summary."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from orpr.baselines.backtest import order_up_to, run_backtest
from orpr.baselines.split import time_split
from orpr.baselines.tuning import fit_incumbent
from orpr.cli import app
from orpr.config import load_config
from orpr.data import load_panel
from orpr.data.rate import reference_rates
from orpr.errors import InputError
from orpr.evaluation.evaluate import evaluate
from orpr.evaluation.optimal import OPTIMAL, instance_oracle, oracle_states, table_orders
from orpr.evaluation.policies import FitInputs, build_policy
from orpr.evaluation.stationary import (
    gap_pct,
    mean_and_stderr,
    plug_in_base_stock,
    stationary_summary,
)
from orpr.labels.decide import choose, least_cost
from orpr.labels.hindsight import oracle_inputs
from orpr.labels.replay import (
    Positions,
    Replay,
    continuation_targets,
    cost_prices,
    label_inputs,
    replay_candidates,
    scenario_demand,
    scenario_uniforms,
)
from orpr.labels.rolling import shard_inputs
from orpr.rl.rloo import cost_reward
from orpr.sim.kernel import SimParams, SimState, simulate
from orpr.stationary.chain import base_stock_cost
from orpr.stationary.instance import demand_draws
from orpr.stationary.law import parse_demand
from test_finetune import RL
from test_pretrain import TINY

SMALL = [
    'data.format="stationary"',
    "stationary.units=48",
    "stationary.days=420",
    "stationary.lead_time=1",
    "stationary.penalty=4.0",
    "split.history_days=56",
    "split.holdout_days=300",
    "split.warmup_days=20",
]


def small(*extra: str):
    return load_config("configs/stationary.toml", [*SMALL, *extra])


@pytest.fixture(scope="module")
def panel():
    return load_panel(small())


def test_the_instance_is_iid_whole_unit_demand_with_the_units_parameters(panel):
    cfg = small()
    u = panel.units
    assert panel.units.whole_units
    assert set(u.lead_time) == {1} and set(u.review_period) == {1}
    assert np.all(u.unit_cost == 1.0) and np.all(u.holding_rate == 1.0)
    assert np.all(u.lost_penalty == 4.0)
    assert set(u.sources.values()) == {"data"}
    assert np.array_equal(panel.demand, np.rint(panel.demand))
    assert abs(panel.demand.mean() - 5.0) < 0.05
    assert np.array_equal(panel.demand, demand_draws(cfg.stationary))
    # a unit's path does not depend on the unit count
    fewer = load_config("configs/stationary.toml", [*SMALL, "stationary.units=3"])
    assert np.array_equal(demand_draws(fewer.stationary), panel.demand[:3])


def test_a_bad_instance_is_refused_in_one_line():
    with pytest.raises(InputError, match="stationary.demand"):
        load_panel(small('stationary.demand="normal:5"'))
    with pytest.raises(InputError, match="stationary.penalty"):
        small("stationary.penalty=0")
    with pytest.raises(InputError, match="takes no --data path"):
        load_panel(small(), path="x.csv")
    with pytest.raises(InputError, match="'stationary.lead_time'.*too large for the exact"):
        load_panel(small("stationary.lead_time=9"))  # before any work, not after training
    for bad, key in (
        ("stationary.penalty=inf", "stationary.penalty"),
        ("stationary.seed=-1", "stationary.seed"),
        ('stationary.start="2020-13-01"', "stationary.start"),
        ("labels.scenario_days=0", "labels.scenario_days"),
        ("seed=-2", "'seed'"),
    ):
        with pytest.raises(InputError, match=key):
            small(bad)


@given(st.lists(st.floats(0, 40), min_size=1, max_size=8), st.floats(0.1, 9))
@settings(max_examples=50, deadline=None)
def test_whole_units_round_the_level_to_the_nearest_unit(days, rate):
    v = np.array(days)
    assert np.array_equal(order_up_to(v, rate), v * rate)
    whole = order_up_to(v, rate, whole_units=True)
    assert np.array_equal(whole, np.rint(whole)) and np.all(np.abs(whole - v * rate) <= 0.5)


def test_cost_labels_take_each_units_least_cost_candidate():
    lam = cost_prices(
        np.array([1.0, 2.0, 1.0]), np.array([1.0, 0.5, 0.0]), np.array([4.0, 4.0, 3.0])
    )
    assert lam[0] == 4.0 and lam[1] == 4.0 and np.isinf(lam[2])
    stock = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    loss = np.array([[1.0, 0.1, 0.0], [0.2, 0.0, 0.0], [0.5, 0.5, 0.2]])
    replay = Replay(stock, loss, np.ones(3))
    # unit 0: 4, 1.4, 2 → 1; unit 1: 0.8, 1, 2 → 0; unit 2 (λ = ∞): least loss → 2
    assert least_cost(replay, lam).tolist() == [1, 0, 2]
    cfg = small().labels
    decision = choose(replay, np.zeros(3, dtype=np.int64), 0.95, cfg, lam)
    assert decision.choice.tolist() == [1, 0, 2] and decision.met.all()
    assert np.array_equal(decision.lam, lam)


def test_a_candidate_orders_once_and_then_follows_the_incumbent(panel):
    cfg = small("labels.scenarios=0")  # the one future that happened
    d_hat = reference_rates(panel.demand, panel.active, 56, 0.01)
    follow = np.full(panel.n_units, 3.0)
    inputs = label_inputs(panel, d_hat, cfg.labels, follow)
    t, units = 100, np.arange(4)
    first = np.rint(inputs.grid[:, None] * d_hat[units, t][None])
    target = continuation_targets(first, follow[units], d_hat[units, t : t + 5], True)
    assert target.shape == (len(inputs.grid), 4, 5)
    assert np.array_equal(target[:, :, 0], first)
    later = np.rint(3.0 * d_hat[units, t + 1 : t + 5])
    assert np.all(target[:, :, 1:] == later[None])
    # the replay: a candidate's outcome differs from holding v over H, and equals a direct
    # simulation of "order up to v·d̂ today, then the incumbent's level"
    positions = Positions(
        units, np.full(4, 10.0), np.zeros((4, inputs.slots)), np.zeros(4, dtype=bool)
    )
    held = replay_candidates(inputs._replace(follow=None), t, panel.n_days, positions)
    followed = replay_candidates(inputs, t, panel.n_days, positions)
    assert not np.allclose(held.stock, followed.stock)
    lead, horizon = int(inputs.params.lead_time[0]), int(inputs.horizon[0])
    for j in (0, 30, 60):
        level = np.concatenate([first[j, :1], np.rint(3.0 * d_hat[0, t + 1 : t + horizon])])
        traj, _ = simulate(
            panel.demand[:1, t : t + horizon],
            level[None, None],
            SimState(np.full((1, 1), 10.0), np.zeros((1, 1, inputs.slots))),
            SimParams(*(a[:1] for a in inputs.params)),
            day0=t,
        )
        assert followed.stock[0, j] == traj.on_hand[0, 0, lead:].sum()
        assert followed.loss[0, j] == traj.lost[0, 0, lead:].sum()


def test_the_cost_objective_tunes_the_incumbent_to_the_least_cost_level(panel):
    cfg = small()
    split = time_split(panel, cfg)
    d_hat = reference_rates(panel.demand, panel.active, cfg.split.history_days, 0.01)
    grid = cfg.policy.safety_days
    tuned = fit_incumbent(
        panel, d_hat, split.train_start, split.holdout_start, 0.95, grid, 20, objective="cost"
    )
    service = fit_incumbent(panel, d_hat, split.train_start, split.holdout_start, 0.95, grid, 20)
    level = (2 + tuned.category_safety[0]) * 5.0
    law = parse_demand("poisson:5")
    best = min(range(6, 20), key=lambda s: base_stock_cost(s, None, law, 1, 4.0, 1.0))
    assert abs(level - best) <= 1.0  # the tuned level is the exact best base-stock level ± 1
    assert tuned.category_safety[0] != service.category_safety[0]


def test_the_cost_reward_is_the_priced_cost_saved():
    r = cost_reward(
        np.array([[1.0, 3.0]]),
        np.array([[0.5, 0.0]]),
        np.array([[2.0]]),
        np.array([[0.2]]),
        np.array([[4.0]]),
        np.array([[2.0]]),
    )
    assert np.allclose(r, [[-(1.0 - 2.0 + 4.0 * 0.3) / 2.0, -(3.0 - 2.0 - 4.0 * 0.2) / 2.0]])
    free = cost_reward(
        np.array([5.0]),
        np.array([0.1]),
        np.array([1.0]),
        np.array([0.3]),
        np.array([np.inf]),
        np.array([1.0]),
    )
    assert np.allclose(free, [0.2])


def test_oracle_states_and_table_orders():
    states = oracle_states(np.array([3.0, 2.6]), np.array([[1.0, 2.0, 0.0], [0.2, 1.0, 0.0]]), 3)
    assert states.tolist() == [[3, 1, 2], [3, 0, 1]]
    policy = np.arange(4 * 3 * 3).reshape(4, 3, 3)
    policy[0, 0, 0] = -1
    orders = table_orders(policy, np.array([[1, 2, 0], [0, 0, 0], [9, 0, 0]]))
    assert orders.tolist() == [policy[1, 2, 0], 0, 0]


def test_the_optimal_policy_in_the_backtest_reproduces_the_oracles_cost(panel):
    cfg = small()
    oracle = instance_oracle(cfg)
    split = time_split(panel, cfg)
    d_hat = reference_rates(panel.demand, panel.active, cfg.split.history_days, 0.01)
    policy = build_policy(OPTIMAL, FitInputs(panel, d_hat, split, cfg))
    result = run_backtest(panel, policy, d_hat, split.holdout_start, split.stop, 20)
    assert np.array_equal(result.on_hand, np.rint(result.on_hand))  # whole units throughout
    summary = stationary_summary(panel, cfg, [result])
    row = summary["policies"][OPTIMAL]
    assert abs(row["cost"] - oracle.optimal_cost) < 3 * row["stderr"]
    assert summary["oracle"]["optimal_cost"] == oracle.optimal_cost
    with pytest.raises(InputError, match="data.format = stationary"):
        instance_oracle(load_config("configs/demo.toml"))


def test_the_summary_pairs_every_policy_with_the_optimum(panel):
    cfg = small('eval.policies=["optimal", "incumbent"]')
    ev = evaluate(panel, cfg)
    summary = stationary_summary(panel, cfg, ev.results)
    inc, opt = summary["policies"]["incumbent"], summary["policies"][OPTIMAL]
    oracle = summary["oracle"]
    assert "paired_gap_pct" not in opt
    assert inc["paired_gap_pct"] > -3 * inc["paired_gap_stderr_pct"]  # nothing beats the optimum
    assert inc["paired_gap_stderr_pct"] < inc["gap_stderr_pct"]  # pairing removes the noise
    assert gap_pct(inc["cost"], oracle["optimal_cost"]) == pytest.approx(inc["gap_pct"])
    assert oracle["base_stock_gap_pct"] >= 0 and oracle["capped_base_stock_gap_pct"] >= 0
    # the tuned incumbent is a base-stock rule: about the best base-stock's cost
    assert abs(inc["cost"] - oracle["base_stock_cost"]) < 4 * inc["stderr"] + 0.02
    plug_in = summary["plug_in_base_stock"]  # the same rule acting on the estimated rate
    assert plug_in["history_days"] == 56 and plug_in["gap_pct"] > oracle["base_stock_gap_pct"]
    m, se = mean_and_stderr(np.array([1.0, 2.0, 3.0]))
    assert m == 2.0 and se == pytest.approx(1.0 / np.sqrt(3))


def test_orpr_evaluate_reports_the_gap_to_the_optimum_as_orpr_run_does(tmp_path):
    sets = [x for a in SMALL for x in ("--set", a)]
    args = ["evaluate", "--config", "configs/stationary.toml", *sets]
    out = tmp_path / "eval"
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)["stationary"]
    assert set(summary["policies"]) == {OPTIMAL, "incumbent"}
    assert "paired_gap_pct" in summary["policies"]["incumbent"]
    assert json.loads((out / "metrics.json").read_text())["stationary"] == summary
    table = CliRunner().invoke(app, args, terminal_width=200)
    assert table.exit_code == 0, table.output
    assert "Stationary lost-sales instance" in table.output
    assert f"{summary['oracle']['optimal_cost']:.4f}" in table.output


def test_orpr_run_reports_the_learned_policys_gap_as_json(tmp_path):
    args = [
        *TINY,
        *RL,
        *SMALL,
        "stationary.units=12",
        "labels.v_max=6.0",
        "rl.states=512",
        "rl.expert_epochs=0",
        "rl.expert_warm_epochs=0",
        "model.window=14",
        "pretrain.min_history=7",
    ]
    args = [a for a in args if not a.startswith("synthetic.")]
    sets = [x for a in args for x in ("--set", a)]
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", "--config", "configs/stationary.toml", "--out", str(out), "--json", *sets]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)["stationary"]
    assert {"orpr", "pretrained", OPTIMAL, "incumbent"} <= set(summary["policies"])
    row = summary["policies"]["orpr"]
    assert {"cost", "stderr", "gap_pct", "paired_gap_pct", "paired_gap_stderr_pct"} <= set(row)
    assert np.isfinite(row["cost"]) and row["stderr"] > 0
    assert summary["oracle"]["optimal_cost"] > 0
    assert json.loads((out / "metrics.json").read_text())["stationary"] == summary


def test_resampled_futures_use_only_the_past_and_do_not_depend_on_the_shard(panel):
    cfg = small("labels.scenarios=16", "labels.scenario_days=40")
    d_hat = reference_rates(panel.demand, panel.active, 56, 0.01)
    inputs = label_inputs(panel, d_hat, cfg.labels, np.full(panel.n_units, 2.5), seed=4)
    t, units = 150, np.arange(6)
    u = scenario_uniforms(4, t, np.array([0, 5, 9]), 16, 7)
    assert u.shape == (3, 16, 7) and np.all((u >= 0) & (u < 1)) and abs(u.mean() - 0.5) < 0.05
    assert np.array_equal(scenario_uniforms(4, t, np.array([9]), 16, 7)[0], u[2])
    futures = scenario_demand(inputs, units, t, 7)
    assert futures.shape == (6, 16, 7)
    for j in units:  # every drawn day is one of the unit's last 40 days
        assert np.isin(futures[j], panel.demand[j, t - 40 : t]).all()
    days = np.arange(panel.n_days)
    marked = inputs._replace(demand=np.where((days >= t) | (days < t - 40), 1e6, inputs.demand))
    assert scenario_demand(marked, units, t, 7).max() < 1e6  # no day outside the window drawn
    positions = Positions(
        units, np.full(6, 8.0), np.zeros((6, inputs.slots)), np.zeros(6, dtype=bool)
    )
    replay = replay_candidates(inputs, t, panel.n_days, positions)
    future_changed = inputs._replace(
        demand=np.where(days >= t, 0.0, inputs.demand), d_hat=np.where(days > t, 3.0 * d_hat, d_hat)
    )
    assert np.array_equal(
        replay_candidates(future_changed, t, panel.n_days, positions).stock, replay.stock
    )  # the realised future plays no part
    # a shard holding units 3… draws the same futures for them
    shard = shard_inputs(inputs, slice(3, None))
    part = replay_candidates(
        shard,
        t,
        panel.n_days,
        Positions(np.arange(3), positions.on_hand[3:], positions.pipeline[3:], positions.start[3:]),
    )
    assert np.array_equal(part.loss, replay.loss[3:])
    # the hindsight oracle keeps reading the realised future
    assert oracle_inputs(panel, d_hat, cfg.labels).scenarios == 0


def test_the_plug_in_base_stock_pays_for_the_estimated_rate_and_less_with_more_history():
    best = base_stock_cost(
        instance_oracle(small()).base_stock_level, None, parse_demand("poisson:5"), 1, 4.0, 1.0
    )
    costs = [plug_in_base_stock("poisson:5", 1, 4.0, 1.0, n)[0] for n in (30, 365, 10**7)]
    assert costs[0] > costs[1] > best  # a rule on an estimate is never better than on the law
    assert costs[2] == pytest.approx(best, rel=1e-9)  # with the law known, the best base-stock
