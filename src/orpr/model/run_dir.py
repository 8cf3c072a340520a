"""The run directory: resolved config, metrics and the trained models, written atomically.

Layout of a run directory (``orpr run --out DIR``; the single-stage commands write the same
parts)::

    DIR/
      config.toml        the resolved config
      labels/            OR labels (orpr labels)
      pretrained/        stage-2 model (orpr pretrain): model.safetensors + model.json
      orpr/              stage-3 model (orpr finetune)
      orpr_expert/       stage-4 model (orpr finetune)
      metrics.json       the evaluation (orpr evaluate)

``model_dir(DIR, policy)`` finds a policy's model there; a bare model directory (what
``orpr pretrain --out`` wrote before runs had sub-directories) counts as ``pretrained``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from orpr.config import Config, config_to_dict
from orpr.errors import InputError
from orpr.io import write_json, write_text

MODEL_WEIGHTS = "model.safetensors"
MODEL_JSON = "model.json"

MODEL_POLICIES = ("pretrained", "orpr", "orpr_expert")
"""Policies whose decisions come from a trained model, each in a sub-directory of its name."""


def write_run_files(out: Path, cfg: Config, metrics: dict[str, Any]) -> None:
    """Write ``config.toml`` (the resolved config) and ``metrics.json`` into ``out``."""
    write_text(out / "config.toml", tomli_w.dumps(config_to_dict(cfg)))
    write_json(out / "metrics.json", metrics)


def model_dir(run_dir: str | Path, policy: str) -> Path:
    """The directory holding ``policy``'s trained model in ``run_dir``.

    Raises:
        InputError: ``run_dir`` holds no model for ``policy``.
    """
    root = Path(run_dir)
    if str(run_dir) and has_model(root / policy):
        return root / policy
    if str(run_dir) and policy == "pretrained" and has_model(root):
        return root
    hint = "orpr pretrain" if policy == "pretrained" else "orpr finetune"
    raise InputError(
        str(run_dir) or "model.checkpoint",
        f"no trained '{policy}' model here (run `{hint}` and pass its --out as --model)",
    )


def has_model(out_dir: str | Path) -> bool:
    """Whether ``out_dir`` holds a complete trained model."""
    out = Path(out_dir)
    return (out / MODEL_JSON).is_file() and (out / MODEL_WEIGHTS).is_file()
