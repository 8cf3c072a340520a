"""JSON-safe plain values for the evaluation's records (``metrics.json`` has no NaN)."""

from __future__ import annotations

from typing import Any

import numpy as np

from orpr.sim.metrics import Metrics


def finite(x: Any) -> Any:
    """A non-finite float becomes None; other values pass."""
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def metrics_dict(m: Metrics) -> dict[str, Any]:
    """Metrics as JSON-safe plain values (non-finite → None)."""
    return {
        k: (v if isinstance(v, int) or np.isfinite(v) else None) for k, v in m._asdict().items()
    }
