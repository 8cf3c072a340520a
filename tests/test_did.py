"""``orpr did``: the simulated pilot's interval holds the true effect, a placebo holds zero,
a planted effect and a planted pre-trend are found on a hand-made panel; bad input exits 2."""

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from orpr.cli import app
from orpr.config import load_config
from orpr.data import load_panel
from orpr.deploy.did import additive_effect, design, estimate_did
from orpr.deploy.pilot import draw_treated, run_pilot

PILOT = ["synthetic.units=80", "synthetic.days=140", "split.holdout_days=28"]
HEADLINE = ("turnover_days", "in_stock_rate", "holding_cost")
START = dt.date(2024, 1, 22)


def hand_panel(
    n: int = 120, days: int = 42, effect: float = -8.0, trend: float = 0.0, seed: int = 0
) -> tuple[pl.DataFrame, np.ndarray]:
    """Unit and day effects plus noise; the treated half's inventory value moves by ``effect``
    per unit-day from day 21 (``START``) on, and by ``trend`` per day relative to it."""
    rng = np.random.default_rng(seed)
    unit, t = np.repeat(np.arange(n), days), np.tile(np.arange(days), n)
    treated = np.zeros(n, dtype=bool)
    treated[rng.permutation(n)[: n // 2]] = True
    level = rng.uniform(40, 120, n)[unit]
    week = 6 * np.sin(2 * np.pi * t / 7) + 0.3 * t
    on = treated[unit]
    post = on & (t >= 21)
    stock = level + week + rng.normal(0, 4, unit.size) + effect * post + trend * on * (t - 21)
    sales = 0.12 * level * (1 + 0.05 * np.sin(2 * np.pi * t / 7)) + rng.normal(0, 0.5, unit.size)
    ids = np.array([f"U{i:03d}" for i in range(n)])
    frame = pl.DataFrame(
        {
            "unit_id": ids[unit],
            "date": [dt.date(2024, 1, 1) + dt.timedelta(days=int(x)) for x in t],
            "on_hand_value": stock,
            "sales_value": sales,
            "in_stock": (rng.random(unit.size) < 0.92).astype(np.float64),
            "holding_cost": 0.01 * stock,
        }
    )
    return frame, ids[treated]


@pytest.fixture(scope="module")
def planted():
    frame, treated = hand_panel()
    return frame, treated, estimate_did(frame, treated, START)


def test_the_estimator_recovers_a_planted_effect_on_a_hand_made_panel(planted):
    frame, treated, result = planted
    stock = result.effects["inventory_value"]
    assert stock.ci_low <= -8.0 <= stock.ci_high and abs(stock.estimate + 8.0) < 3 * stock.std_error
    assert result.effects["holding_cost"].estimate == pytest.approx(0.01 * stock.estimate)
    for name in ("sales_value", "in_stock_rate"):  # nothing planted there
        assert result.effects[name].ci_low <= 0.0 <= result.effects[name].ci_high, name
    post = frame.filter(pl.col("unit_id").is_in(treated.tolist()) & (pl.col("date") >= START))
    true_turnover = -8.0 * post.height / post["sales_value"].sum()  # Σ(−8) / Σ sales
    turnover = result.effects["turnover_days"]
    assert turnover.ci_low <= true_turnover <= turnover.ci_high
    assert (result.units, result.treated, result.pre_days, result.post_days) == (120, 60, 21, 21)


def test_on_a_balanced_panel_the_estimate_is_the_difference_of_mean_changes(planted):
    frame, treated, result = planted
    on = pl.col("unit_id").is_in(treated.tolist())
    post = pl.col("date") >= START
    mean = {
        (group, period): frame.filter((on if group else ~on) & (post if period else ~post))[
            "on_hand_value"
        ].mean()
        for group in (True, False)
        for period in (True, False)
    }
    by_hand = (mean[True, True] - mean[True, False]) - (mean[False, True] - mean[False, False])
    assert result.effects["inventory_value"].estimate == pytest.approx(by_hand, abs=1e-9)


def test_a_planted_pre_trend_is_detected_and_a_clean_panel_passes(planted):
    _, _, clean = planted
    frame, treated = hand_panel(effect=0.0, trend=0.6)
    x = design(frame, treated, START, bin_days=7)
    trending = additive_effect(x, x["on_hand_value"], 0.0)
    assert trending.pretrend_p < 0.001
    assert clean.effects["inventory_value"].pretrend_p > 0.05
    leads = [k for k, _, _ in clean.effects["inventory_value"].event_study if k < 0]
    assert leads == [-3, -2]  # 21 pre-period days in 7-day bins, bin −1 the reference


def run_did(*args: str):
    return CliRunner().invoke(app, ["did", *args])


def test_the_simulated_pilots_interval_contains_the_true_effect():
    args = [a for s in PILOT for a in ("--set", s)]
    result = run_did("--simulate", "--config", "configs/demo.toml", *args, "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["pilot"]["policy"] == "base_stock" and figures["treated"] == 40
    for name in HEADLINE:
        e = figures["effects"][name]
        assert e["ci_low"] <= e["true_effect"] <= e["ci_high"], name
        assert e["covered"] and e["pretrend_p"] is not None
    assert figures["effects"]["inventory_value"]["true_effect"] != 0.0  # the pilot did act


def test_a_placebo_pilot_has_no_true_effect_and_an_interval_containing_zero():
    cfg = load_config("configs/demo.toml", [*PILOT, 'did.policy="incumbent"'])
    pilot, result = run_pilot(load_panel(cfg), cfg)
    assert all(v == 0.0 for v in pilot.truth.values())
    for name, e in result.effects.items():
        assert e.ci_low <= 0.0 <= e.ci_high, name


def test_the_treated_draw_is_seeded_and_never_empty_or_everyone():
    a, b = draw_treated(80, 0.5, 3), draw_treated(80, 0.5, 3)
    assert np.array_equal(a, b) and a.sum() == 40
    assert not np.array_equal(a, draw_treated(80, 0.5, 4))
    assert draw_treated(3, 0.01, 0).sum() == 1 and draw_treated(3, 0.99, 0).sum() == 2


@pytest.fixture
def files(tmp_path):
    """A small outcome panel and treated list on disk (CSV), 12 units × 14 days."""
    frame, treated = hand_panel(n=12, days=14)
    frame = frame.with_columns(pl.col("date").cast(pl.String))
    panel, ids = tmp_path / "panel.csv", tmp_path / "treated.csv"
    frame.write_csv(panel)
    pl.DataFrame({"unit_id": treated}).write_csv(ids)
    return frame, treated, panel, ids


def test_the_command_reads_files_and_prints_the_estimates(files):
    frame, treated, panel, ids = files
    result = run_did(
        "--panel", str(panel), "--treated", str(ids), "--start", "2024-01-08", "--json"
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    expected = estimate_did(
        frame.with_columns(pl.col("date").str.to_date()), treated, dt.date(2024, 1, 8)
    )
    assert figures["effects"]["inventory_value"]["estimate"] == pytest.approx(
        expected.effects["inventory_value"].estimate
    )
    assert set(figures["effects"]) == {
        "turnover_days",
        "in_stock_rate",
        "holding_cost",
        "inventory_value",
        "sales_value",
    }
    table = run_did("--panel", str(panel), "--treated", str(ids), "--start", "2024-01-08")
    assert table.exit_code == 0 and "turnover days" in table.stdout


def set_cell(df: pl.DataFrame, row: int, column: str, value: str) -> pl.DataFrame:
    at = pl.int_range(pl.len()) == row - 1
    return df.with_columns(
        pl.when(at).then(pl.lit(value)).otherwise(pl.col(column).cast(pl.String)).alias(column)
    )


PANEL_CASES = {
    "missing sales_value column": (
        lambda d: d.drop("sales_value"),
        "column 'sales_value': missing required column",
    ),
    "unparseable date": (
        lambda d: set_cell(d, 3, "date", "2024-02-30"),
        "column 'date', row 3 (unit U000), value '2024-02-30': unparseable date (expected "
        "YYYY-MM-DD)",
    ),
    "in_stock not a flag": (
        lambda d: set_cell(d, 5, "in_stock", "2"),
        "column 'in_stock', row 5 (unit U000), value 2.0: in_stock is not 0 or 1",
    ),
    "negative inventory value": (
        lambda d: set_cell(d, 16, "on_hand_value", "-1"),
        "column 'on_hand_value', row 16 (unit U001), value -1.0: negative on_hand_value",
    ),
    "text holding cost": (
        lambda d: set_cell(d, 2, "holding_cost", "high"),
        "column 'holding_cost', row 2 (unit U000), value 'high': not a number",
    ),
    "repeated unit-day": (
        lambda d: pl.concat([d, d.slice(1, 1)]),
        "column 'date', row 169 (unit U000), value '2024-01-02': duplicate (unit_id, date)",
    ),
}


@pytest.mark.parametrize("case", list(PANEL_CASES), ids=list(PANEL_CASES))
def test_each_bad_outcome_panel_exits_2_with_one_line(files, case):
    frame, _, panel, ids = files
    mutate, message = PANEL_CASES[case]
    mutate(frame).write_csv(panel)
    result = run_did("--panel", str(panel), "--treated", str(ids), "--start", "2024-01-08")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"error: {panel}, {message}"
    assert result.stdout == "" and "Traceback" not in result.output


def test_bad_designs_exit_2_naming_file_column_and_value(files, tmp_path):
    frame, treated, panel, ids = files
    everyone = tmp_path / "everyone.csv"
    pl.DataFrame({"unit_id": frame["unit_id"].unique().sort()}).write_csv(everyone)
    unknown = tmp_path / "unknown.csv"
    pl.DataFrame({"unit_id": [treated[0], "NOPE"]}).write_csv(unknown)
    cases = [
        (
            (ids, "2024-01-01"),
            f"{panel}, column 'date', value '2024-01-01': no pre-period: no "
            "date before the start 2024-01-01",
        ),
        (
            (ids, "2024-02-01"),
            f"{panel}, column 'date', value '2024-01-14': no post-period: no "
            "date on or after the start 2024-02-01",
        ),
        (
            (everyone, "2024-01-08"),
            f"{everyone}, column 'unit_id': no control units: every unit of the panel is treated",
        ),
        (
            (unknown, "2024-01-08"),
            f"{unknown}, column 'unit_id', row 2 (unit NOPE): unknown "
            f"unit (not in the panel {panel})",
        ),
        ((ids, "8 Jan"), "--start, value '8 Jan': expected a date YYYY-MM-DD"),
    ]
    for (treated_file, start), message in cases:
        result = run_did("--panel", str(panel), "--treated", str(treated_file), "--start", start)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == f"error: {message}"


def test_options_that_do_not_fit_together_exit_2(files):
    _, _, panel, ids = files
    missing = run_did("--panel", str(panel), "--treated", str(ids))
    assert missing.exit_code == 2
    assert missing.stderr.strip() == "error: --start: required (or pass --simulate)"
    both = run_did("--simulate", "--panel", str(panel))
    assert both.exit_code == 2
    assert both.stderr.strip() == (
        "error: --panel: not used with --simulate (the pilot makes its own)"
    )
    oracle = run_did("--simulate", "--policy", "or_hindsight")
    assert oracle.exit_code == 2 and "not a deployable policy" in oracle.stderr
