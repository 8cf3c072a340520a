"""``orpr recommend``: decisions and orders as the backtest makes them, refusals with reasons,
positions files checked like every input."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from typer.testing import CliRunner

from orpr.baselines.backtest import run_backtest
from orpr.cli import app
from orpr.config import load_config
from orpr.data import load_panel
from orpr.data.rate import reference_rates
from orpr.deploy.positions import read_positions, spread_pipeline
from orpr.deploy.recommend import choose_policy, fit_policy, recommend
from orpr.errors import InputError
from orpr.model.checkpoint import save_model
from orpr.model.network import ORPRModel
from orpr.training.pretrain import model_spec

SMALL = [
    "synthetic.units=60",
    "synthetic.days=112",
    "split.holdout_days=28",
    "model.d_model=16",
    "model.layers=1",
    "model.heads=2",
    "model.d_ff=32",
    "model.hash_buckets=32",
    "model.decoder_hidden=16",
    "model.latent=4",
]
CLI_SMALL = ["--config", "configs/demo.toml", *(a for s in SMALL[:3] for a in ("--set", s))]


@pytest.fixture(scope="module")
def cfg():
    return load_config("configs/demo.toml", SMALL)


@pytest.fixture(scope="module")
def panel(cfg):
    return load_panel(cfg)


def save_random_model(run_dir: Path, name: str, cfg, seed: int = 0) -> Path:
    """An untrained model of the configured size saved as ``run_dir/name`` (it still decides)."""
    torch.manual_seed(seed)
    grid = list(cfg.labels.grid)
    save_model(run_dir / name, ORPRModel(model_spec(cfg.model, len(grid))), grid, {"alpha": 0.95})
    return run_dir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, cfg):
    return save_random_model(tmp_path_factory.mktemp("run"), "pretrained", cfg)


def recommended(rec) -> pl.DataFrame:
    return rec.table.filter(pl.col("refused").is_null())


@pytest.mark.parametrize("policy", ["incumbent", "base_stock"])
def test_order_quantity_is_the_target_position_less_on_hand_and_pipeline(panel, cfg, policy):
    rows = recommended(recommend(panel, cfg, None, None, policy))
    assert rows.height > 0
    v, d_hat = rows["inventory_days"].to_numpy(), rows["d_hat"].to_numpy()
    target = rows["target_position"].to_numpy()
    position = rows["on_hand"].to_numpy() + rows["pipeline"].to_numpy()
    assert np.allclose(target, v * d_hat)
    assert np.allclose(rows["order_quantity"].to_numpy(), np.maximum(0.0, target - position))
    assert (rows["order_quantity"].to_numpy() > 0).any()


@pytest.mark.parametrize("policy", ["incumbent", "base_stock", "pretrained"])
def test_decisions_and_orders_are_the_backtests_on_that_day(panel, cfg, run_dir, policy):
    day = panel.n_days - 10
    rec = recommend(panel, cfg, run_dir, str(panel.dates[day]), policy)
    fitted = fit_policy(policy, panel, day, cfg, run_dir)
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    # the backtest over the whole panel, scored from that day on, with the same warm-up
    result = run_backtest(panel, fitted, d_hat, day, panel.n_days, cfg.split.warmup_days)
    due = np.flatnonzero(~np.isnan(result.inventory_days[:, 0]))
    t = rec.table
    assert t["unit_id"].to_list() == panel.units.unit_id[due].astype(str).tolist()
    assert np.allclose(t["inventory_days"].to_numpy(), result.inventory_days[due, 0])
    assert np.allclose(t["order_quantity"].to_numpy(), result.orders[due, 0])
    assert np.allclose(t["d_hat"].to_numpy(), d_hat[due, day])


@pytest.mark.parametrize("policy", ["incumbent", "base_stock"])
def test_a_positions_file_gives_the_backtests_decision_for_the_same_position(
    panel, cfg, tmp_path, policy
):
    simulated = recommend(panel, cfg, None, None, policy).table
    path = tmp_path / "positions.csv"
    simulated.select("unit_id", "on_hand", "pipeline").write_csv(path)
    from_file = recommend(panel, cfg, None, None, policy, read_positions(path, panel.units.unit_id))
    t = from_file.table
    assert from_file.position_source == f"file: {path}"
    assert t["unit_id"].to_list() == simulated["unit_id"].to_list()
    for column in ("inventory_days", "target_position", "order_quantity"):
        assert np.allclose(t[column].to_numpy(), simulated[column].to_numpy()), column


def test_a_positions_file_without_pipeline_counts_nothing_outstanding(panel, cfg, tmp_path):
    path = tmp_path / "positions.parquet"
    ids = panel.units.unit_id.astype(str)
    pl.DataFrame({"unit_id": ids, "on_hand": np.full(len(ids), 2.0)}).write_parquet(path)
    rows = recommended(
        recommend(panel, cfg, None, None, "base_stock", read_positions(path, panel.units.unit_id))
    )
    assert (rows["pipeline"] == 0).all() and (rows["on_hand"] == 2).all()
    expected = np.maximum(0.0, rows["target_position"].to_numpy() - 2.0)
    assert np.allclose(rows["order_quantity"].to_numpy(), expected)


def test_units_that_cannot_be_scored_are_refused_with_a_reason_and_no_figures(panel, cfg, tmp_path):
    day = panel.n_days - 10
    when = str(panel.dates[day])
    daily = panel.units.review_period == 1  # these review every day
    new, gone, flat, unknown = np.flatnonzero(daily)[:4]
    active, demand = panel.active.copy(), panel.demand.copy()
    active[new, : day + 3] = False
    active[gone, day - 5 :] = False
    demand[flat, day - cfg.split.history_days : day] = 0.0
    edited = replace(panel, active=active, demand=demand)
    ids = panel.units.unit_id.astype(str)
    path = tmp_path / "positions.csv"
    keep = np.arange(panel.n_units) != unknown
    pl.DataFrame({"unit_id": ids[keep], "on_hand": np.ones(keep.sum())}).write_csv(path)
    rec = recommend(
        edited, cfg, None, when, "base_stock", read_positions(path, panel.units.unit_id)
    )
    reasons = dict(rec.table.select("unit_id", "refused").iter_rows())
    assert reasons[ids[new]] == f"not launched yet: first listed {panel.dates[day + 3]}"
    assert reasons[ids[gone]] == f"inactive on {when}: last listed {panel.dates[day - 6]}"
    assert reasons[ids[flat]] == f"d̂ undefined: no demand in the 28 days before {when}"
    assert reasons[ids[unknown]] == f"no position in {path}"
    refused = rec.table.filter(pl.col("refused").is_not_null())
    assert refused.height == rec.refused == 4
    assert refused.select(pl.col("order_quantity", "inventory_days").is_null().all()).row(0) == (
        True,
        True,
    )
    assert (
        rec.units == rec.table.height - 4 and recommended(rec)["order_quantity"].null_count() == 0
    )


def test_only_the_units_reviewing_on_the_day_get_a_row(panel, cfg):
    rec = recommend(panel, cfg, None, None, "incumbent")
    u = panel.units
    due = (panel.n_days - u.review_offset) % u.review_period == 0
    assert rec.table["unit_id"].to_list() == u.unit_id[due].astype(str).tolist()
    assert rec.date == str(panel.dates[-1] + 1)
    assert 0 < rec.table.height < panel.n_units


def test_shards_give_the_same_rows_as_one_pass(panel, cfg, run_dir):
    sharded = replace(cfg, compute=replace(cfg.compute, shards=4))
    for policy in ("incumbent", "pretrained"):
        one = recommend(panel, cfg, run_dir, None, policy).table
        four = recommend(panel, sharded, run_dir, None, policy).table
        assert one.equals(four), policy


def test_the_default_policy_is_the_best_model_the_run_holds(tmp_path, cfg):
    with pytest.raises(InputError, match="no trained model here"):
        choose_policy(tmp_path, None)
    assert choose_policy(tmp_path, "incumbent") == "incumbent"
    save_random_model(tmp_path, "pretrained", cfg)
    assert choose_policy(tmp_path, None) == "pretrained"
    save_random_model(tmp_path, "orpr", cfg)
    assert choose_policy(tmp_path, None) == "orpr"
    with pytest.raises(InputError, match="no trained 'orpr_expert' model"):
        choose_policy(tmp_path, "orpr_expert")
    with pytest.raises(InputError, match="cannot recommend"):
        choose_policy(tmp_path, "or_hindsight")


def test_a_total_pipeline_is_spread_over_the_days_before_the_lead_time():
    slots = spread_pipeline(np.array([6.0, 4.0, 3.0]), np.array([4, 1, 0]), 5)
    assert slots.tolist() == [[0, 2, 2, 2, 0], [0, 4, 0, 0, 0], [0, 3, 0, 0, 0]]


def run_recommend(*args: str):
    return CliRunner().invoke(app, ["recommend", *CLI_SMALL, "--policy", "incumbent", *args])


def test_the_command_writes_the_rows_and_prints_a_summary_as_json(tmp_path):
    out = tmp_path / "rows.parquet"
    result = run_recommend("--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    rows = pl.read_parquet(out)
    assert summary["out"] == str(out) and summary["policy"] == "incumbent"
    assert summary["units"] + summary["refused"] == summary["reviewing"] == rows.height
    assert summary["order_quantity"] == pytest.approx(rows["order_quantity"].sum())
    full = json.loads(run_recommend("--json").stdout)
    assert len(full["rows"]) == rows.height and full["rows"][0]["unit_id"] == rows["unit_id"][0]


def test_the_command_prints_a_table_without_json():
    result = run_recommend()
    assert result.exit_code == 0, result.output
    assert "Recommendation for 2024-04-22 · policy incumbent" in result.stdout
    assert "units review:" in result.stdout


POSITION_CASES = {
    "missing on_hand column": (
        "unit_id,pipeline\nS0_P0,1\n",
        "column 'on_hand': missing required column",
    ),
    "negative on_hand": (
        "unit_id,on_hand\nS0_P0,1\nS0_P1,-3\n",
        "column 'on_hand', row 2 (unit S0_P1), value -3.0: negative on_hand",
    ),
    "text pipeline": (
        "unit_id,on_hand,pipeline\nS0_P0,1,lots\n",
        "column 'pipeline', row 1 (unit S0_P0), value 'lots': not a number",
    ),
    "infinite on_hand": (
        "unit_id,on_hand\nS0_P0,inf\n",
        "column 'on_hand', row 1 (unit S0_P0), value inf: non-finite on_hand",
    ),
    "missing on_hand value": (
        "unit_id,on_hand\nS0_P0,\n",
        "column 'on_hand', row 1 (unit S0_P0): missing value",
    ),
    "unknown unit": (
        "unit_id,on_hand\nS0_P0,1\nZZ_9,2\n",
        "column 'unit_id', row 2 (unit ZZ_9): unknown unit (not in the data)",
    ),
    "unit twice": (
        "unit_id,on_hand\nS0_P0,1\nS0_P0,2\n",
        "column 'unit_id', row 2 (unit S0_P0): duplicate unit_id",
    ),
}


@pytest.mark.parametrize("case", list(POSITION_CASES), ids=list(POSITION_CASES))
def test_each_bad_positions_file_exits_2_with_one_line(tmp_path, case):
    text, message = POSITION_CASES[case]
    path = tmp_path / "positions.csv"
    path.write_text(text)
    result = run_recommend("--positions", str(path))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {path}, {message}"
    assert result.stdout == "" and "Traceback" not in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--date", "2024-13-01"], "error: --date, value '2024-13-01': expected a date YYYY-MM-DD"),
        (
            ["--date", "2023-01-01"],
            "error: --date, value '2023-01-01': outside the data: valid "
            "decision days are 2024-01-02 … 2024-04-22",
        ),
        (
            ["--out", "rows.xlsx"],
            "error: rows.xlsx: unsupported output type; expected .parquet or .csv",
        ),
        (
            ["--policy", "or_hindsight"],
            "error: --policy, value 'or_hindsight': an oracle reads "
            "future demand and cannot recommend; valid: incumbent, "
            "base_stock, forecast_base_stock, pretrained, orpr, orpr_expert",
        ),
        (["--positions", "nowhere.csv"], "error: nowhere.csv: file not found"),
    ],
)
def test_bad_options_exit_2_with_one_line(args, message):
    result = run_recommend(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == message


def test_without_a_model_the_incumbent_must_be_asked_for(tmp_path):
    result = CliRunner().invoke(app, ["recommend", *CLI_SMALL, "--model", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {tmp_path}: no trained model here (orpr_expert, orpr or pretrained); pass "
        "--policy incumbent to recommend with the incumbent rule"
    )
