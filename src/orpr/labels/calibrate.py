"""α calibration: bisection on the service target so the label policy reaches a target.

Symbols: α is the knapsack's service target (allowed lost demand ``(1 − α)`` of demand, in
value); ``m(α)`` is a metric of the label policy on the training period.

Modes (``labels.alpha_mode``):
- ``given``: α is ``policy.alpha``, no search;
- ``in_stock``: the smallest α in the bracket whose label policy's in-stock rate ≥ target;
- ``turnover``: the largest α in the bracket whose label policy's turnover days ≤ target.

Both metrics rise with α (a tighter loss budget holds more stock), so the set of α meeting
the target is an interval at one end of the bracket; bisection keeps one end that meets the
target and one that does not, and returns the one that meets it after ``steps`` halvings.
If even the best end of the bracket misses the target, that end is returned, marked unmet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeVar

Payload = TypeVar("Payload")


class Calibration(NamedTuple):
    """The result of an α search.

    Attributes:
        alpha: the α chosen.
        mode: ``in_stock`` or ``turnover``.
        target: the target in-stock rate (fraction) or turnover (days).
        value: the metric the label policy reached at ``alpha``.
        met: the target is met at ``alpha``.
        trials: every ``(α, metric)`` evaluated, in order.
    """

    alpha: float
    mode: str
    target: float
    value: float
    met: bool
    trials: tuple[tuple[float, float], ...]


def meets(mode: str, value: float, target: float) -> bool:
    """Whether a metric value meets the target: in-stock rate ≥ target, turnover ≤ target."""
    if mode == "in_stock":
        return value >= target
    if mode == "turnover":
        return value <= target
    raise ValueError(f"no target to meet in mode {mode!r}; valid: in_stock, turnover")


def calibrate_alpha(
    measure: Callable[[float], tuple[float, Payload]],
    mode: str,
    target: float,
    bracket: tuple[float, float],
    steps: int,
) -> tuple[Calibration, Payload]:
    """Bisect α over ``bracket`` so the measured metric meets ``target``.

    Args:
        measure: ``α → (metric, payload)``; the payload (e.g. the label run) of the chosen α
            is returned with it, so the caller need not run it again.
        mode: ``in_stock`` (the target is met at high α) or ``turnover`` (at low α).
        target: in-stock rate in (0, 1) or turnover days.
        bracket: ``(α_lo, α_hi)``.
        steps: number of halvings after both ends are evaluated.

    Returns:
        The calibration and the payload of its α.
    """
    trials: list[tuple[float, float]] = []

    def run(alpha: float) -> tuple[float, Payload]:
        value, payload = measure(alpha)
        trials.append((alpha, value))
        return value, payload

    lo, hi = bracket
    good, bad = (hi, lo) if mode == "in_stock" else (lo, hi)
    value, payload = run(good)
    if meets(mode, value, target):
        bad_value, bad_payload = run(bad)
        if meets(mode, bad_value, target):  # the whole bracket meets it: the thriftiest end
            good, value, payload = bad, bad_value, bad_payload
        else:
            for _ in range(steps):
                mid = 0.5 * (good + bad)
                mid_value, mid_payload = run(mid)
                if meets(mode, mid_value, target):
                    good, value, payload = mid, mid_value, mid_payload
                else:
                    bad = mid
    met = meets(mode, value, target)
    return Calibration(good, mode, target, value, met, tuple(trials)), payload
