"""``orpr labels`` end to end, in-process, on a small synthetic panel."""

import json

from typer.testing import CliRunner

from orpr.cli import app
from orpr.labels import load_labels

SMALL = [
    "synthetic.units=24",
    "synthetic.days=112",
    "split.holdout_days=28",
    "labels.milp_groups=1",
]


def test_labels_command_writes_artifacts_and_prints_its_figures(tmp_path):
    args = ["labels", "--out", str(tmp_path / "labels"), "--json"]
    for item in SMALL:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    labels = load_labels(tmp_path / "labels")
    assert figures["states"] == len(labels.v_star) > 0
    assert figures["alpha"] == 0.95
    assert {"incumbent", "base_stock"} <= set(figures["policies"])
