"""Training on Ray Train (a real local cluster): one worker reaches the local weights, and two
data-parallel workers take the full batch's gradient step together."""

import sys

import numpy as np
import pytest
import ray
import torch
from ray import cloudpickle

from orpr.compute import fit_on_ray, worker_rank, worker_share
from orpr.config import ComputeConfig, load_config
from orpr.data import load_panel
from orpr.pretrain import pretrain, pretrain_json
from orpr.train_loop import train_step

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_pretrain import TINY, fabricate_labels, same, weights  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/


@pytest.fixture(scope="module")
def cluster():
    """A real local Ray cluster of 2 CPUs for this module's tests."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def toy_problem():
    """A linear model, its SGD optimiser and a fixed batch of 64 states (seeded)."""
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1)
    x, y = torch.randn(64, 8), torch.randn(64, 1)
    return model, torch.optim.SGD(model.parameters(), lr=0.1), x, y


def toy_steps(config):
    """Two training steps on this worker's share of the batch; writes the weights by rank."""
    model, opt, x, y = toy_problem()
    for _ in range(2):
        rows = worker_share(np.arange(64))
        loss = torch.nn.functional.mse_loss(model(x[rows]), y[rows])
        train_step(model, opt, loss, decay=1.0, clip=1e9)
    flat = torch.cat([p.detach().flatten() for p in model.parameters()]).numpy()
    np.save(f"{config['out']}/rank{worker_rank()[0]}.npy", flat)


def test_two_workers_take_the_full_batch_gradient_step_together(cluster, tmp_path):
    fit_on_ray(
        toy_steps,
        {"out": str(tmp_path)},
        {},
        ComputeConfig("ray", workers=2),
        tmp_path / "ray",
        "toy",
    )
    rank0, rank1 = np.load(tmp_path / "rank0.npy"), np.load(tmp_path / "rank1.npy")
    assert rank0.tobytes() == rank1.tobytes()  # averaged gradients: the same weights everywhere
    model, opt, x, y = toy_problem()
    for _ in range(2):
        train_step(model, opt, torch.nn.functional.mse_loss(model(x), y), 1.0, 1e9)
    whole = torch.cat([p.detach().flatten() for p in model.parameters()]).numpy()
    assert np.allclose(rank0, whole, rtol=0, atol=1e-6)  # mean of two half-batch gradients


def test_one_ray_train_worker_reaches_the_local_weights(cluster, tmp_path):
    cfg = load_config("configs/demo.toml", TINY)
    panel = load_panel(cfg)
    labels = fabricate_labels(panel, cfg, tmp_path / "labels")
    local = pretrain(panel, labels, cfg, tmp_path / "local", progress=False)
    on_ray = pretrain(
        panel,
        labels,
        load_config("configs/demo.toml", [*TINY, "compute.engine=ray", "compute.workers=1"]),
        tmp_path / "ray",
        progress=False,
    )
    assert same(weights(tmp_path / "local"), weights(tmp_path / "ray"))
    assert pretrain_json(local) == pretrain_json(on_ray)
    assert local.steps == on_ray.steps > 0
