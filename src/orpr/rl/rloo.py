"""RLOO's formulas (DESIGN §7), each a small pure function.

Symbols: ``K`` actions sampled per state; ``v_k`` the k-th sampled action (inventory days);
``v*`` the OR label; ``stock`` (``Σ c·I``, value-days) and ``loss`` (``Σ c·lost``, value) an
action's outcome over the window ``[t + L, t + H)``; ``ref`` the reference policy's action
(the frozen model's mode); ``λ*`` the label's multiplier (days: value-days per value), so
``stock + λ*·loss`` is the cost the labels minimise; ``π`` the policy's categorical over the
grid and ``π_ref`` the reference's.

- ``pareto_outcome``: +1 when ``v_k``'s outcome Pareto-dominates the reference's (no worse in
  stock and in loss, better in one), −1 when it is dominated, 0 when equal or a trade-off;
- ``sim_reward``: ``r_sim`` — the Pareto outcome, and on a trade-off the λ*-scalarised
  tie-break ``clip(−(Δstock + λ*·Δloss) / scale, −1, 1)``;
- ``rule_reward``: ``r_rule`` — ``−min(1, w·|v_k − v*| / scale)``, with ``w = against`` when
  ``v_k`` deviates from ``v*`` against the direction in which the label moves the position;
- ``loo_advantages``: ``A_k = R_k − mean_{j≠k} R_j``;
- ``categorical_kl``, ``categorical_entropy`` (exact, from logits), ``rloo_loss``;
- ``dual_step``: the multiplier ``m`` on ``λ*`` that holds the policy's lost share of demand
  value at the service budget ``1 − α`` (dual ascent on ``log m``).

Outcomes compare with a relative tolerance (``rtol``): candidate outcomes are float32 sums,
so two actions whose stock differs only in rounding count as equal.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from orpr.sim.metrics import priced_cost

RTOL = 1e-6
"""Relative tolerance under which two outcomes count as equal."""


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> np.ndarray:
    return np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b))


def pareto_outcome(
    stock: np.ndarray,
    loss: np.ndarray,
    stock_ref: np.ndarray,
    loss_ref: np.ndarray,
    rtol: float = RTOL,
) -> np.ndarray:
    """+1 where ``(stock, loss)`` Pareto-dominates the reference, −1 where it is dominated,
    0 where it equals it or trades one off against the other (int8, broadcast shape)."""
    s_eq, l_eq = _close(stock, stock_ref, rtol), _close(loss, loss_ref, rtol)
    s_lt, l_lt = (stock < stock_ref) & ~s_eq, (loss < loss_ref) & ~l_eq
    s_gt, l_gt = (stock > stock_ref) & ~s_eq, (loss > loss_ref) & ~l_eq
    better = (s_lt | s_eq) & (l_lt | l_eq) & (s_lt | l_lt)
    worse = (s_gt | s_eq) & (l_gt | l_eq) & (s_gt | l_gt)
    return better.astype(np.int8) - worse.astype(np.int8)


def sim_reward(
    stock: np.ndarray,
    loss: np.ndarray,
    stock_ref: np.ndarray,
    loss_ref: np.ndarray,
    lam: np.ndarray,
    scale: np.ndarray,
    rtol: float = RTOL,
) -> np.ndarray:
    """``r_sim`` in [−1, 1]: the Pareto outcome against the reference, else the tie-break.

    Args:
        stock, loss: the sampled actions' outcomes ``(..., K)``.
        stock_ref, loss_ref: the reference action's outcome, broadcastable.
        lam: ``λ*``, days, broadcastable.
        scale: positive normaliser of the tie-break, value-days, broadcastable.
    """
    outcome = pareto_outcome(stock, loss, stock_ref, loss_ref, rtol)
    tie = np.clip(-((stock - stock_ref) + lam * (loss - loss_ref)) / scale, -1.0, 1.0)
    same = _close(stock, stock_ref, rtol) & _close(loss, loss_ref, rtol)
    return np.where(outcome != 0, outcome, np.where(same, 0.0, tie)).astype(np.float64)


def cost_reward(
    stock: np.ndarray,
    loss: np.ndarray,
    stock_ref: np.ndarray,
    loss_ref: np.ndarray,
    lam: np.ndarray,
    scale: np.ndarray,
) -> np.ndarray:
    """``r_sim`` of ``rl.reward = "cost"``: the ``λ``-priced cost saved against the reference,
    ``−((stock − stock_ref) + λ·(loss − loss_ref)) / scale``, unclipped (arguments as for
    ``sim_reward``; an infinite ``λ`` prices the loss alone). Its expectation over demand is the
    exact cost difference, which the Pareto reward only orders."""
    saved = priced_cost(stock - stock_ref, loss - loss_ref, lam)
    return (-saved / scale).astype(np.float64)


def rule_reward(
    v: np.ndarray,
    v_star: np.ndarray,
    position: np.ndarray,
    scale: float,
    against: float,
) -> np.ndarray:
    """``r_rule`` in [−1, 0]: distance to the label, heavier against the label's direction.

    Args:
        v: the sampled actions, inventory days ``(..., K)``.
        v_star: the label, days, broadcastable.
        position: the current inventory position (on-hand + pipeline) in days of ``d̂``.
        scale: the distance, in days, at which the reward reaches −1 (with weight 1).
        against: weight ``w`` when ``v`` lies on the other side of ``v*`` than the direction in
            which ``v*`` moves the position (e.g. ``v < v*`` when ``v* > position``); 1 else.

    Returns:
        ``−min(1, w·|v − v*| / scale)``.
    """
    direction = np.sign(v_star - position)
    deviation = v - v_star
    weight = np.where(np.sign(deviation) == -direction, against, 1.0)
    weight = np.where(direction == 0, 1.0, weight)
    return -np.minimum(1.0, weight * np.abs(deviation) / scale)


def loo_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """Leave-one-out advantages ``A_k = R_k − mean_{j≠k} R_j`` over the last axis ``K``.

    Raises:
        ValueError: fewer than two samples (the baseline would be empty).
    """
    k = rewards.shape[-1]
    if k < 2:
        raise ValueError(f"leave-one-out needs at least 2 samples per state, got {k}")
    total = rewards.sum(-1, keepdim=True)
    return rewards - (total - rewards) / (k - 1)


def categorical_kl(logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """Exact ``KL(π ‖ π_ref) = Σ_v π(v) (log π(v) − log π_ref(v))`` over the last axis, ≥ 0."""
    logp = F.log_softmax(logits, dim=-1)
    logq = F.log_softmax(ref_logits, dim=-1)
    return (logp.exp() * (logp - logq)).sum(-1).clamp(min=0.0)


def categorical_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy ``−Σ_v π(v) log π(v)`` over the last axis, nats."""
    logp = F.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(-1)


def rloo_loss(
    log_prob: torch.Tensor, advantages: torch.Tensor, kl: torch.Tensor, beta: float
) -> torch.Tensor:
    """``mean(−A_k · log π(v_k)) + β · mean(KL)``; the advantages carry no gradient."""
    return -(advantages.detach() * log_prob).mean() + beta * kl.mean()


LOG_M_BOUNDS = (-7.0, 7.0)
"""Bounds of ``log m`` (``m`` within about [1e-3, 1e3])."""


def dual_step(log_m: float, loss_share: float, budget: float, lr: float) -> float:
    """One dual-ascent step: ``log m + lr · clip(loss_share / budget − 1, −1, 1)``, bounded.

    Raises ``m`` (dearer lost sales in the tie-break) while the policy loses more than its
    budget ``1 − α`` of demand value, lowers it while it loses less.
    """
    gap = min(max(loss_share / budget - 1.0, -1.0), 1.0)
    return min(max(log_m + lr * gap, LOG_M_BOUNDS[0]), LOG_M_BOUNDS[1])
