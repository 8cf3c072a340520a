"""Stages 3 and 4 end to end on a small synthetic panel: RLOO, the expert fine-tune, resume,
expert labels, and a problem with a known best action."""

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from typer.testing import CliRunner

from orpr.cli import app
from orpr.config import load_config
from orpr.data import load_panel
from orpr.data.rate import reference_rates
from orpr.errors import InputError
from orpr.evaluation.evaluate import evaluate
from orpr.model.checkpoint import load_model
from orpr.rl.expert import category_uplift, expert_targets, promotion_states, snap_up
from orpr.rl.finetune import finetune
from orpr.rl.outcomes import read_outcomes
from orpr.rl.tasks import RLTask
from orpr.training.demand import demand_data
from orpr.training.labels import read_labels
from orpr.training.loop import LoopState, fit
from orpr.training.pretrain import pretrain, training_days
from test_pretrain import TINY, fabricate_labels

RL = [
    "rl.epochs=2",
    "rl.states=256",
    "rl.batch_size=64",
    "rl.samples=4",
    "rl.expert_epochs=2",
    "rl.expert_warm_epochs=1",
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    cfg = load_config("configs/demo.toml", [*TINY, *RL])
    panel = load_panel(cfg)
    root = tmp_path_factory.mktemp("finetune")
    labels = fabricate_labels(panel, cfg, root / "labels")
    pretrain(panel, labels, cfg, root / "run" / "pretrained")
    run = finetune(panel, root / "run", labels, cfg, root / "run")
    return cfg, panel, labels, root, run


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_model(path)[0].state_dict()


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_run_writes_both_models_and_per_step_figures(setup):
    _, _, _, root, run = setup
    assert run.complete
    for name in ("pretrained", "orpr", "orpr_expert"):
        assert (root / "run" / name / "model.json").is_file()
    figures = json.loads((root / "run" / "finetune.json").read_text())
    steps = figures["stages"]["rloo"]["steps"]
    assert len(steps) == 2 * 4  # 2 epochs × 256 states / 64
    for key in ("reward", "kl", "entropy", "pareto_rate", "r_sim", "r_rule"):
        assert all(np.isfinite(s[key]) for s in steps)
    assert figures["stages"]["expert"]["epochs"][0]["phase"] == "warm start"
    assert set(figures["validation"]) == {"pretrained", "orpr", "orpr_expert"}
    assert figures["expert_targets"]["source"] == "planner rule"
    # training moved the decision head away from the reference, not the encoder
    pre, rl = weights(root / "run" / "pretrained"), weights(root / "run" / "orpr")
    enc = [k for k in pre if k.startswith("encoder.")]
    assert all(torch.equal(pre[k], rl[k]) for k in enc)
    assert not same(pre, rl)


def test_the_same_seed_gives_the_same_models(setup, tmp_path):
    cfg, panel, labels, root, _ = setup
    finetune(panel, root / "run", labels, cfg, tmp_path / "again")
    for name in ("orpr", "orpr_expert"):
        assert same(weights(root / "run" / name), weights(tmp_path / "again" / name))


def test_a_stopped_run_resumes_to_the_same_models(setup, tmp_path):
    cfg, panel, labels, root, _ = setup
    for limit in (3, 7, 11):  # stops inside RLOO, at its end, inside the expert stage
        stop = load_config("configs/demo.toml", [*TINY, *RL, f"pretrain.max_steps={limit}"])
        assert not finetune(panel, root / "run", labels, stop, tmp_path).complete
    done = finetune(panel, root / "run", labels, cfg, tmp_path)
    assert done.complete
    for name in ("orpr", "orpr_expert"):
        assert same(weights(root / "run" / name), weights(tmp_path / name))


def test_a_checkpoint_of_another_rl_config_is_refused(setup, tmp_path):
    cfg, panel, labels, root, _ = setup
    stop = load_config("configs/demo.toml", [*TINY, *RL, "pretrain.max_steps=2"])
    finetune(panel, root / "run", labels, stop, tmp_path)
    other = load_config("configs/demo.toml", [*TINY, *RL, "rl.beta=0.5"])
    with pytest.raises(InputError, match="another model, labels or"):
        finetune(panel, root / "run", labels, other, tmp_path)


def test_orpr_policies_are_evaluated_with_promotion_days(setup):
    cfg, panel, _, root, _ = setup
    run_cfg = load_config(
        "configs/demo.toml", [*TINY, *RL, f"model.checkpoint={json.dumps(str(root / 'run'))}"]
    )
    ev = evaluate(panel, run_cfg, ("pretrained", "orpr", "orpr_expert"))
    names = [r.name for r in ev.reports]
    assert names == ["pretrained", "orpr", "orpr_expert"]
    for r in ev.reports:
        assert 0 <= r.promo.in_stock_rate <= 1 and r.promo.unit_days > 0


def test_promotion_states_and_the_planner_rule(setup):
    cfg, panel, labels, _, _ = setup
    table = read_labels(labels, panel)
    promo = promotion_states(panel, table)
    span = (panel.units.lead_time + panel.units.review_period)[table.units]
    for i in np.random.default_rng(0).choice(len(table.units), 200, replace=False):
        u, t = table.units[i], table.days[i]
        assert promo[i] == bool(panel.promo[u, t : t + span[i]].any())
    stop = training_days(panel, cfg)[2]
    targets = expert_targets(panel, table, stop, cap=3.0)
    assert np.array_equal(targets.rows, np.flatnonzero(promo))
    v_star = table.grid[table.v_index[targets.rows]]
    assert (targets.v_expert >= v_star - 1e-9).all()
    uplift = category_uplift(panel, stop, cap=3.0)
    assert all(1.0 <= u <= 3.0 for u in uplift.values())
    assert any(u > 1.0 for u in uplift.values())  # the generator lifts demand on promotions
    flat = expert_targets(panel, table, stop, cap=1.0)  # no uplift: the rule keeps v*
    assert np.array_equal(flat.v_index, table.v_index[flat.rows])


def test_snap_up_rounds_to_the_next_grid_value():
    grid = np.arange(5) * 0.5
    assert snap_up(np.array([0.0, 0.2, 0.5, 1.01, 9.0]), grid).tolist() == [0, 1, 1, 3, 4]


def test_an_expert_file_replaces_the_rule(setup, tmp_path):
    cfg, panel, labels, _, _ = setup
    table = read_labels(labels, panel)
    stop = training_days(panel, cfg)[2]
    rows = np.flatnonzero(promotion_states(panel, table))[:50]
    dates = np.datetime_as_string(panel.dates[table.days[rows]], unit="D")
    file = tmp_path / "expert.csv"
    pl.DataFrame(
        {
            "unit_id": panel.units.unit_id[table.units[rows]].astype(str),
            "date": dates,
            "v_expert": np.full(len(rows), 7.2),
        }
    ).write_csv(file)
    t = expert_targets(panel, table, stop, str(file))
    assert np.array_equal(t.rows, rows) and t.source.startswith("file")
    assert (t.v_expert == 7.0).all()  # nearest grid value


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop("v_expert"), "column 'v_expert'"),
        (lambda f: f.with_columns(pl.lit(-1.0).alias("v_expert")), "number ≥ 0"),
        (lambda f: f.with_columns(pl.lit(99.0).alias("v_expert")), "largest decision"),
        (lambda f: f.with_columns(pl.lit("nowhere").alias("unit_id")), "unit not in the data"),
        (lambda f: f.with_columns(pl.lit("2024-13-01").alias("date")), "YYYY-MM-DD"),
        (lambda f: f.with_columns(pl.lit("1999-01-01").alias("date")), "outside the data"),
    ],
)
def test_bad_expert_files_exit_2_with_one_line(setup, tmp_path, edit, message):
    _, panel, labels, root, _ = setup
    good = pl.DataFrame(
        {
            "unit_id": [str(panel.units.unit_id[0])] * 2,
            "date": [str(panel.dates[60]), str(panel.dates[61])],
            "v_expert": [3.0, 4.0],
        }
    )
    file = tmp_path / "expert.csv"
    edit(good).write_csv(file)
    args = [
        "finetune",
        "--config",
        "configs/demo.toml",
        "--model",
        str(root / "run"),
        "--labels",
        str(labels),
        "--out",
        str(tmp_path / "out"),
        "--expert",
        str(file),
    ]
    for item in [*TINY, *RL]:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0] and str(file) in lines[0]


def known_best_labels(labels: Path, out: Path, best: int) -> Path:
    """The fabricated labels with candidate outcomes where bin ``best`` dominates every other."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("labels.parquet", "labels_meta.json"):
        (out / name).write_bytes((labels / name).read_bytes())
    with np.load(labels / "candidates.npz") as npz:
        n, m, grid = *npz["stock"].shape, npz["grid"]
    distance = np.abs(np.arange(m) - best)[None, :].repeat(n, 0)
    np.savez(out / "candidates.npz", stock=10.0 + distance, loss=1.0 + 0.5 * distance, grid=grid)
    return out


def test_rloo_raises_the_probability_of_a_known_best_action_and_lowers_cost(setup, tmp_path):
    cfg, panel, labels, root, _ = setup
    best = 14
    folder = known_best_labels(labels, tmp_path / "labels", best)
    table = read_labels(folder, panel)
    outcomes = read_outcomes(folder, table, panel.units.unit_cost)
    reference, _, _ = load_model(root / "run" / "pretrained")
    model, _, _ = load_model(root / "run" / "pretrained")
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    data = demand_data(panel, d_hat, model.spec.features)
    rl = load_config(
        "configs/demo.toml",
        [*TINY, *RL, "rl.omega=0", "rl.beta=0", "rl.lr=3e-3", "rl.epochs=4", "rl.states=2048"],
    )
    days = training_days(panel, cfg)
    task = RLTask(data, table, outcomes, reference, rl.rl, days[1:3], cfg.seed, 256)
    rows = task.val_rows

    def measure(m):
        m.eval()
        from orpr.model.network import to_tensors
        from orpr.training.labels import label_features

        with torch.no_grad():
            x = to_tensors(label_features(data, table, rows, m.spec.features))
            p = torch.softmax(m.decision_logits(x), -1).numpy()
        cost = (p * (outcomes.stock[rows] + outcomes.loss[rows])).sum(1).mean()
        return p[:, best].mean(), cost

    p0, c0 = measure(model)
    torch.manual_seed(0)
    fit(model, task, rl.pretrain, LoopState(), lambda *_: None)
    p1, c1 = measure(model)
    assert p1 > p0 + 0.1
    assert c1 < c0


def test_orpr_expert_decides_as_orpr_except_where_a_promotion_is_planned(setup):
    from orpr.baselines.contract import DecisionContext
    from orpr.baselines.split import time_split
    from orpr.evaluation.policies import FitInputs, build_policy

    cfg, panel, _, root, _ = setup
    run_cfg = load_config(
        "configs/demo.toml", [*TINY, *RL, f"model.checkpoint={json.dumps(str(root / 'run'))}"]
    )
    split = time_split(panel, run_cfg)
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    general = build_policy("orpr", FitInputs(panel, d_hat, split, run_cfg))
    expert = build_policy("orpr_expert", FitInputs(panel, d_hat, split, run_cfg))
    t = split.holdout_start
    units = np.arange(panel.n_units)
    rng = np.random.default_rng(0)
    ctx = DecisionContext(
        t,
        units,
        panel.take_days(0, t),
        d_hat[units, t],
        rng.uniform(0, 3, len(units)) * d_hat[units, t],
        np.zeros((len(units), 4)),
    )
    promo = expert.promotion_rows(ctx)
    assert 0 < promo.sum() < len(units)
    a, b = general.decide(ctx), expert.decide(ctx)
    assert np.array_equal(a[~promo], b[~promo])
    span = panel.units.lead_time + panel.units.review_period
    for u in np.flatnonzero(promo)[:20]:
        assert panel.promo[u, t : t + span[u]].any()
