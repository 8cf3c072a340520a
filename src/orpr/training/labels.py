"""Stage 2b: the VAE-logits decision head on OR labels, and its label accuracy.

Symbols: ``v*`` the OR label (inventory days on the grid), its bin ``v_index``; ``λ*`` the
label's Lagrange multiplier (not used here); ``α`` the service target; ``h`` the encoder's
output; ``q(z|h) = N(μ, σ²)`` the decision posterior; ``β_vae`` the KL weight.

Labels come from a labels directory (DESIGN §5): ``labels.parquet``, one row per labelled
state (``unit_id, day, v_index, alpha, d_hat, on_hand, pipeline`` are read), and the grid from
``candidates.npz``. A unit's first labelled state (``start_state``) is dropped: its position
is the steady one of ``v*`` itself, so its features would carry the label. Rows are split by day like demand pretraining: training states before the
validation start, validation states before the held-out start, and states on held-out days
only ever scored.

Loss per state: ``CE(logits(z, h), v*)`` (label mass optionally spread onto the ±1 bins) +
``β_vae · KL(q(z|h) ‖ N(0, I))`` with ``z = μ + σ·ε``. The encoder is frozen for the first
``frozen_epochs`` epochs, then trains at ``unfreeze_lr_scale × label_lr`` together with the
sales head, and each step adds the demand pinball loss of a demand-pretraining batch (its own
seeded sample, weight ``demand_weight``), so the shared encoder keeps forecasting while it
learns the labels. Validation and decisions use ``z = μ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl
import torch

from orpr.config import TrainConfig
from orpr.data.panel import Panel
from orpr.errors import InputError
from orpr.model.features import Features, FeatureSpec, Position, build_features
from orpr.model.network import (
    ORPRModel,
    kl_to_standard_normal,
    label_cross_entropy,
    to_tensors,
)
from orpr.training.demand import DemandData, DemandTask

LABEL_STAGE = 1
DEMAND_EPOCHS = 10**4  # demand epochs drawn during the label stage are numbered from here
LABEL_COLUMNS = ("unit_id", "day", "v_index", "alpha", "d_hat", "on_hand", "pipeline")


class LabelTable(NamedTuple):
    """Labelled states as arrays ``(state,)`` (pipeline ``(state, slot)``), and the grid.

    Attributes:
        units: panel index of each state's unit.
        days: decision day ``t`` (panel day index).
        v_index: label bin on the grid.
        alpha: service target ``α``.
        d_hat: reference rate ``d̂_t``, units/day.
        on_hand: on-hand after day ``t``'s arrivals, units.
        pipeline: outstanding orders, units; slot ``k`` arrives on ``t + 1 + k``.
        grid: candidate inventory days ``(candidate,)``.
        source_rows: each state's row in ``labels.parquet`` (and ``candidates.npz``).
    """

    units: np.ndarray
    days: np.ndarray
    v_index: np.ndarray
    alpha: np.ndarray
    d_hat: np.ndarray
    on_hand: np.ndarray
    pipeline: np.ndarray
    grid: np.ndarray
    source_rows: np.ndarray | None = None


class Accuracy(NamedTuple):
    """Share of states whose predicted bin is the label's (exact) or within one bin."""

    exact: float
    within_1: float
    states: int
    period: str


def read_labels(labels_dir: str | Path, panel: Panel) -> LabelTable:
    """The labels directory's states mapped onto ``panel``'s units.

    Raises:
        InputError: a missing file or column, or a unit the panel does not hold.
    """
    folder = Path(labels_dir)
    table, candidates = folder / "labels.parquet", folder / "candidates.npz"
    for path in (table, candidates):
        if not path.is_file():
            raise InputError(str(path), "labels file not found (run `orpr labels` first)")
    df = pl.read_parquet(table)
    missing = [c for c in LABEL_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(str(table), "missing column", column=missing[0])
    source_rows = np.arange(df.height)
    if "start_state" in df.columns:  # a unit's first position is built from its own label
        source_rows = np.flatnonzero(~df["start_state"].to_numpy())
        df = df.filter(~pl.col("start_state"))
    with np.load(candidates, allow_pickle=False) as npz:
        grid = np.asarray(npz["grid"], dtype=np.float64)
    wanted = df["unit_id"].cast(pl.String).to_numpy().astype(str)
    units = panel.units.index_of(wanted)
    if (units < 0).any():
        raise InputError(
            str(table),
            "unit not in the panel",
            column="unit_id",
            value=wanted[np.argmax(units < 0)],
        )
    slots = int(df["pipeline"].list.len().max() or 0)
    pipe = [
        df["pipeline"].list.get(k, null_on_oob=True).fill_null(0.0).to_numpy() for k in range(slots)
    ]
    return LabelTable(
        units,
        df["day"].to_numpy().astype(np.int64),
        df["v_index"].to_numpy().astype(np.int64),
        df["alpha"].to_numpy().astype(np.float64),
        df["d_hat"].to_numpy().astype(np.float64),
        df["on_hand"].to_numpy().astype(np.float64),
        np.stack(pipe, axis=1) if slots else np.zeros((df.height, 0)),
        grid,
        source_rows,
    )


def label_features(
    data: DemandData, table: LabelTable, rows: np.ndarray, spec: FeatureSpec
) -> Features:
    """The three streams of labelled states ``rows``."""
    pos = Position(table.alpha[rows], table.on_hand[rows], table.pipeline[rows])
    return build_features(
        data.src, data.cal, table.units[rows], table.days[rows], table.d_hat[rows], pos, spec
    )


class LabelTask:
    """Decision head (then encoder) on sampled labelled states."""

    name = "labels"

    def __init__(
        self,
        data: DemandData,
        table: LabelTable,
        model: ORPRModel,
        cfg: TrainConfig,
        days: tuple[int, int],
        seed: int,
        demand: DemandTask | None = None,
    ):
        """Split ``table`` by ``days = (validation start, held-out start)``; ``demand`` is the
        demand task whose loss joins once the encoder trains."""
        val_start, holdout = days
        self.data, self.table, self.cfg, self.seed = data, table, cfg, seed
        self.demand = demand
        self._demand_epoch: tuple[int, list[np.ndarray]] = (-1, [])
        self.fspec = model.spec.features
        self.epochs = cfg.label_epochs
        self.train_rows = np.flatnonzero(table.days < val_start)
        val = np.flatnonzero((table.days >= val_start) & (table.days < holdout))
        pick = np.random.default_rng([seed, LABEL_STAGE, 10**6]).permutation(len(val))
        # at most half: the other half is left for an unbiased label accuracy
        self.val_rows = np.sort(val[pick[: min(cfg.val_samples, len(val) // 2)]])

    def frozen(self, epoch: int) -> bool:
        return epoch < self.cfg.frozen_epochs or self.cfg.unfreeze_lr_scale <= 0

    def phase(self, epoch: int) -> str:
        return "decision head" if self.frozen(epoch) else "decision head + encoder"

    def batches(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, LABEL_STAGE, epoch])
        n = len(self.train_rows)
        order = self.train_rows[rng.permutation(n)[: min(self.cfg.label_samples, n)]]
        size = self.cfg.batch_size
        return [order[i : i + size] for i in range(0, len(order), size)]

    def loss(self, model: ORPRModel, batch: np.ndarray, epoch: int, index: int) -> torch.Tensor:
        x = to_tensors(label_features(self.data, self.table, batch, self.fspec))
        if self.frozen(epoch):
            model.encoder.eval()  # a frozen encoder gives the h it gives at decision time
            with torch.no_grad():
                h = model.encoder(x)
            model.encoder.train()
        else:
            h = model.encoder(x)
        head = model.decision_head
        mu, logvar = head.posterior(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        target = torch.from_numpy(self.table.v_index[batch])
        ce = label_cross_entropy(head.logits(z, h), target, self.cfg.smoothing)
        loss = ce + self.cfg.beta_vae * kl_to_standard_normal(mu, logvar).mean()
        if self.frozen(epoch) or self.demand is None:
            return loss
        batches = self.demand_batches(epoch)
        demand = self.demand.loss(
            model, batches[index % len(batches)], DEMAND_EPOCHS + epoch, index
        )
        return loss + self.cfg.demand_weight * demand

    def demand_batches(self, epoch: int) -> list[np.ndarray]:
        """The demand batches kept alongside label epoch ``epoch`` (a seed of their own)."""
        if self._demand_epoch[0] != epoch:
            self._demand_epoch = (epoch, self.demand.batches(DEMAND_EPOCHS + epoch))
        return self._demand_epoch[1]

    def validate(self, model: ORPRModel) -> float:
        """Cross-entropy (no smoothing) at ``z = μ`` on the validation states."""
        if len(self.val_rows) == 0:
            return float("nan")
        logits = predict_logits(
            model, self.data, self.table, self.val_rows, 4 * self.cfg.batch_size
        )
        logp = torch.log_softmax(torch.from_numpy(logits), dim=-1).numpy()
        return float(-logp[np.arange(len(self.val_rows)), self.table.v_index[self.val_rows]].mean())

    def optimizer(self, model: ORPRModel, epoch: int) -> torch.optim.Optimizer:
        model.set_dropout(self.cfg.label_dropout)
        model.requires_grad_(False)
        model.decision_head.requires_grad_(True)
        groups = [{"params": list(model.decision_head.parameters()), "lr": self.cfg.label_lr}]
        if not self.frozen(epoch):
            model.encoder.requires_grad_(True)
            model.sales_head.requires_grad_(True)
            shared = [*model.encoder.parameters(), *model.sales_head.parameters()]
            groups.append({"params": shared, "lr": self.cfg.label_lr * self.cfg.unfreeze_lr_scale})
        return torch.optim.AdamW(groups, lr=self.cfg.label_lr, weight_decay=self.cfg.weight_decay)


def predict_logits(
    model: ORPRModel, data: DemandData, table: LabelTable, rows: np.ndarray, batch: int = 1024
) -> np.ndarray:
    """Decision logits at ``z = μ`` for labelled states ``rows``, ``(n, n_bins)``."""
    was_training = model.training
    model.eval()
    out = np.zeros((len(rows), model.spec.n_bins), dtype=np.float32)
    with torch.inference_mode():
        for i in range(0, len(rows), batch):
            x = to_tensors(label_features(data, table, rows[i : i + batch], model.spec.features))
            out[i : i + batch] = model.decision_logits(x).numpy()
    model.train(was_training)
    return out


def label_accuracy(
    model: ORPRModel, data: DemandData, table: LabelTable, rows: np.ndarray, period: str
) -> Accuracy:
    """Exact and ±1-bin agreement of the decision at ``z = μ`` with the labels ``rows``."""
    if len(rows) == 0:
        return Accuracy(float("nan"), float("nan"), 0, period)
    pred = predict_logits(model, data, table, rows).argmax(axis=1)
    gap = np.abs(pred - table.v_index[rows])
    return Accuracy(float((gap == 0).mean()), float((gap <= 1).mean()), len(rows), period)
