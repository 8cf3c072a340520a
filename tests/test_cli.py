"""Command-line behaviour shared by the commands: format inference, one-line errors."""

import json
import os
import subprocess
import sys

import pytest
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


SHARED_COMMANDS = (
    ["data", "check"],
    ["evaluate"],
    ["labels"],
    ["pretrain"],
    ["finetune"],
    ["run"],
    ["recommend"],
    ["did"],
)


@pytest.mark.parametrize("command", SHARED_COMMANDS, ids=" ".join)
def test_every_data_command_takes_the_five_shared_options(command):
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for option in ("--config", "--data", "--format", "--set", "--json"):
        assert option in result.output


def test_the_cli_starts_without_torch_numba_or_ray():
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from orpr.cli import app\n"
        "for args in (['--help'], ['evaluate', '--help'], ['run', '--help']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print(sorted(m for m in ('torch', 'numba', 'ray') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]"
