"""Checkpoints without pickle: safetensors for tensors, JSON for everything else.

Two artifacts, each written atomically (``orpr.io``):

- a **trained model**: ``model.safetensors`` (weights) and ``model.json`` (``{"spec": the
  ModelSpec, "grid": the v grid in inventory days, "meta": free-form figures}``); the JSON is
  written last, so a model counts as present only when it exists;
- a **training state**: one ``.safetensors`` file holding named tensors (weights, optimiser
  moments, the torch RNG state as uint8) with the loop's counters as JSON in the file's
  metadata, so a state is always whole.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from orpr.io import atomic_write, write_json
from orpr.model.features import FeatureSpec
from orpr.model.network import ModelSpec, ORPRModel
from orpr.model.run_dir import MODEL_JSON, MODEL_WEIGHTS


def spec_to_json(spec: ModelSpec) -> dict[str, Any]:
    """The spec as plain JSON values."""
    out = dataclasses.asdict(spec)
    out["quantiles"] = list(spec.quantiles)
    return out


def spec_from_json(obj: dict[str, Any]) -> ModelSpec:
    """Inverse of ``spec_to_json``."""
    fields = dict(obj)
    fields["features"] = FeatureSpec(**fields["features"])
    fields["quantiles"] = tuple(fields["quantiles"])
    return ModelSpec(**fields)


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Atomically write ``tensors`` and JSON ``meta`` (under the metadata key ``"json"``)."""
    flat = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    metadata = {"json": json.dumps(meta)}
    return atomic_write(path, lambda tmp: save_file(flat, str(tmp), metadata=metadata))


def load_tensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and JSON metadata written by ``save_tensors``."""
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads((f.metadata() or {}).get("json", "{}"))
    return load_file(str(path)), meta


def save_model(
    out_dir: str | Path, model: ORPRModel, grid: list[float], meta: dict[str, Any]
) -> None:
    """Write ``model.safetensors`` then ``model.json`` into ``out_dir``."""
    out = Path(out_dir)
    save_tensors(out / MODEL_WEIGHTS, model.state_dict(), {})
    write_json(
        out / MODEL_JSON, {"spec": spec_to_json(model.spec), "grid": list(grid), "meta": meta}
    )


def load_model(out_dir: str | Path) -> tuple[ORPRModel, list[float], dict[str, Any]]:
    """The trained model in ``out_dir`` (in eval mode), its ``v`` grid and its meta."""
    out = Path(out_dir)
    info = json.loads((out / MODEL_JSON).read_text(encoding="utf-8"))
    model = ORPRModel(spec_from_json(info["spec"]))
    weights, _ = load_tensors(out / MODEL_WEIGHTS)
    model.load_state_dict(weights)
    model.eval()
    return model, [float(v) for v in info["grid"]], info.get("meta", {})


def optimizer_tensors(
    opt: torch.optim.Optimizer, prefix: str = "optim."
) -> dict[str, torch.Tensor]:
    """Every per-parameter tensor of an optimiser's state, named ``optim.<param>.<key>``."""
    out = {}
    for index, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            out[f"{prefix}{index}.{key}"] = torch.as_tensor(value)
    return out


def load_optimizer(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], prefix: str = "optim."
) -> None:
    """Restore the state written by ``optimizer_tensors`` into an identically built ``opt``."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix):
            index, key = name[len(prefix) :].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})
