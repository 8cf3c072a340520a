"""The outcomes RL rewards look up: every labelled state's candidate outcomes (DESIGN §7).

A decision state is a labelled one, so each sampled action's outcome is read from the
candidate table (``candidates.npz``: ``stock`` and ``loss`` of every grid value over
``[t + L, t + H)``, replayed on the realised demand), with the state's ``λ*`` and ``sale``
from ``labels.parquet``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl

from orpr.training.labels import LabelTable


class Outcomes(NamedTuple):
    """Each labelled state's candidate outcomes and the figures rewards need.

    Attributes:
        stock: ``Σ c·I`` of every candidate, value-days, float32 ``(state, candidate)``.
        loss: ``Σ c·lost`` of every candidate, value, float32 ``(state, candidate)``.
        lam: ``λ*``, days ``(state,)``.
        sale: ``Σ c·d`` over the window, value ``(state,)``.
        floor: one day of demand value ``c·d̂``, value ``(state,)``.
        position: on-hand + pipeline in days of ``d̂`` ``(state,)``.
    """

    stock: np.ndarray
    loss: np.ndarray
    lam: np.ndarray
    sale: np.ndarray
    floor: np.ndarray
    position: np.ndarray


def read_outcomes(labels_dir: str | Path, table: LabelTable, unit_cost: np.ndarray) -> Outcomes:
    """The candidate table and ``λ*``, ``sale`` of ``table``'s states (same row order)."""
    folder = Path(labels_dir)
    rows = table.source_rows if table.source_rows is not None else np.arange(len(table.units))
    frame = pl.read_parquet(folder / "labels.parquet", columns=["lam", "sale"])
    with np.load(folder / "candidates.npz", allow_pickle=False) as npz:
        stock, loss = npz["stock"][rows], npz["loss"][rows]
    d_hat = np.maximum(table.d_hat, 1e-12)
    position = (table.on_hand + table.pipeline.sum(1)) / d_hat
    return Outcomes(
        stock,
        loss,
        frame["lam"].to_numpy()[rows],
        frame["sale"].to_numpy()[rows],
        unit_cost[table.units] * table.d_hat,
        position,
    )
