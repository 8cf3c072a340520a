"""What trained stages left behind that the report reads: models' training curves and labels.

Tolerant by design: a run may have no model, a model without ``finetune.json``, or files
written by a newer stage whose layout this module does not know. Training curves are read as
any list of records (JSON objects with numbers) found anywhere in ``pretrain.json`` or
``finetune.json`` — e.g. ``details.stages.demand.epochs`` = ``[{epoch, phase, train, val}, …]``
— plotted against ``epoch`` or ``step`` when the records carry one, else their position.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from orpr.config import Config
from orpr.errors import InputError
from orpr.model.run_dir import MODEL_POLICIES, model_dir

TRAINING_FILES = ("pretrain.json", "finetune.json")
"""Files of a model directory that hold training records."""
X_KEYS = ("epoch", "step", "iteration")
"""Record fields used as the x axis, in order of preference."""
MAX_SERIES = 6
"""Series drawn per curve panel at most."""
MAX_CURVES = 12
"""Curve panels drawn at most (the first found, model by model, file by file)."""


class Curve(NamedTuple):
    """One list of training records as plottable series.

    Attributes:
        title: ``policy · file · path`` of the records.
        x: the x values ``(n,)``.
        xlabel: what x is (``epoch``, ``step`` or ``record``).
        series: numeric fields, NaN where a record has none, ``{name: (n,)}``.
    """

    title: str
    x: np.ndarray
    xlabel: str
    series: dict[str, np.ndarray]


class LabelDraw(NamedTuple):
    """The OR labels ``v*`` found for the report and where they came from."""

    v_star: np.ndarray
    source: Path


def model_dirs(cfg: Config, run_dir: Path | None) -> dict[str, Path]:
    """Each model policy's directory under ``model.checkpoint`` or ``run_dir``, where present."""
    roots = [Path(p) for p in (cfg.model.checkpoint, run_dir) if p]
    found = {}
    for name in MODEL_POLICIES:
        for root in roots:
            try:
                found[name] = model_dir(root, name)
                break
            except InputError:
                continue
    return found


def training_curves(dirs: dict[str, Path]) -> list[Curve]:
    """Every record list in the models' training files, as curves."""
    curves = []
    for policy, folder in dirs.items():
        for name in TRAINING_FILES:
            obj = _read_json(folder / name)
            for path, records in record_lists(obj):
                curve = to_curve(f"{policy} · {name.removesuffix('.json')} · {path}", records)
                if curve is not None:
                    curves.append(curve)
    return curves[:MAX_CURVES]


def record_lists(obj: Any, path: str = "") -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``(dotted path, records)`` of every non-empty list of JSON objects inside ``obj``."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from record_lists(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        yield path, obj


def to_curve(title: str, records: list[dict[str, Any]]) -> Curve | None:
    """The records' numeric fields as series (None when there is nothing to plot)."""
    xkey = next((k for k in X_KEYS if all(_is_number(r.get(k)) for r in records)), None)
    x = np.array([r[xkey] for r in records] if xkey else range(1, len(records) + 1), dtype=float)
    keys = [k for k in dict.fromkeys(k for r in records for k in r) if k != xkey]
    series = {}
    for k in keys:
        values = [r.get(k) for r in records]
        if all(v is None or _is_number(v) for v in values) and any(_is_number(v) for v in values):
            series[k] = np.array([np.nan if v is None else v for v in values], dtype=float)
    if not series:
        return None
    return Curve(title, x, xkey or "record", dict(list(series.items())[:MAX_SERIES]))


def label_draw(cfg: Config, run_dir: Path | None, dirs: dict[str, Path]) -> LabelDraw | None:
    """The ``v*`` column of the first labels directory found: ``run_dir/labels``,
    ``model.checkpoint/labels``, then the labels a model was trained on (its ``model.json``)."""
    candidates = [Path(p) / "labels" for p in (run_dir, cfg.model.checkpoint) if p]
    for folder in dirs.values():
        meta = _read_json(folder / "model.json").get("meta", {})
        if isinstance(meta, dict) and meta.get("labels"):
            candidates.append(Path(meta["labels"]))
    for folder in candidates:
        path = folder / "labels.parquet"
        if path.is_file():
            try:
                v = pl.read_parquet(path, columns=["v_star"])["v_star"].to_numpy()
            except (OSError, pl.exceptions.PolarsError):
                continue
            return LabelDraw(np.asarray(v, dtype=float), folder)
    return None


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; ``{}`` when absent or unreadable."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return obj if isinstance(obj, dict) else {}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)
