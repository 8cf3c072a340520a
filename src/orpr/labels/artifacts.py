"""The labels on disk: a Parquet table, the candidate table, and a small meta file.

Symbols: t decision day, ``v*`` label (inventory days), ``λ*`` group multiplier (days), ``H``
replay horizon, ``L, R`` lead time and review period (days), ``d̂_t`` reference rate, α.

Layout of a labels directory (every file written atomically):

``labels.parquet`` — one row per labelled state (day-major, then panel unit order):
    ``unit_id`` (str), ``date`` (YYYY-MM-DD), ``day`` (panel day index t), ``v_star``
    (inventory days), ``v_index`` (grid index), ``lam`` (``λ*`` of the state's group),
    ``stock``, ``loss``, ``sale`` (``Σ c·I``, ``Σ c·lost``, ``Σ c·d`` over ``[t + L, t + H)``
    for ``v*``; value-days, value, value), ``d_hat`` (units/day), ``on_hand`` (after day
    t's arrivals, units), ``pipeline`` (list[float]: outstanding orders, slot k arrives on
    t + 1 + k), ``alpha``, ``start_state`` (the unit's first label: its position is the steady
    one of ``v*`` itself, so position features there carry the label) and ``budget_met``.
``candidates.npz`` — ``stock`` (``Σ c·I``, value-days) and ``loss`` (``Σ c·lost``, value) of
    every candidate v over the same days, float32 ``(state, candidate)`` in the table's row
    order, and ``grid`` ``(candidate,)`` (inventory days).
``labels_meta.json`` — α, grid, horizon, group and end-of-window rules, counts, and the
    labels stage's fingerprint (``orpr.config.stages``), which later stages chain to theirs.
``labels_summary.json`` — the figures ``orpr labels --json`` prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from orpr.config import Config
from orpr.config.stages import LABELS, input_fingerprint
from orpr.data.panel import Panel
from orpr.io import atomic_write, write_json, write_parquet
from orpr.labels.replay import LabelInputs
from orpr.labels.rolling import LabelTrace

TABLE, CANDIDATES, META, SUMMARY = (
    "labels.parquet",
    "candidates.npz",
    "labels_meta.json",
    "labels_summary.json",
)
COLUMNS = (
    "unit_id",
    "date",
    "day",
    "v_star",
    "v_index",
    "lam",
    "stock",
    "loss",
    "sale",
    "d_hat",
    "on_hand",
    "pipeline",
    "alpha",
    "start_state",
    "budget_met",
)
"""Columns of ``labels.parquet``, in order."""


class Labels(NamedTuple):
    """The labelled states, arrays ``(state,)`` unless stated (see the module docstring).

    Attributes:
        unit_id, date: str. day, v_index: int64. start_state, budget_met: bool.
        v_star, lam, stock, loss, sale, d_hat, on_hand, alpha: float64.
        pipeline: float64 ``(state, P − 1)``.
        cand_stock, cand_loss: float32 ``(state, candidate)``.
        grid: candidate inventory days ``(candidate,)``.
        meta: the ``labels_meta.json`` contents.
    """

    unit_id: np.ndarray
    date: np.ndarray
    day: np.ndarray
    v_star: np.ndarray
    v_index: np.ndarray
    lam: np.ndarray
    stock: np.ndarray
    loss: np.ndarray
    sale: np.ndarray
    d_hat: np.ndarray
    on_hand: np.ndarray
    pipeline: np.ndarray
    alpha: np.ndarray
    start_state: np.ndarray
    budget_met: np.ndarray
    cand_stock: np.ndarray
    cand_loss: np.ndarray
    grid: np.ndarray
    meta: dict[str, Any]


def labels_fingerprint(directory: str | Path) -> str:
    """The fingerprint of the labels in ``directory``: the one their meta records, else (labels
    made elsewhere) a hash of the table."""
    d = Path(directory)
    meta = json.loads((d / META).read_text(encoding="utf-8")) if (d / META).is_file() else {}
    return input_fingerprint(meta.get("fingerprint"), d / TABLE)


def label_meta(
    panel: Panel, trace: LabelTrace, inputs: LabelInputs, cfg: Config, seconds: float
) -> dict[str, Any]:
    """The ``labels_meta.json`` contents of a label run."""
    lc = cfg.labels
    horizon = (
        f"H = max({lc.horizon_days}, {lc.horizon_min}, L + 1) days"
        if lc.horizon_days
        else f"H = max(L + 2R, {lc.horizon_min}, L + 1) days per unit"
    )
    rows = trace.rows
    return {
        "alpha": trace.alpha,
        "grid": [float(v) for v in inputs.grid],
        "horizon_rule": horizon,
        "window_rule": "stock, loss, sale sum the days [t + L, t + H)",
        "end_rule": "review days with t + H > end are not labelled; the unit keeps its last label",
        "start_rule": "a unit's first label starts it at the steady position of v* (start_state)",
        "group_rule": lc.group,
        "alpha_mode": lc.alpha_mode,
        "continuation": lc.continuation,
        "scenarios": lc.scenarios,
        "scenario_days": lc.scenario_days if lc.scenarios else None,
        "states": int(rows.unit.size),
        "units": int(panel.n_units),
        "units_labelled": int(np.unique(rows.unit).size),
        "decisions": int(np.unique(rows.day).size),
        "start": str(panel.dates[trace.start]),
        "end": str(panel.dates[trace.stop - 1]),
        "start_day": int(trace.start),
        "end_day": int(trace.stop),
        "pipeline_slots": int(rows.pipeline.shape[1]),
        "source": panel.source,
        "fingerprint": LABELS.fingerprint(cfg),
        "seconds": round(seconds, 3),
    }


def to_labels(trace: LabelTrace, panel: Panel, grid: np.ndarray, meta: dict[str, Any]) -> Labels:
    """The trace's states as a ``Labels`` record with ids and dates."""
    r = trace.rows
    return Labels(
        unit_id=np.asarray(panel.units.unit_id).astype(str)[r.unit],
        date=np.datetime_as_string(panel.dates[r.day], unit="D"),
        day=r.day,
        v_star=grid[r.v_index],
        v_index=r.v_index,
        lam=r.lam,
        stock=r.stock,
        loss=r.loss,
        sale=r.sale,
        d_hat=r.d_hat,
        on_hand=r.on_hand,
        pipeline=r.pipeline,
        alpha=np.full(r.unit.size, trace.alpha),
        start_state=r.start,
        budget_met=r.met,
        cand_stock=r.cand_stock,
        cand_loss=r.cand_loss,
        grid=grid,
        meta=meta,
    )


def labels_frame(labels: Labels) -> pl.DataFrame:
    """The labels table as a Polars frame (``COLUMNS``)."""
    n, width = labels.pipeline.shape
    pipeline = (
        pl.Series("pipeline", labels.pipeline).cast(pl.List(pl.Float64))
        if width
        else pl.Series("pipeline", [[]] * n, dtype=pl.List(pl.Float64))
    )
    cols = {name: getattr(labels, name) for name in COLUMNS if name != "pipeline"}
    frame = pl.DataFrame({**cols, "pipeline": pipeline})
    return frame.select(COLUMNS)


def write_tables(labels: Labels, out_dir: str | Path) -> list[Path]:
    """Write the table, the candidate table and the meta into ``out_dir``."""
    out = Path(out_dir)

    def save_npz(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.savez(fh, stock=labels.cand_stock, loss=labels.cand_loss, grid=labels.grid)

    return [
        write_parquet(out / TABLE, labels_frame(labels)),
        atomic_write(out / CANDIDATES, save_npz),
        write_json(out / META, labels.meta),
    ]


def load_labels(directory: str | Path) -> Labels:
    """Read a labels directory written by ``write_labels``."""
    d = Path(directory)
    meta = json.loads((d / META).read_text(encoding="utf-8"))
    frame = pl.read_parquet(d / TABLE)
    width = int(meta["pipeline_slots"])
    pipeline = (
        frame["pipeline"].cast(pl.Array(pl.Float64, width)).to_numpy()
        if width
        else np.zeros((frame.height, 0))
    )
    with np.load(d / CANDIDATES) as npz:
        cand_stock, cand_loss, grid = npz["stock"], npz["loss"], npz["grid"]
    cols = {name: frame[name].to_numpy() for name in COLUMNS if name != "pipeline"}
    return Labels(
        **cols,
        pipeline=np.asarray(pipeline, dtype=np.float64),
        cand_stock=cand_stock,
        cand_loss=cand_loss,
        grid=grid,
        meta=meta,
    )
