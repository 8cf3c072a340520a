"""The stages of ``orpr run``, each declared once, and the one fingerprint that says when work
is stale.

A ``Stage`` declares the config it reads (sections such as ``"rl"`` or single keys such as
``"policy.alpha"``), the keys among them that change only how fast it runs (ignored), its
inputs and its outputs (paths in the run directory, ``orpr.model.run_dir``). Its fingerprint
hashes the values of the keys it reads together with the fingerprints of the stages whose
outputs are its inputs, so a change reruns the stage that reads it and every stage after it:

==============  ===================================  ========================================
stage           inputs                               outputs
==============  ===================================  ========================================
``labels``      (the panel)                          ``labels/``
``pretrain``    ``labels/``                          ``pretrained/``
``finetune``    ``labels/``, ``pretrained/``         ``orpr/``, ``orpr_expert/``,
                                                     ``finetune.json``, ``checkpoint/…``
``evaluate``    every model and ``finetune.json``    ``metrics.json``, ``report.html``
==============  ===================================  ========================================

The same function serves ``orpr run`` (``fingerprints``: every stage from the config, chained)
and the single-stage commands, which take their inputs' fingerprints from the inputs
themselves: a stage records its fingerprint in what it writes (``labels_meta.json``, each
``model.json``, the training checkpoints), and a checkpoint of another fingerprint is not
resumed. Both ways give the same value for the same config.

It sits in ``orpr.config`` (it reads nothing else), so every stage checks its inputs and
checkpoints with it without importing the pipeline that runs them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orpr.config.load import config_to_dict
from orpr.config.run import Config

PANEL = ("seed", "data", "synthetic", "stationary", "units", "split")
"""The config the panel, its time split and the seeded draws come from: every stage reads it."""
SPEED = ("compute", "pretrain.threads", "pretrain.max_steps", "pretrain.checkpoint_every")
"""Keys that change how fast a stage runs, never what it computes."""


@dataclass(frozen=True)
class Stage:
    """One stage of ``orpr run``.

    Attributes:
        name: the stage's name (``stages.json``, the ``--json`` output).
        reads: config sections and keys it reads.
        ignored: keys under ``reads`` that change only its speed.
        inputs: run-directory paths it reads (outputs of earlier stages).
        outputs: run-directory paths it writes; removed before it reruns from scratch.
        whole: files whose presence means its outputs are complete.
    """

    name: str
    reads: tuple[str, ...]
    ignored: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    whole: tuple[str, ...]

    def fingerprint(self, cfg: Config, upstream: Sequence[str] = ()) -> str:
        """16 hex digits of the SHA-256 of the keys it reads and its inputs' fingerprints.

        Args:
            cfg: the run configuration.
            upstream: the fingerprints of its inputs, in the order of ``upstream_stages``.
        """
        flat = _flatten(config_to_dict(cfg))
        keys = sorted(k for k in flat if _under(k, self.reads) and not _under(k, self.ignored))
        text = json.dumps(
            {"upstream": list(upstream), "config": {k: flat[k] for k in keys}}, sort_keys=True
        )
        return _digest(text.encode("utf-8"))

    def present(self, run_dir: Path) -> bool:
        """Whether its outputs in ``run_dir`` are complete."""
        return all((run_dir / name).exists() for name in self.whole)

    def remove_outputs(self, run_dir: Path) -> None:
        """Delete its outputs (checkpoints included) before it reruns from scratch."""
        for name in self.outputs:
            path = run_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


LABELS = Stage(
    "labels",
    reads=(
        *PANEL,
        "policy.alpha",
        "policy.safety_days",
        "policy.incumbent_objective",
        "labels",
        "compute",
    ),
    ignored=SPEED,
    inputs=(),
    outputs=("labels",),
    whole=("labels/labels_meta.json", "labels/candidates.npz", "labels/labels.parquet"),
)
PRETRAIN = Stage(
    "pretrain",
    reads=(*PANEL, "policy.alpha", "model", "pretrain", "compute"),
    ignored=(*SPEED, "model.checkpoint"),
    inputs=("labels",),
    outputs=("pretrained",),
    whole=("pretrained/model.json",),
)
FINETUNE = Stage(
    "finetune",
    reads=(
        *PANEL,
        "policy.alpha",
        "rl",
        "pretrain.min_history",
        "pretrain.val_days",
        "pretrain.val_samples",
        "pretrain.patience",
        "pretrain.grad_clip",
        *SPEED,
    ),
    ignored=SPEED,
    inputs=("labels", "pretrained"),
    outputs=("orpr", "orpr_expert", "finetune.json", "checkpoint/finetune.safetensors"),
    whole=("orpr/model.json", "orpr_expert/model.json"),
)
EVALUATE = Stage(
    "evaluate",
    reads=(*PANEL, "labels", "rl", "policy", "eval", *SPEED),
    ignored=SPEED,
    inputs=("labels", "pretrained", "orpr", "orpr_expert", "finetune.json"),
    outputs=("metrics.json", "report.html"),
    whole=("metrics.json",),
)
STAGES = (LABELS, PRETRAIN, FINETUNE, EVALUATE)
"""The stages of ``orpr run``, in order."""


def upstream_stages(stage: Stage) -> tuple[Stage, ...]:
    """The stages whose outputs hold ``stage``'s inputs, in run order."""
    return tuple(s for s in STAGES if any(_under(i, s.outputs) for i in stage.inputs))


def fingerprints(cfg: Config) -> dict[str, str]:
    """Every stage's fingerprint from the config alone, chained along the inputs."""
    out: dict[str, str] = {}
    for stage in STAGES:
        out[stage.name] = stage.fingerprint(cfg, [out[s.name] for s in upstream_stages(stage)])
    return out


def input_fingerprint(recorded: str | None, content: Path) -> str:
    """An input's fingerprint: the one its stage recorded, else (an input made elsewhere, or
    before fingerprints were recorded) a hash of its content file."""
    return recorded or _digest(content.read_bytes())


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _under(key: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``key`` is one of ``prefixes`` or lies under one (a section or a directory)."""
    return any(key == p or key.startswith(p + ".") or key.startswith(p + "/") for p in prefixes)
