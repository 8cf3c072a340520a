"""Training on Ray Train (a real local cluster): one worker reaches the local weights, and two
data-parallel workers take the full batch's gradient step together — in pretraining and in
the RL stages (RLOO and the expert fine-tune)."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import ray
import torch
from ray import cloudpickle

from orpr.compute.data_parallel import fit_on_ray, worker_rank, worker_share
from orpr.config import ComputeConfig, load_config
from orpr.data import load_panel
from orpr.model.checkpoint import load_tensors
from orpr.rl.finetune import STATE, finetune, load_inputs, train_stages
from orpr.training.loop import train_step
from orpr.training.pretrain import pretrain

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_finetune import RL  # noqa: E402
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
    local = pretrain(panel, labels, cfg, tmp_path / "local")
    on_ray = pretrain(
        panel,
        labels,
        load_config("configs/demo.toml", [*TINY, "compute.engine=ray", "compute.workers=1"]),
        tmp_path / "ray",
    )
    assert same(weights(tmp_path / "local"), weights(tmp_path / "ray"))
    assert local.to_json() == on_ray.to_json()
    assert local.steps == on_ray.steps > 0


@pytest.fixture(scope="module")
def rl_run(tmp_path_factory):
    """A pretrained tiny model, its labels and the local fine-tune of both RL stages."""
    cfg = load_config("configs/demo.toml", [*TINY, *RL])
    panel = load_panel(cfg)
    root = tmp_path_factory.mktemp("rl")
    labels = fabricate_labels(panel, cfg, root / "labels")
    pretrain(panel, labels, cfg, root / "run" / "pretrained")
    finetune(panel, root / "run", labels, cfg, root / "local")
    return panel, labels, root


def rl_config(*extra: str):
    return load_config("configs/demo.toml", [*TINY, *RL, *extra])


def figures(run_dir: Path) -> dict:
    """``finetune.json`` without the throughput (seconds differ from run to run)."""
    saved = json.loads((run_dir / "finetune.json").read_text())
    for stage in saved["stages"].values():
        stage.pop("samples_per_s")
    return saved


def same_models(a: Path, b: Path) -> bool:
    return all(same(weights(a / name), weights(b / name)) for name in ("orpr", "orpr_expert"))


def test_one_ray_train_worker_continues_a_local_finetune_to_the_local_models_and_figures(
    cluster, rl_run, tmp_path
):
    panel, labels, root = rl_run
    stopped = finetune(panel, root / "run", labels, rl_config("pretrain.max_steps=3"), tmp_path)
    assert not stopped.complete  # a local checkpoint inside RLOO
    on_ray = rl_config("compute.engine=ray", "compute.workers=1")
    assert finetune(panel, root / "run", labels, on_ray, tmp_path).complete
    assert same_models(root / "local", tmp_path)
    assert figures(root / "local") == figures(tmp_path)  # every step's m, reward, KL; validation
    assert len(figures(tmp_path)["stages"]["rloo"]["steps"]) == 8


def test_two_ray_train_workers_continue_a_finetune_stopped_inside_the_expert_stage(
    cluster, rl_run, tmp_path
):
    """Rank 1 trains in a scratch copy of the checkpoint and of the stage-3 model it reads."""
    panel, labels, root = rl_run
    stopped = finetune(panel, root / "run", labels, rl_config("pretrain.max_steps=11"), tmp_path)
    assert not stopped.complete and stopped.loops["expert"].step == 11
    on_ray = rl_config("compute.engine=ray", "compute.workers=2")
    run = finetune(panel, root / "run", labels, on_ray, tmp_path)
    assert run.complete and run.loops["expert"].done
    assert same(weights(root / "local" / "orpr"), weights(tmp_path / "orpr"))  # kept from before
    saved = figures(tmp_path)
    assert all(math.isfinite(s["loss"]) for s in saved["stages"]["expert"]["steps"])


def finetune_by_rank(config):
    """Both RL stages on this worker's share of each batch, into a directory per rank."""
    panel = ray.get(config["panel"])
    inputs = load_inputs(panel, config["run"], config["labels"], config["cfg"])
    out = Path(config["out"]) / f"rank{worker_rank()[0]}"
    train_stages(inputs, config["labels"], config["cfg"], out)


def test_two_ray_train_workers_hold_the_same_multiplier_weights_and_rng(cluster, rl_run, tmp_path):
    panel, labels, root = rl_run
    # each epoch's last RLOO batch is one state (rank 1 gets none); stop inside stage 4
    cfg = rl_config("rl.states=193", "pretrain.max_steps=13")
    config = {"run": str(root / "run"), "labels": str(labels), "cfg": cfg, "out": str(tmp_path)}
    fit_on_ray(
        finetune_by_rank,
        config,
        {"panel": panel},
        ComputeConfig("ray", workers=2),
        tmp_path / "ray",
        "rl",
    )
    (state0, meta0), (state1, meta1) = (load_tensors(tmp_path / f"rank{r}" / STATE) for r in (0, 1))
    for loops in (meta0["loops"], meta1["loops"]):
        for state in loops.values():
            state.pop("seconds")  # the only figure that differs: time
    assert meta0["loops"] == meta1["loops"]  # every step's m, loss and batch figures
    assert state0.keys() == state1.keys() and all(torch.equal(state0[k], state1[k]) for k in state0)
    assert same(weights(tmp_path / "rank0" / "orpr"), weights(tmp_path / "rank1" / "orpr"))
    m = [step["lam_scale"] for step in meta0["loops"]["rloo"]["steps"]]
    assert len(m) == 2 * 4 and len(set(m)) == len(m)  # the multiplier moved at every step
    # the Ray run's checkpoint resumes locally to the end
    run = finetune(panel, root / "run", labels, rl_config("rl.states=193"), tmp_path / "rank0")
    saved = figures(tmp_path / "rank0")
    steps = [s for stage in saved["stages"].values() for s in stage["steps"]]
    assert run.complete and len(steps) > 13
    assert all(math.isfinite(v) for s in steps for v in s.values())
    for parts in saved["validation"].values():
        assert all(math.isfinite(v) for part in parts.values() for v in part.values())
