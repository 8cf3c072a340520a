"""Stage 3 and 4 training tasks: RLOO on labelled states, and the promotion fine-tune.

Symbols: ``K`` actions per state; ``ε ~ N(0, I)`` exogenous noise, ``z = μ + σ·ε``, ``v_k ~
Categorical(logits(z, h))``; ``π`` the trained policy and ``π_ref`` the frozen reference
(stage 3: the pretrained model; stage 4: the stage-3 model); ``v*`` the OR label, or
``v_expert`` in stage 4; ``λ*``, ``stock``, ``loss``, ``sale`` from the labels (DESIGN §5).

A decision state is a labelled one, so each sampled action's outcome is looked up in the
candidate table (``candidates.npz``: ``stock`` and ``loss`` of every grid value over
``[t + L, t + H)``, replayed on the realised demand): the reward scores what the action
would have done, while the model only sees what is known at ``t``. Per state and step:

1. the reference action is ``π_ref``'s mode at ``z = μ_ref``; its outcome is the reference;
2. ``K`` actions are drawn (one ``ε`` per sample, shared by ``π`` and ``π_ref``);
3. ``R_k = ω·r_rule + (1 − ω)·r_sim`` (``orpr.rl.rloo``), ``A_k`` leave-one-out;
4. loss ``−A_k·log π(v_k) + β·KL(π ‖ π_ref)``, the KL exact over the grid at each ``z_k``.

The tie-break scale of ``r_sim`` is ``sale`` (the demand value of the window: one day more
cover over the window costs about that much stock, so the tie-break reads in days of cover;
at least one day of demand value ``c·d̂``) or ``reference`` (the reference action's own
``stock + λ*·loss``). Validation scores the mode action (``z = μ``) on validation-day
states: the loss is ``−mean R``; ``val_stats`` adds the Pareto-dominance rate against the
reference and the stock and lost value as shares of the reference's.

Stage 4 (``orpr.rl.expert.ExpertTask``) trains on promotion states with ``v_expert`` in
``r_rule``, after ``warm_epochs`` of cross-entropy to ``v_expert`` (plus ``β·KL`` to ``π_ref``).

Data-parallel (Ray Train workers, ``orpr.training.loop.batch_share``): each worker scores its
share of the batch, but draws ``ε`` and the actions of the whole batch and keeps its rows, so
a state's noise does not depend on the worker count and every worker's torch RNG stays the
same; the multiplier ``m`` steps on the whole batch's lost share (``Σ loss`` and ``Σ sale``
summed over the workers), so it is the same on every worker; the per-step figures are the
whole batch's means. With one worker (or none) each of these is the local computation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from orpr.compute.data_parallel import worker_sum
from orpr.config import RLConfig
from orpr.model.network import ORPRModel, to_tensors
from orpr.rl.outcomes import Outcomes
from orpr.rl.rloo import (
    categorical_entropy,
    categorical_kl,
    cost_reward,
    dual_step,
    loo_advantages,
    pareto_outcome,
    rloo_loss,
    rule_reward,
    sim_reward,
)
from orpr.sim.metrics import priced_cost
from orpr.training.demand import DemandData
from orpr.training.labels import LabelTable, label_features
from orpr.training.loop import BatchShare, batch_means, batch_share, share_weighted

RL_STAGE = 2
SERVICE_PENALTY = 100.0
"""Validation cost of each unit of lost share above the budget, days of cover per share."""


class Sampled(NamedTuple):
    """One batch's ``K`` sampled actions with what the loss and the log need."""

    logits: torch.Tensor  # (B, K, n_bins), with gradient
    ref_logits: torch.Tensor  # (B, K, n_bins)
    actions: np.ndarray  # (B, K) grid bins
    ref_mode: np.ndarray  # (B,) reference action's bin
    mode: np.ndarray  # (B,) the policy's own mode (z = μ), what it would decide


class RLTask:
    """RLOO on labelled states (a ``orpr.training.loop.Task``)."""

    name = "rloo"
    stage = RL_STAGE

    def __init__(
        self,
        data: DemandData,
        table: LabelTable,
        outcomes: Outcomes,
        reference: ORPRModel,
        cfg: RLConfig,
        days: tuple[int, int],
        seed: int,
        val_samples: int,
        pool: np.ndarray | None = None,
        target: np.ndarray | None = None,
        log_m: float = 0.0,
    ):
        """``days = (validation start, held-out start)``; ``pool``: the eligible states
        (default all); ``target``: the rule's bin per state (default ``v*``); ``log_m``:
        the multiplier ``m`` on ``λ*`` to start from."""
        val_start, holdout = days
        self.data, self.table, self.out, self.cfg, self.seed = data, table, outcomes, cfg, seed
        self.reference = reference.eval().requires_grad_(False)
        self.target = table.v_index if target is None else target
        pool = np.arange(len(table.units)) if pool is None else np.asarray(pool)
        self.train_rows = pool[table.days[pool] < val_start]
        val = pool[(table.days[pool] >= val_start) & (table.days[pool] < holdout)]
        pick = np.random.default_rng([seed, self.stage, 10**6]).permutation(len(val))
        self.val_rows = np.sort(val[pick[:val_samples]])
        grid = table.grid
        self.rule_scale = cfg.rule_scale if cfg.rule_scale > 0 else float(grid[-1] - grid[0])
        self.epochs = cfg.epochs
        alpha = (
            cfg.alpha
            if cfg.alpha > 0
            else float(np.median(table.alpha))
            if len(table.alpha)
            else 0.95
        )
        self.budget = 1.0 - alpha
        self.log_m = float(log_m)
        self.step_stats: dict[str, float] = {}
        self.val_stats: dict[str, float] = {}
        self._shared: bool | None = None

    # -- the Task protocol ---------------------------------------------------------------
    def phase(self, epoch: int) -> str:
        return "rloo"

    def batches(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.stage, epoch])
        n = len(self.train_rows)
        order = self.train_rows[rng.permutation(n)[: min(self.cfg.states, n)]]
        size = self.cfg.batch_size
        return [order[i : i + size] for i in range(0, len(order), size)]

    def optimizer(self, model: ORPRModel, epoch: int) -> torch.optim.Optimizer:
        model.set_dropout(0.0)
        model.requires_grad_(False)
        model.decision_head.requires_grad_(True)
        groups = [{"params": list(model.decision_head.parameters()), "lr": self.cfg.lr}]
        if self.cfg.encoder_lr_scale > 0:
            model.encoder.requires_grad_(True)
            groups.append(
                {
                    "params": list(model.encoder.parameters()),
                    "lr": self.cfg.lr * self.cfg.encoder_lr_scale,
                }
            )
        return torch.optim.AdamW(groups, lr=self.cfg.lr, weight_decay=0.0)

    def loss(self, model: ORPRModel, batch: np.ndarray, epoch: int, index: int) -> torch.Tensor:
        share = batch_share(batch)
        s = self.sample(model, batch, share)
        r_sim, r_rule, outcome = self.rewards(batch, s.actions, s.ref_mode)
        lam_scale = self.lam_scale
        # the whole batch's lost share (sums over the workers), so m is the same everywhere
        lost, sale = worker_sum([self.out.loss[batch, s.mode].sum(), self.out.sale[batch].sum()])
        loss_share = _ratio(lost, sale)
        if self.cfg.dual_lr > 0 and np.isfinite(loss_share):
            self.log_m = dual_step(self.log_m, loss_share, self.budget, self.cfg.dual_lr)
        reward = torch.from_numpy(self.cfg.omega * r_rule + (1 - self.cfg.omega) * r_sim)
        advantages = loo_advantages(reward.float())
        logp = torch.log_softmax(s.logits, -1).gather(-1, torch.from_numpy(s.actions)[..., None])
        kl = categorical_kl(s.logits, s.ref_logits)
        loss = rloo_loss(logp.squeeze(-1), advantages, kl, self.cfg.beta)
        self.step_stats = {
            **batch_means(
                {
                    "reward": reward,
                    "r_sim": r_sim,
                    "r_rule": r_rule,
                    "kl": kl.detach(),
                    "entropy": categorical_entropy(s.logits.detach()),
                    "pareto_rate": outcome > 0,
                    "dominated_rate": outcome < 0,
                },
                share,
            ),
            "lam_scale_used": lam_scale,
            "lam_scale": self.lam_scale,
            "log_m": self.log_m,
            "mode_loss_share": loss_share,
        }
        return share_weighted(loss, share)

    @property
    def lam_scale(self) -> float:
        """The multiplier ``m`` on ``λ*`` in the tie-break."""
        return float(np.exp(self.log_m))

    def validate(self, model: ORPRModel) -> float:
        """The objective of the mode action on the validation states (NaN without any);
        ``val_stats`` keeps its figures."""
        if len(self.val_rows) == 0:
            self.val_stats = {}
            return float("nan")
        mode, ref_mode = self.modes(model, self.val_rows)
        rows = self.val_rows
        r_sim, r_rule, outcome = self.rewards(rows, mode[:, None], ref_mode)
        reward = self.cfg.omega * r_rule + (1 - self.cfg.omega) * r_sim
        _, ref_rule, _ = self.rewards(rows, ref_mode[:, None], ref_mode)  # its r_sim is 0
        o = self.out
        stock, loss = o.stock[rows, mode], o.loss[rows, mode]
        ref_stock, ref_loss = o.stock[rows, ref_mode], o.loss[rows, ref_mode]
        stock_share = _ratio(stock.sum(), o.sale[rows].sum())
        loss_share = _ratio(loss.sum(), o.sale[rows].sum())
        self.val_stats = {
            "val_stock_days": stock_share,
            "val_loss_share": loss_share,
            "lam_scale": self.lam_scale,
            "log_m": self.log_m,
            "val_reward": float(reward.mean()),
            "val_reward_ref": float(self.cfg.omega * ref_rule.mean()),
            "val_pareto_rate": float((outcome > 0).mean()),
            "val_stock_vs_ref": _ratio(stock.sum(), ref_stock.sum()),
            "val_loss_vs_ref": _ratio(loss.sum(), ref_loss.sum()),
            "val_mean_v": float(self.table.grid[mode].mean()),
            "val_mean_v_ref": float(self.table.grid[ref_mode].mean()),
        }
        if self.cfg.reward == "cost":  # the priced cost per demand value: what r_sim rewards
            lam = o.lam[rows] * self.lam_scale
            priced = priced_cost(stock, loss, lam)
            self.val_stats["val_cost_days"] = _ratio(priced.sum(), o.sale[rows].sum())
        self.val_stats["val_objective"] = self.objective(stock_share, loss_share)
        return self.val_stats["val_objective"]

    def objective(self, stock_share: float, loss_share: float) -> float:
        """Validation objective: stock per demand value (days of cover), plus
        ``SERVICE_PENALTY`` per unit of lost share above the budget ``1 − α``; with
        ``rl.reward = "cost"``, the λ-priced cost per demand value."""
        if self.cfg.reward == "cost":
            return self.val_stats["val_cost_days"]
        return stock_share + SERVICE_PENALTY * max(0.0, loss_share - self.budget)

    # -- pieces ----------------------------------------------------------------------------
    def encode(self, model: ORPRModel, batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """``h`` of the policy (with gradient when the encoder trains) and of the reference."""
        x = to_tensors(label_features(self.data, self.table, batch, model.spec.features))
        if self.cfg.encoder_lr_scale > 0:
            h = model.encoder(x)
        else:
            was = model.encoder.training
            model.encoder.eval()
            with torch.no_grad():
                h = model.encoder(x)
            model.encoder.train(was)
        if self.shared(model):
            return h, h.detach()
        with torch.no_grad():
            return h, self.reference.encoder(x)

    def shared(self, model: ORPRModel) -> bool:
        """Whether policy and reference share one frozen encoder (one forward pass serves both)."""
        if self._shared is None:
            a, b = model.encoder.state_dict(), self.reference.encoder.state_dict()
            self._shared = self.cfg.encoder_lr_scale == 0 and all(
                torch.equal(a[k], b[k]) for k in a
            )
        return self._shared

    def sample(
        self, model: ORPRModel, batch: np.ndarray, share: BatchShare | None = None
    ) -> Sampled:
        """Draw ``K`` actions per state from ``π`` (``z = μ + σ·ε``) and score them under
        ``π_ref`` with the same ``ε``; ``share``: where ``batch`` lies in the whole batch of a
        data-parallel step (default: it is the whole batch)."""
        share = share or BatchShare(slice(None), len(batch), len(batch), 1)
        h, h_ref = self.encode(model, batch)
        head, ref = model.decision_head, self.reference.decision_head
        k = self.cfg.samples
        mu, logvar = head.posterior(h)
        eps = torch.randn(share.total, k, head.latent)[share.rows]
        z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps
        logits = head.logits(z, h[:, None].expand(-1, k, -1))  # (B, K, n_bins)
        with torch.no_grad():
            r_mu, r_logvar = ref.posterior(h_ref)
            r_z = r_mu[:, None] + torch.exp(0.5 * r_logvar)[:, None] * eps
            ref_logits = ref.logits(r_z, h_ref[:, None].expand(-1, k, -1))
            ref_mode = ref.logits(r_mu, h_ref).argmax(-1).numpy()
            actions = sample_actions(logits.detach(), share).numpy()
            mode = head.logits(mu, h).argmax(-1).numpy()
        return Sampled(logits, ref_logits, actions, ref_mode, mode)

    def modes(
        self, model: ORPRModel, rows: np.ndarray, batch: int = 2048
    ) -> tuple[np.ndarray, np.ndarray]:
        """The policy's and the reference's mode bins (``z = μ``) on ``rows``."""
        was = model.training
        model.eval()
        mode = np.zeros(len(rows), dtype=np.int64)
        ref_mode = np.zeros(len(rows), dtype=np.int64)
        with torch.inference_mode():
            for i in range(0, len(rows), batch):
                part = rows[i : i + batch]
                x = to_tensors(label_features(self.data, self.table, part, model.spec.features))
                mode[i : i + batch] = model.decision_logits(x).argmax(-1).numpy()
                ref_mode[i : i + batch] = self.reference.decision_logits(x).argmax(-1).numpy()
        model.train(was)
        return mode, ref_mode

    def rewards(
        self, rows: np.ndarray, actions: np.ndarray, ref_mode: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``r_sim``, ``r_rule`` and the Pareto outcome of ``actions`` ``(B, K)`` at ``rows``."""
        o, grid = self.out, self.table.grid
        stock, loss = o.stock[rows[:, None], actions], o.loss[rows[:, None], actions]
        ref_stock, ref_loss = o.stock[rows, ref_mode][:, None], o.loss[rows, ref_mode][:, None]
        lam = o.lam[rows][:, None] * self.lam_scale
        if self.cfg.tie_scale == "reference":
            scale = ref_stock + lam * ref_loss
        else:
            scale = o.sale[rows][:, None]
        scale = np.maximum(scale, o.floor[rows][:, None])
        scale = np.maximum(scale, 1e-12)
        stock, loss = stock.astype(np.float64), loss.astype(np.float64)
        ref_stock, ref_loss = ref_stock.astype(np.float64), ref_loss.astype(np.float64)
        score = cost_reward if self.cfg.reward == "cost" else sim_reward
        r_sim = score(stock, loss, ref_stock, ref_loss, lam, scale)
        outcome = pareto_outcome(stock, loss, ref_stock, ref_loss)
        r_rule = rule_reward(
            grid[actions],
            grid[self.target[rows]][:, None],
            o.position[rows][:, None],
            self.rule_scale,
            self.cfg.against_weight,
        )
        return r_sim, r_rule, outcome


def sample_actions(logits: torch.Tensor, share: BatchShare) -> torch.Tensor:
    """One action per row of ``logits`` ``(B, K, n_bins)`` from ``Categorical(logits)``, drawn
    as the whole batch's draw (the other workers' rows uniform) and kept at this worker's rows:
    torch draws the same random numbers for a tensor of the same shape whatever its values."""
    if share.world == 1:
        return torch.distributions.Categorical(logits=logits).sample()
    whole = logits.new_zeros((share.total, *logits.shape[1:]))
    whole[share.rows] = logits
    return torch.distributions.Categorical(logits=whole).sample()[share.rows]


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")
