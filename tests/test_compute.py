"""The compute seam: labels, evaluation and recommendations on a real local Ray cluster equal
the local engine's, bit for bit, for any shard count; bad engines and addresses are input
errors."""

import socket
from functools import cache

import numpy as np
import pytest
import ray
from typer.testing import CliRunner

from orpr.baselines.backtest import run_backtest, run_sharded
from orpr.baselines.split import time_split
from orpr.cli import app
from orpr.compute import LocalEngine, open_engine, reachable, spans
from orpr.config import ComputeConfig, load_config
from orpr.data import load_panel
from orpr.data.rate import reference_rates
from orpr.deploy.recommend import recommend
from orpr.evaluation.evaluate import evaluate
from orpr.evaluation.policies import FitInputs, build_policy
from orpr.labels import make_labels
from orpr.labels.replay import label_inputs
from orpr.labels.rolling import roll_labels
from test_recommend import save_random_model

SMALL = {
    "synthetic.units": 90,
    "synthetic.days": 100,
    "synthetic.seed": 5,
    "units.lead_time": [0, 1, 3],
    "units.review_period": [1, 3, 7],
    "split.holdout_days": 14,
    "split.history_days": 28,
    "labels.milp_groups": 1,
    "labels.milp_max_units": 10,
}
RAY = {"compute.engine": "ray"}


@cache
def case(group: str = "all"):
    """The small panel, its config, d̂, label inputs and training window."""
    cfg = load_config(None, extra={**SMALL, "labels.group": group})
    panel = load_panel(cfg)
    d_hat = reference_rates(panel.demand, panel.active, 28, cfg.split.rate_floor)
    split = time_split(panel, cfg)
    return cfg, panel, d_hat, label_inputs(panel, d_hat, cfg.labels), split


def identical(a, b) -> bool:
    """Same structure, and every array the same dtype, shape and bytes."""
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a == b or (a != a and b != b)  # NaN equals NaN here


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_spans_cover_every_unit_once_in_order_and_none_is_empty():
    for n in (1, 2, 7, 90, 101):
        for shards in (1, 2, 3, 8, 200):
            ranges = spans(n, shards)
            assert len(ranges) == min(shards, n)
            assert np.concatenate([np.arange(n)[r] for r in ranges]).tolist() == list(range(n))
            assert all(r.stop > r.start for r in ranges)


def test_only_an_answering_host_port_counts_as_reachable():
    assert not reachable(f"127.0.0.1:{free_port()}")
    assert not reachable("no-port-here")
    assert reachable("auto")  # left to Ray, which looks for a running local cluster
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert reachable(f"127.0.0.1:{s.getsockname()[1]}")


def test_an_unreachable_cluster_exits_2_with_one_line():
    args = [
        "evaluate",
        "--set",
        "compute.engine=ray",
        "--set",
        f"compute.address=127.0.0.1:{free_port()}",
    ]
    for key, value in SMALL.items():
        args += ["--set", f"{key}={value}".replace("'", "")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "no Ray cluster reachable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_local_shards_give_the_one_shard_labels_and_backtest():
    cfg, panel, d_hat, inputs, split = case()
    window = split.train_start, split.holdout_start, 0.9, cfg.labels
    assert identical(
        roll_labels(inputs, *window), roll_labels(inputs, *window, engine=LocalEngine(4))
    )
    policy = build_policy("base_stock", FitInputs(panel, d_hat, split, cfg))
    days = split.holdout_start, split.stop, cfg.split.warmup_days
    whole = run_backtest(panel, policy, d_hat, *days)
    assert identical(whole, run_sharded(LocalEngine(3), panel, policy, d_hat, *days))


@pytest.fixture(scope="module")
def cluster():
    """A real local Ray cluster of 2 CPUs for this module's tests."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize("group", ["all", "category"])
def test_labels_on_ray_equal_the_local_labels_for_any_shard_count(cluster, group):
    cfg, _, _, inputs, split = case(group)
    window = split.train_start, split.holdout_start, 0.9, cfg.labels
    local = roll_labels(inputs, *window)
    assert local.rows.unit.size > 500
    for shards in (1, 3) if group == "all" else (2,):
        with open_engine(ComputeConfig("ray", shards=shards)) as engine:
            assert identical(local, roll_labels(inputs, *window, engine=engine))
    assert ray.is_initialized()  # a session the caller opened is left open


def test_label_run_with_calibration_on_ray_equals_the_local_run(cluster):
    cfg, panel, *_ = case()
    extra = {**SMALL, "labels.alpha_mode": "in_stock", "labels.calibration_steps": 2}
    local = make_labels(panel, load_config(None, extra=extra))
    remote = make_labels(panel, load_config(None, extra={**extra, **RAY, "compute.shards": 2}))
    assert local.alpha == remote.alpha and local.calibration == remote.calibration
    assert identical(local.labels._replace(meta=None), remote.labels._replace(meta=None))
    assert identical(
        (local.prices, local.policies, local.gaps), (remote.prices, remote.policies, remote.gaps)
    )


def test_evaluation_on_ray_equals_the_local_evaluation(cluster):
    cfg, panel, *_ = case()
    policies = ("incumbent", "base_stock", "or_hindsight")
    local = evaluate(panel, cfg, policies)
    remote = evaluate(
        panel, load_config(None, extra={**SMALL, **RAY, "compute.shards": 2}), policies
    )
    assert identical(local.results, remote.results)
    assert local.to_json() == remote.to_json()


def test_recommendations_on_ray_equal_the_local_recommendations(cluster, tmp_path):
    tiny_model = {
        "model.d_model": 16,
        "model.layers": 1,
        "model.heads": 2,
        "model.d_ff": 32,
        "model.hash_buckets": 32,
        "model.decoder_hidden": 16,
        "model.latent": 4,
    }
    cfg = load_config(None, extra={**SMALL, **tiny_model, "compute.shards": 2})
    remote = load_config(None, extra={**SMALL, **tiny_model, **RAY, "compute.shards": 2})
    panel = case()[1]
    run_dir = save_random_model(tmp_path, "pretrained", cfg)
    for policy in ("incumbent", "pretrained"):
        local = recommend(panel, cfg, run_dir, None, policy)
        on_ray = recommend(panel, remote, run_dir, None, policy)
        assert local.units > 0 and local.table.equals(on_ray.table), policy
        assert (local.date, local.position_source) == (on_ray.date, on_ray.position_source)
