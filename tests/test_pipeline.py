"""``orpr run``: every stage in order, skipped when done, resumed when interrupted, redone when
its config changes — and an interrupted run ends with the metrics of an uninterrupted one."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from orpr.cli import app
from orpr.config import load_config
from orpr.config.stages import STAGES, fingerprints, upstream_stages
from orpr.data import load_panel
from orpr.model.checkpoint import load_tensors
from orpr.pipeline.run import run_pipeline
from test_finetune import RL
from test_pretrain import TINY

FAST = [
    *TINY,
    *RL,
    "synthetic.units=30",
    "eval.frontier=false",
    "eval.report=false",
    "labels.v_max=15",
    "rl.states=2048",
]


NAMES = tuple(stage.name for stage in STAGES)


def config(*extra: str):
    return load_config("configs/demo.toml", [*FAST, *extra])


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    cfg = config()
    panel = load_panel(cfg)
    out = tmp_path_factory.mktemp("run") / "a"
    run = run_pipeline(panel, cfg, out, progress=False)
    return cfg, panel, out, run


def statuses(run) -> dict[str, str]:
    return {s.name: s.status for s in run.stages}


def test_fingerprints_chain_and_ignore_speed_settings():
    base = fingerprints(config())
    assert fingerprints(config("pretrain.threads=2", "pretrain.max_steps=5")) == base
    rl = fingerprints(config("rl.beta=0.5"))
    assert [rl[s] == base[s] for s in NAMES] == [True, True, False, False]
    ev = fingerprints(config("eval.policies=['incumbent']"))
    assert [ev[s] == base[s] for s in NAMES] == [True, True, True, False]
    labels = fingerprints(config("labels.v_step=1.0"))
    assert all(labels[s] != base[s] for s in NAMES)


def test_every_input_of_a_stage_is_an_output_of_an_earlier_stage():
    for i, stage in enumerate(STAGES):
        made = [path for earlier in STAGES[:i] for path in earlier.outputs]
        assert all(path in made for path in stage.inputs), stage.name
    upstream = {stage.name: [s.name for s in upstream_stages(stage)] for stage in STAGES}
    assert upstream == {
        "labels": [],
        "pretrain": ["labels"],
        "finetune": ["labels", "pretrain"],
        "evaluate": ["labels", "pretrain", "finetune"],
    }


def test_a_run_records_in_each_artifact_the_fingerprint_of_its_stage(whole):
    """The standalone commands' checks use the same fingerprints as ``orpr run``."""
    cfg, _, out, _ = whole
    stamps = json.loads((out / "stages.json").read_text())
    assert {name: stamps[name]["fingerprint"] for name in NAMES} == fingerprints(cfg)
    recorded = {
        "labels": json.loads((out / "labels" / "labels_meta.json").read_text())["fingerprint"],
        "pretrain": json.loads((out / "pretrained" / "model.json").read_text())["meta"][
            "fingerprint"
        ],
        "finetune": json.loads((out / "orpr_expert" / "model.json").read_text())["meta"][
            "fingerprint"
        ],
    }
    assert recorded == {name: stamps[name]["fingerprint"] for name in recorded}
    for name, state in (
        ("pretrain", "pretrained/checkpoint/state.safetensors"),
        ("finetune", "checkpoint/finetune.safetensors"),
    ):
        assert load_tensors(out / state)[1]["fingerprint"] == stamps[name]["fingerprint"]


def test_a_whole_run_writes_every_artifact(whole):
    _, _, out, run = whole
    assert run.complete and statuses(run) == dict.fromkeys(NAMES, "ran")
    for name in (
        "labels/labels.parquet",
        "pretrained/model.json",
        "orpr/model.json",
        "orpr_expert/model.json",
        "finetune.json",
        "metrics.json",
        "config.toml",
    ):
        assert (out / name).exists(), name
    policies = json.loads((out / "metrics.json").read_text())["policies"]
    assert {"incumbent", "base_stock", "pretrained", "orpr", "orpr_expert"} <= set(policies)


def test_running_again_skips_every_stage(whole):
    cfg, panel, out, first = whole
    again = run_pipeline(panel, cfg, out, progress=False)
    assert statuses(again) == dict.fromkeys(NAMES, "skipped")
    assert again.metrics == first.metrics


def test_a_changed_config_redoes_exactly_the_stages_it_affects(whole, tmp_path):
    cfg, panel, out, first = whole
    copy = tmp_path / "b"
    shutil.copytree(out, copy)
    before = (copy / "orpr" / "model.safetensors").read_bytes()
    run = run_pipeline(panel, config("rl.beta=0.5"), copy, progress=False)
    assert statuses(run) == {
        "labels": "skipped",
        "pretrain": "skipped",
        "finetune": "ran",
        "evaluate": "ran",
    }
    assert (copy / "orpr" / "model.safetensors").read_bytes() != before
    only_eval = run_pipeline(
        panel, config("rl.beta=0.5", "eval.policies=['incumbent']"), copy, progress=False
    )
    assert statuses(only_eval)["finetune"] == "skipped"
    assert statuses(only_eval)["evaluate"] == "ran"


@pytest.mark.parametrize("where", ["pretrain", "finetune"])
def test_an_interrupted_run_ends_with_the_metrics_of_an_uninterrupted_one(whole, tmp_path, where):
    _, panel, done, first = whole
    pretrain_steps = json.loads((done / "pretrained" / "pretrain.json").read_text())["details"][
        "steps"
    ]
    finetune_steps = json.loads((done / "finetune.json").read_text())["stages"]["expert"][
        "final_step"
    ]["step"]
    # pretraining and the fine-tune each count their own steps against pretrain.max_steps
    assert finetune_steps > pretrain_steps + 1
    limit = 5 if where == "pretrain" else pretrain_steps + 1
    out = tmp_path / "c"
    stopped = run_pipeline(panel, config(f"pretrain.max_steps={limit}"), out, progress=False)
    assert not stopped.complete and stopped.stages[-1].status == "stopped"
    assert stopped.stages[-1].name == where
    resumed = run_pipeline(panel, config(), out, progress=False)
    assert resumed.complete
    assert "resumed" in statuses(resumed).values()
    assert resumed.metrics["policies"] == first.metrics["policies"]


def test_the_command_prints_its_stages_as_json(whole, tmp_path):
    _, _, out, _ = whole
    args = ["run", "--config", "configs/demo.toml", "--out", str(out), "--json"]
    for item in FAST:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    obj = json.loads(result.output)
    assert [s["status"] for s in obj["stages"]] == ["skipped"] * 4
    assert obj["complete"] and "orpr" in obj["policies"]


def test_a_killed_run_resumes_to_the_metrics_of_an_uninterrupted_one(whole, tmp_path):
    """SIGKILL ``orpr run`` once pretraining has written a checkpoint, then run it again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    _, _, _, first = whole
    out = tmp_path / "killed"
    args = [
        sys.executable,
        "-m",
        "orpr",
        "run",
        "--config",
        "configs/demo.toml",
        "--out",
        str(out),
        "--json",
    ]
    for item in [*FAST, "pretrain.checkpoint_every=1"]:
        args += ["--set", item]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / "pretrained" / "checkpoint" / "state.safetensors"
    deadline = time.monotonic() + 300
    while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stamps = json.loads((out / "stages.json").read_text())
    assert stamps["labels"]["done"] and not stamps["pretrain"]["done"]
    resumed = run_pipeline(
        load_panel(config()), config("pretrain.checkpoint_every=1"), out, progress=False
    )
    assert statuses(resumed)["pretrain"] == "resumed"
    assert resumed.metrics["policies"] == first.metrics["policies"]
