"""The run directory: resolved config and metrics, written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from orpr.config import Config, config_to_dict
from orpr.io import write_json, write_text


def write_run_files(out: Path, cfg: Config, metrics: dict[str, Any]) -> None:
    """Write ``config.toml`` (the resolved config) and ``metrics.json`` into ``out``."""
    write_text(out / "config.toml", tomli_w.dumps(config_to_dict(cfg)))
    write_json(out / "metrics.json", metrics)
