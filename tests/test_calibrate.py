"""α calibration: bisection on the service target to reach an in-stock or turnover target."""

import json

import pytest

from orpr.config import load_config
from orpr.data import load_panel
from orpr.labels import make_labels
from orpr.labels.calibrate import calibrate_alpha, meets


def in_stock_of(alpha: float) -> tuple[float, str]:
    """A rising stand-in for the label policy's in-stock rate, with a payload."""
    return 0.5 + 0.5 * alpha, f"run@{alpha:.6f}"


def turnover_of(alpha: float) -> tuple[float, str]:
    """A rising stand-in for turnover days."""
    return 10.0 * alpha, f"run@{alpha:.6f}"


def test_a_target_is_met_from_the_right_side():
    assert meets("in_stock", 0.95, 0.95) and not meets("in_stock", 0.94, 0.95)
    assert meets("turnover", 3.0, 3.0) and not meets("turnover", 3.1, 3.0)
    with pytest.raises(ValueError):
        meets("given", 1.0, 1.0)


def test_in_stock_calibration_finds_the_smallest_alpha_meeting_the_target():
    cal, payload = calibrate_alpha(in_stock_of, "in_stock", 0.9, (0.5, 0.999), steps=20)
    assert cal.met and cal.value >= 0.9
    assert cal.alpha == pytest.approx(0.8, abs=1e-5)
    assert cal.alpha >= 0.8
    assert payload == f"run@{cal.alpha:.6f}"
    assert len(cal.trials) == 22


def test_turnover_calibration_finds_the_largest_alpha_within_the_target():
    cal, _ = calibrate_alpha(turnover_of, "turnover", 7.0, (0.5, 0.999), steps=20)
    assert cal.met and cal.value <= 7.0
    assert cal.alpha == pytest.approx(0.7, abs=1e-5)
    assert cal.alpha <= 0.7


def test_an_unreachable_target_returns_the_best_end_marked_unmet():
    cal, _ = calibrate_alpha(in_stock_of, "in_stock", 0.9999, (0.5, 0.9), steps=5)
    assert not cal.met and cal.alpha == 0.9 and len(cal.trials) == 1


def test_a_target_met_across_the_bracket_takes_the_thriftiest_end():
    cal, _ = calibrate_alpha(in_stock_of, "in_stock", 0.1, (0.5, 0.9), steps=5)
    assert cal.met and cal.alpha == 0.5


def test_a_calibrated_label_run_reaches_its_in_stock_target():
    cfg = load_config(
        None,
        extra={
            "synthetic.units": 40,
            "synthetic.days": 90,
            "units.review_period": [1, 3],
            "split.holdout_days": 14,
            "labels.alpha_mode": "in_stock",
            "labels.target": 0.8,
            "labels.alpha_range": [0.7, 0.995],
            "labels.calibration_steps": 4,
            "labels.milp_groups": 0,
        },
    )
    run = make_labels(load_panel(cfg), cfg)
    label_policy = run.policies[0].metrics
    assert run.calibration is not None and run.calibration.met
    assert run.alpha == run.calibration.alpha
    assert label_policy.in_stock_rate == pytest.approx(run.calibration.value)
    assert label_policy.in_stock_rate >= 0.8
    assert (run.labels.alpha == run.alpha).all()
    json.dumps(run.to_json(), allow_nan=False)
