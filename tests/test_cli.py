"""Command-line behaviour shared by the commands: format inference, one-line errors."""

import json

from typer.testing import CliRunner

from orpr.cli import app


def test_a_data_path_without_format_is_read_as_the_format_it_looks_like(tmp_path, good_daily):
    path = tmp_path / "daily.csv"
    good_daily.write_csv(path)
    result = CliRunner().invoke(app, ["data", "check", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["units"] == 3 and summary["source"] == str(path)


def test_a_missing_data_path_is_named_in_one_line(tmp_path):
    missing = tmp_path / "nope.csv"
    result = CliRunner().invoke(app, ["evaluate", "--data", str(missing)])
    assert result.exit_code == 2
    assert str(missing) in result.stderr
    assert "Traceback" not in result.output
