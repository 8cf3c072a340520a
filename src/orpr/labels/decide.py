"""The group decision over replayed candidates: the one code path of labels and ``or_hindsight``.

Symbols: t the decision day; v candidate inventory days; α the service target; λ the
knapsack's multiplier (``orpr.labels.knapsack``), or each unit's own price of a lost sale
``λ = (p / c) / h`` (``alpha_mode = "cost"``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from orpr.config import LabelsConfig
from orpr.labels.knapsack import MckpSolution, loss_budget, solve_mckp
from orpr.labels.replay import LabelInputs, Positions, Replay, Workspace, replay_candidates
from orpr.sim.metrics import priced_cost


class GroupDecision(NamedTuple):
    """The knapsack's answer for the deciding units, arrays ``(n,)``.

    Attributes:
        choice: grid index of ``v*``.
        lam: ``λ*`` of the unit's group, days.
        met: the group's budget holds.
        replay: the candidate outcomes the choice was made from.
    """

    choice: np.ndarray
    lam: np.ndarray
    met: np.ndarray
    replay: Replay


def least_cost(replay: Replay, lam: np.ndarray) -> np.ndarray:
    """Each unit's candidate of least ``stock + λ·loss`` (ties to the smaller v), ``(n,)``; an
    infinite ``λ`` takes the least loss."""
    return np.argmin(priced_cost(replay.stock, replay.loss, np.asarray(lam)[:, None]), axis=1)


def solve_groups(
    replay: Replay, group: np.ndarray, alpha: float, cfg: LabelsConfig
) -> list[tuple[np.ndarray, MckpSolution]]:
    """One knapsack per group code: ``[(rows of the group, solution)]``, groups ascending."""
    codes = np.unique(group)
    if codes.size == 1:  # one group: no copies of the outcome tables
        rows = np.arange(group.size)
        return [
            (
                rows,
                solve_mckp(
                    replay.stock,
                    replay.loss,
                    loss_budget(replay.sale, alpha),
                    cfg.lam_steps,
                    cfg.lam_range,
                ),
            )
        ]
    out = []
    for code in codes:
        rows = np.flatnonzero(group == code)
        budget = loss_budget(replay.sale[rows], alpha)
        out.append(
            (
                rows,
                solve_mckp(
                    replay.stock[rows], replay.loss[rows], budget, cfg.lam_steps, cfg.lam_range
                ),
            )
        )
    return out


def decide_groups(
    inputs: LabelInputs,
    t: int,
    stop: int,
    positions: Positions,
    alpha: float,
    cfg: LabelsConfig,
    workspace: Workspace | None = None,
) -> GroupDecision:
    """Candidate replay + knapsack for the units deciding on day t (labels and the oracle).

    Args:
        inputs: the run's fixed inputs.
        t: the decision day.
        stop: the first day the replay may not see.
        positions: the deciding units and their positions.
        alpha: the service target α.
        cfg: the grid, λ bisection and group rule.
        workspace: reusable buffers (see ``Workspace``).
    """
    replay = replay_candidates(inputs, t, stop, positions, workspace)
    return choose(
        replay, inputs.group[positions.units], alpha, cfg, unit_prices(inputs, positions.units, cfg)
    )


def unit_prices(inputs: LabelInputs, units: np.ndarray, cfg: LabelsConfig) -> np.ndarray | None:
    """The units' own prices ``λ`` when labels minimise cost (``alpha_mode = "cost"``), else None."""
    return inputs.lam[units] if cfg.alpha_mode == "cost" and inputs.lam is not None else None


def choose(
    replay: Replay,
    group: np.ndarray,
    alpha: float,
    cfg: LabelsConfig,
    lam: np.ndarray | None = None,
) -> GroupDecision:
    """The knapsack of every group over replayed candidates; ``group`` codes ``(n,)``. With
    ``lam`` (each unit's own price, ``alpha_mode = "cost"``) every unit takes its least-cost
    candidate instead: no service budget couples the units."""
    n = len(group)
    if lam is not None:
        return GroupDecision(
            least_cost(replay, lam),
            np.asarray(lam, dtype=np.float64),
            np.ones(n, dtype=bool),
            replay,
        )
    choice, lam, met = np.zeros(n, dtype=np.int64), np.zeros(n), np.ones(n, dtype=bool)
    for rows, sol in solve_groups(replay, group, alpha, cfg):
        choice[rows], lam[rows], met[rows] = sol.choice, sol.lam, sol.met
    return GroupDecision(choice, lam, met, replay)
