"""``report.html`` end to end, in-process: sections, embedded figures, no outside links, a real
browser's rendering; and a trained model evaluated on another dataset without retraining."""

import base64
import io
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

from orpr.cli import app
from orpr.config import load_config
from orpr.data import load_panel
from orpr.report.artifacts import record_lists, to_curve
from orpr.report.html import SECTIONS

SMALL = [
    "synthetic.units=32",
    "synthetic.days=112",
    "split.holdout_days=28",
    "labels.milp_groups=0",
]
QUICK = [
    "eval.frontier_safety_offsets=[-1.0, 1.0]",
    "eval.frontier_quantiles=[0.5, 0.9]",
    "eval.frontier_alphas=[0.9, 0.99]",
    "eval.frontier_model_alphas=[0.9, 0.99]",
]
TINY = [
    "model.d_model=16",
    "model.layers=1",
    "model.heads=2",
    "model.d_ff=32",
    "model.hash_buckets=32",
    "model.decoder_hidden=16",
    "model.latent=4",
    "pretrain.threads=1",
    "pretrain.batch_size=128",
    "pretrain.demand_epochs=1",
    "pretrain.demand_samples=512",
    "pretrain.label_epochs=2",
    "pretrain.frozen_epochs=1",
    "pretrain.label_samples=512",
    "pretrain.val_samples=128",
    "pretrain.heldout_samples=128",
]
BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")


def orpr(*args: str, sets: list[str] = ()) -> str:
    """Run ``orpr ARGS --set …`` in-process; its stdout (the test fails on a non-zero exit)."""
    argv = list(args)
    for item in sets:
        argv += ["--set", item]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    return result.stdout


class Page(HTMLParser):
    """What the structural checks need: section ids, images, tables, every URL-bearing value."""

    def __init__(self) -> None:
        super().__init__()
        self.sections, self.images, self.tables, self.links = [], [], 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "table":
            self.tables += 1
        self.links += [v for k, v in attrs if k in ("href", "src", "action") and v]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A run directory: labels, then evaluate with a location hold-out and the frontier."""
    out = tmp_path_factory.mktemp("run")
    orpr("labels", "--out", str(out / "labels"), sets=SMALL)
    orpr(
        "evaluate",
        "--out",
        str(out),
        "--policies",
        "incumbent,base_stock,or_hindsight",
        sets=[*SMALL, *QUICK, "split.holdout_locations=2"],
    )
    return out


def parse(path: Path) -> tuple[Page, str]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return page, text


def test_the_report_holds_every_section_and_embedded_figure(run):
    page, text = parse(run / "report.html")
    assert page.sections == list(SECTIONS)
    assert len(page.images) >= 5  # frontier, traces, decisions, labels, censoring
    for src in page.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        picture = imread(io.BytesIO(base64.b64decode(src[len(prefix) :])), format="png")
        assert picture.shape[0] > 100 and picture.shape[1] > 100
        assert picture[..., :3].std() > 0.01  # not one flat colour
    assert page.tables >= 8
    assert all(link.startswith(("#", "data:image/png;base64,")) for link in page.links)
    assert "http" not in text and "url(" not in text and "@import" not in text


def test_the_report_states_the_figures_of_metrics_json(run):
    metrics = json.loads((run / "metrics.json").read_text())
    _, text = parse(run / "report.html")
    for name, m in metrics["policies"].items():
        assert f"{m['in_stock_rate']:.2%}" in text, name
        assert f"{m['holding_cost']:,.0f}" in text, name
    assert metrics["frontier"]["reference_policy"] == "incumbent"
    assert set(metrics["locations"]["held_out"]) == set(metrics["policies"])
    assert ", ".join(metrics["locations"]["stores"]) in text
    assert "v* (OR labels)" in text or "OR labels v* from" in text


def test_the_report_renders_in_a_headless_browser(run, tmp_path):
    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        pytest.skip(
            "no headless Chromium on PATH (Debian: apt-get install chromium-headless-shell)"
        )
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,3000",
            f"--screenshot={shot}",
            (run / "report.html").resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (3000, 1200)
    ink = (pixels < 0.9).any(axis=2).mean()  # share of pixels that are not (near) white
    assert ink > 0.03
    colours = np.unique((pixels[::7, ::7] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # text, tables and figures, not a blank or error page


def test_training_records_are_read_from_any_list_of_records():
    pretrain = {
        "details": {
            "stages": {
                "demand": {
                    "epochs": [
                        {"epoch": 1, "phase": "full", "train": 0.5, "val": 0.6},
                        {"epoch": 2, "phase": "full", "train": 0.4, "val": None},
                    ]
                }
            }
        }
    }
    ((path, records),) = record_lists(pretrain)
    curve = to_curve(path, records)
    assert path == "details.stages.demand.epochs" and curve.xlabel == "epoch"
    assert set(curve.series) == {"train", "val"} and np.isnan(curve.series["val"][1])
    other = {"log": [{"reward": 0.1, "kl": 0.0}, {"reward": 0.3, "kl": 0.02}], "note": "x"}
    ((path, records),) = record_lists(other)
    assert to_curve(path, records).x.tolist() == [1.0, 2.0]
    assert to_curve("empty", [{"phase": "a"}]) is None


def write_other_dataset(folder: Path) -> Path:
    """A canonical dataset unlike the training data: other units, stores, categories, days."""
    cfg = load_config(
        None,
        [
            "synthetic.units=20",
            "synthetic.days=98",
            "synthetic.seed=99",
            "synthetic.stores=3",
            "synthetic.categories=2",
        ],
    )
    p = load_panel(cfg)
    ids = np.char.add("X", p.units.unit_id.astype(str))
    unit, day = np.nonzero(p.active)
    folder.mkdir()
    pl.DataFrame(
        {
            "unit_id": ids[unit],
            "date": np.datetime_as_string(p.dates[day], unit="D"),
            "sales": p.sales[unit, day],
            "stockout_fraction": p.stockout_fraction[unit, day],
            "promo": p.promo[unit, day].astype(np.int64),
            "discount": p.discount[unit, day],
        }
    ).write_csv(folder / "daily.csv")
    pl.DataFrame(
        {
            "unit_id": ids,
            "location": np.char.add("W", p.units.location.astype(str)),
            "category": np.char.add("K", p.units.category.astype(str)),
        }
    ).write_csv(folder / "units.csv")
    return folder


def test_a_trained_model_is_evaluated_on_another_dataset_without_retraining(run, tmp_path):
    orpr(
        "pretrain",
        "--labels",
        str(run / "labels"),
        "--out",
        str(tmp_path / "model"),
        "--json",
        sets=[*SMALL, *TINY],
    )
    weights = (tmp_path / "model" / "model.safetensors").read_bytes()
    data = write_other_dataset(tmp_path / "other")
    out = tmp_path / "eval"
    orpr(
        "evaluate",
        "--model",
        str(tmp_path / "model"),
        "--data",
        str(data),
        "--out",
        str(out),
        "--policies",
        "incumbent,pretrained",
        "--json",
        sets=QUICK,
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["meta"]["source"].startswith(str(data))
    assert metrics["meta"]["units"] == 20
    assert 0 < metrics["policies"]["pretrained"]["in_stock_rate"] <= 1
    model_points = [p for p in metrics["frontier"]["points"] if p["policy"] == "pretrained"]
    assert [p["value"] for p in model_points] == [0.9, 0.99]
    assert (tmp_path / "model" / "model.safetensors").read_bytes() == weights  # not retrained
    _, text = parse(out / "report.html")
    training = Page()
    training.feed(text[text.index('<section id="training">') : text.index('<section id="data">')])
    assert len(training.images) == 1 and f"pretrained: {tmp_path / 'model'}" in text


def test_the_report_and_the_frontier_can_be_switched_off(tmp_path):
    orpr(
        "evaluate",
        "--out",
        str(tmp_path),
        "--policies",
        "base_stock",
        "--json",
        sets=[*SMALL, "eval.frontier=false", "eval.report=false"],
    )
    assert "frontier" not in json.loads((tmp_path / "metrics.json").read_text())
    assert not (tmp_path / "report.html").exists()
