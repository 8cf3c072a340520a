"""``orpr oracle lost-sales`` end to end, in-process."""

import json

from typer.testing import CliRunner

from orpr.cli import app


def test_oracle_prints_the_three_costs_as_json():
    args = [
        "oracle",
        "lost-sales",
        "--demand",
        "poisson:5",
        "--lead-time",
        "1",
        "--penalty",
        "4",
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) >= {
        "optimal_cost",
        "base_stock_cost",
        "base_stock_level",
        "capped_base_stock_cost",
        "capped_base_stock_levels",
        "bound",
    }
    assert abs(out["optimal_cost"] - 4.04) < 0.005  # Zipkin (2008), Poisson(5), L = 1, p = 4
    assert out["optimal_cost"] <= out["capped_base_stock_cost"] <= out["base_stock_cost"]


def test_oracle_refuses_an_unknown_demand_law_in_one_line():
    args = ["oracle", "lost-sales", "--demand", "normal:5", "--lead-time", "1", "--penalty", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "normal:5" in result.stderr and "poisson:MEAN" in result.stderr
