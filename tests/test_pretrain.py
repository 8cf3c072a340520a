"""Both training stages end to end on a small synthetic panel and fabricated OR labels.

The labels directory is fabricated in the labels artifact layout (``labels.parquet``,
``candidates.npz``, ``labels_meta.json``); its label is a known function of what the model
sees (``v* = L + R + 1``, two days more on promotion).
"""

import io
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from rich.console import Console

from orpr.config import load_config
from orpr.data import load_panel
from orpr.data.rate import reference_rates
from orpr.errors import InputError
from orpr.evaluation.evaluate import evaluate
from orpr.model.checkpoint import load_model
from orpr.report.training import render_pretrain
from orpr.training.demand import demand_targets, seasonal_naive, wape
from orpr.training.labels import read_labels
from orpr.training.loop import lr_factor
from orpr.training.pretrain import pretrain

GRID = np.arange(61) * 0.5
TINY = [
    "synthetic.units=40",
    "model.d_model=16",
    "model.layers=1",
    "model.heads=2",
    "model.d_ff=32",
    "model.hash_buckets=32",
    "model.decoder_hidden=16",
    "model.latent=4",
    "pretrain.threads=1",
    "pretrain.batch_size=128",
    "pretrain.demand_epochs=2",
    "pretrain.demand_samples=1024",
    "pretrain.label_epochs=2",
    "pretrain.frozen_epochs=1",
    "pretrain.label_samples=1024",
    "pretrain.val_samples=256",
    "pretrain.heldout_samples=256",
]


def fabricate_labels(panel, cfg, out: Path, seed: int = 0) -> Path:
    """A labels directory for every review day of ``panel`` (layout of the labels stage)."""
    rng = np.random.default_rng(seed)
    u = panel.units
    d_hat = reference_rates(
        panel.demand, panel.active, cfg.split.history_days, cfg.split.rate_floor
    )
    unit = np.repeat(np.arange(panel.n_units), panel.n_days - 1)
    day = np.tile(np.arange(1, panel.n_days), panel.n_units)
    keep = (day - u.review_offset[unit]) % u.review_period[unit] == 0
    unit, day = unit[keep], day[keep]
    n, lead = len(day), u.lead_time[unit]
    v = np.clip(lead + u.review_period[unit] + 1 + 2 * panel.promo[unit, day], 0, 30)
    v_index = np.rint(v / 0.5).astype(np.int64)
    rate = d_hat[unit, day]
    pipeline = [
        list(rng.uniform(0, 2, max(int(k) - 1, 0)) * r) for k, r in zip(lead, rate, strict=True)
    ]
    frame = pl.DataFrame(
        {
            "unit_id": u.unit_id[unit].astype(str),
            "date": np.datetime_as_string(panel.dates[day], unit="D"),
            "day": day,
            "v_star": GRID[v_index],
            "v_index": v_index,
            "lam": rng.uniform(0, 5, n),
            "stock": rng.uniform(0, 9, n),
            "loss": rng.uniform(0, 1, n),
            "sale": rng.uniform(1, 9, n),
            "d_hat": rate,
            "on_hand": rng.uniform(0, 3, n) * rate,
            "pipeline": pl.Series(pipeline, dtype=pl.List(pl.Float64)),
            "alpha": np.full(n, 0.95),
            "start_state": np.r_[True, unit[1:] != unit[:-1]],
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out / "labels.parquet")
    np.savez(
        out / "candidates.npz",
        stock=rng.uniform(0, 9, (n, 61)),
        loss=rng.uniform(0, 1, (n, 61)),
        grid=GRID,
    )
    (out / "labels_meta.json").write_text(json.dumps({"alpha": 0.95, "grid": GRID.tolist()}))
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    cfg = load_config("configs/demo.toml", TINY)
    panel = load_panel(cfg)
    root = tmp_path_factory.mktemp("pretrain")
    labels = fabricate_labels(panel, cfg, root / "labels")
    run = pretrain(panel, labels, cfg, root / "a")
    return cfg, panel, labels, root, run


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_model(run_dir)[0].state_dict()


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_writes_the_model_and_its_figures(setup):
    _, _, _, root, run = setup
    assert run.complete and (root / "a" / "model.safetensors").is_file()
    saved = json.loads((root / "a" / "pretrain.json").read_text())
    assert {k: saved[k] for k in ("parameters", "wape", "label_accuracy")} == run.to_json()
    assert [len(s.history) for s in run.loops.values()] == [2, 2]
    assert 0 <= run.accuracy.exact <= run.accuracy.within_1 <= 1


def test_pretrain_json_has_exactly_the_documented_keys(setup):
    out = setup[4].to_json()
    assert set(out) == {"parameters", "wape", "label_accuracy"}
    assert set(out["wape"]) == {"model", "seasonal_naive", "mean28"}
    assert set(out["label_accuracy"]) == {"exact", "within_1"}
    assert json.loads(json.dumps(out)) == out


def test_the_same_seed_gives_the_same_weights(setup):
    cfg, panel, labels, root, _ = setup
    pretrain(panel, labels, cfg, root / "b")
    assert same(weights(root / "a"), weights(root / "b"))


def test_a_run_stopped_twice_by_a_step_limit_resumes_to_the_uninterrupted_weights(setup):
    cfg, panel, labels, root, _ = setup
    # 8 steps per epoch: stop inside demand epoch 1, at the stage boundary, then inside the
    # unfrozen label epoch
    for limit in (5, 16, 27):
        stopped = load_config("configs/demo.toml", [*TINY, f"pretrain.max_steps={limit}"])
        run = pretrain(panel, labels, stopped, root / "c")
        assert not run.complete and run.steps == limit and run.wape is None
    resumed = pretrain(panel, labels, cfg, root / "c")
    assert resumed.complete and resumed.steps == setup[4].steps
    assert same(weights(root / "a"), weights(root / "c"))
    assert resumed.to_json() == setup[4].to_json()


def test_an_interrupted_run_says_how_to_resume(setup):
    cfg, panel, labels, root, _ = setup
    stopped = load_config("configs/demo.toml", [*TINY, "pretrain.max_steps=3"])
    run = pretrain(panel, labels, stopped, root / "d")
    text = io.StringIO()
    render_pretrain(run, Console(file=text, width=120))
    assert "run again to resume" in text.getvalue()
    assert run.to_json()["wape"]["model"] is None


def test_render_prints_the_parameter_count_wape_and_accuracy(setup):
    text = io.StringIO()
    render_pretrain(setup[4], Console(file=text, width=120))
    out = text.getvalue()
    assert f"{setup[4].parameters:,}" in out and "seasonal naive" in out and "within ±1" in out


def test_a_checkpoint_of_another_model_size_is_refused(setup):
    _, panel, labels, root, _ = setup
    other = load_config("configs/demo.toml", [*TINY, "model.d_model=8"])
    with pytest.raises(InputError, match="different"):
        pretrain(panel, labels, other, root / "a")


def test_the_pretrained_policy_is_evaluated_next_to_the_baselines(setup):
    cfg, panel, _, root, _ = setup
    run_cfg = load_config("configs/demo.toml", [*TINY, f"model.checkpoint='{root / 'a'}'"])
    ev = evaluate(panel, run_cfg, ("incumbent", "pretrained"))
    assert [r.name for r in ev.reports] == ["incumbent", "pretrained"]
    decided = ev.results[1].inventory_days
    assert np.isin(decided[~np.isnan(decided)], GRID).all()


def test_the_pretrained_policy_needs_a_trained_model(setup):
    cfg, panel, _, root, _ = setup
    with pytest.raises(InputError, match="no trained .pretrained. model"):
        evaluate(panel, cfg, ("pretrained",))


def test_labels_of_a_unit_outside_the_panel_are_refused(setup, tmp_path):
    _, panel, labels, _, _ = setup
    frame = pl.read_parquet(labels / "labels.parquet")
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("nowhere"))
        .otherwise(pl.col("unit_id"))
        .alias("unit_id")
    )
    frame.write_parquet(tmp_path / "labels.parquet")
    (tmp_path / "candidates.npz").write_bytes((labels / "candidates.npz").read_bytes())
    with pytest.raises(InputError, match="nowhere"):
        read_labels(tmp_path, panel)


def test_labels_keep_their_pipelines_and_grid(setup):
    _, panel, labels, _, _ = setup
    table = read_labels(labels, panel)
    frame = pl.read_parquet(labels / "labels.parquet").filter(~pl.col("start_state"))
    assert table.grid.tolist() == GRID.tolist()
    lens = frame["pipeline"].list.len().to_numpy()
    assert table.pipeline.shape == (frame.height, lens.max())
    row = int(np.argmax(lens))
    assert table.pipeline[row].tolist() == frame["pipeline"][row].to_list()
    assert (panel.units.unit_id[table.units] == frame["unit_id"].to_numpy()).all()


def test_a_units_first_label_is_dropped_as_its_position_carries_the_label(setup):
    _, panel, labels, _, _ = setup
    frame = pl.read_parquet(labels / "labels.parquet")
    table = read_labels(labels, panel)
    kept = set(zip(panel.units.unit_id[table.units], table.days.tolist(), strict=True))
    first = frame.filter(pl.col("start_state"))
    assert len(kept) == frame.height - first.height == frame.height - panel.n_units
    assert kept.isdisjoint(zip(first["unit_id"], first["day"], strict=True))


def test_the_learning_rate_decays_along_a_cosine_to_a_tenth():
    assert lr_factor(0, 100) == 1.0
    assert lr_factor(50, 100) == pytest.approx(0.55)
    assert lr_factor(100, 100) == pytest.approx(0.1)
    assert lr_factor(150, 100) == pytest.approx(0.1)


def test_demand_targets_stop_before_the_given_day():
    demand = np.arange(20, dtype=float)[None, :]
    y, mask = demand_targets(
        demand,
        np.ones_like(demand, bool),
        np.array([0]),
        np.array([10]),
        np.array([2.0]),
        4,
        stop=12,
    )
    assert y[0].tolist() == [5.0, 5.5, 6.0, 6.5]
    assert mask[0].tolist() == [True, True, False, False]


def test_seasonal_naive_repeats_last_weeks_weekday():
    demand = np.arange(30, dtype=float)[None, :]
    f = seasonal_naive(demand, np.array([0]), np.array([20]), 14)
    assert f[0].tolist() == [13, 14, 15, 16, 17, 18, 19, 13, 14, 15, 16, 17, 18, 19]


def test_wape_of_a_hand_computed_case():
    actual = np.array([[2.0, 0.0, 4.0]])
    forecast = np.array([[1.0, 1.0, 5.0]])
    assert wape(forecast, actual, np.ones_like(actual, bool)) == pytest.approx(3 / 6)
    assert wape(forecast, actual, np.array([[True, False, False]])) == pytest.approx(1 / 2)
