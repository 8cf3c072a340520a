"""Expert guidance for promotions (DESIGN §8): planners' labels, or the built-in planner rule.

Symbols: ``t`` a decision day; ``L, R`` lead time and review period (days); ``v*`` the OR
label and ``v_expert`` the expert's inventory days; ``u_c`` category ``c``'s promotion uplift.

**Promotion states.** A labelled state is a promotion state when a promotion is planned on a
day of ``[t, t + lookahead)`` — by default ``lookahead = L + R``, the days an order placed at
``t`` arrives for and covers.

**Expert labels file** (``rl.expert``, CSV or Parquet): columns ``unit_id``, ``date``
(YYYY-MM-DD) and ``v_expert`` (inventory days ≥ 0, at most the grid's largest value). Every
row must name a unit of the panel and a date of its calendar; a row that does not, a missing
column or a value that is not a finite number ≥ 0 is refused with the file, column and
value. Rows whose (unit, date) is not a labelled promotion state are not used (counted in the
fine-tune's figures).

**Planner rule** (no file): ``v_expert = v* · (1 + (u_c − 1) · f)``, where ``f`` is the share
of promotion days in ``[t, t + lookahead)`` and ``u_c`` the category's observed uplift —
the median over its units of (mean latent demand on promotion days ÷ mean on other days),
listed training days only, clipped to ``[1, rl.uplift_cap]``. The result is rounded up to the
grid and capped at its largest value. It encodes the planner's habit of scaling cover by the
expected promotion lift, which OR labels driven by a service budget tend to under-provide.

**The stage-4 task** (``ExpertTask``, an ``orpr.rl.tasks.RLTask``): RLOO on the promotion
states with ``v_expert`` in ``r_rule``, after ``rl.expert_warm_epochs`` of cross-entropy to
``v_expert`` (plus ``β·KL`` to the stage-3 policy, the reference here).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl
import torch

from orpr.config import RLConfig
from orpr.data.panel import Panel
from orpr.errors import InputError
from orpr.model.network import ORPRModel, label_cross_entropy
from orpr.rl.outcomes import Outcomes
from orpr.rl.rloo import categorical_entropy, categorical_kl
from orpr.rl.tasks import RLTask
from orpr.training.demand import DemandData
from orpr.training.labels import LabelTable
from orpr.training.loop import batch_means, batch_share, share_weighted

EXPERT_COLUMNS = ("unit_id", "date", "v_expert")
EXPERT_STAGE = 3


class ExpertTargets(NamedTuple):
    """Promotion states and their expert targets.

    Attributes:
        rows: label-table rows of the promotion states that carry a target ``(n,)``.
        v_index: the target's grid bin ``(n,)``.
        v_expert: the target, inventory days ``(n,)``.
        source: ``"file: PATH"`` or ``"planner rule"``.
        uplift: the rule's uplift per category (empty for a file).
        unused: file rows that matched no labelled promotion state.
    """

    rows: np.ndarray
    v_index: np.ndarray
    v_expert: np.ndarray
    source: str
    uplift: dict[str, float]
    unused: int


def promotion_states(panel: Panel, table: LabelTable, lookahead: int = 0) -> np.ndarray:
    """Whether each labelled state has a promotion planned in ``[t, t + lookahead)`` (bool).

    ``lookahead = 0`` uses each unit's ``L + R``.
    """
    return promotion_share(panel, table, lookahead) > 0


def promotion_share(panel: Panel, table: LabelTable, lookahead: int = 0) -> np.ndarray:
    """Share of days of ``[t, t + lookahead)`` with a promotion planned, per labelled state."""
    span = (
        (panel.units.lead_time + panel.units.review_period)[table.units]
        if lookahead <= 0
        else np.full(len(table.units), lookahead)
    )
    promo = np.concatenate(
        [np.zeros((panel.n_units, 1)), np.cumsum(panel.promo > 0, axis=1)], axis=1
    )
    stop = np.minimum(table.days + span, panel.n_days)
    days = np.maximum(stop - table.days, 1)
    return (promo[table.units, stop] - promo[table.units, table.days]) / days


def category_uplift(panel: Panel, stop: int, cap: float) -> dict[str, float]:
    """Median over each top-level category's units of promo-day ÷ other-day mean demand.

    Listed days before ``stop`` only; units without both kinds of day do not count; a
    category without such units gets 1. Clipped to ``[1, cap]``.
    """
    listed = panel.active[:, :stop]
    demand = np.where(listed, panel.demand[:, :stop], 0.0)
    promo = (panel.promo[:, :stop] > 0) & listed
    other = ~promo & listed
    n_promo, n_other = promo.sum(1), other.sum(1)
    ok = (n_promo > 0) & (n_other > 0)
    mean_promo = np.where(ok, (demand * promo).sum(1) / np.maximum(n_promo, 1), 0.0)
    mean_other = np.where(ok, (demand * other).sum(1) / np.maximum(n_other, 1), 0.0)
    ok &= mean_other > 0
    ratio = np.where(ok, mean_promo / np.where(ok, mean_other, 1.0), np.nan)
    out = {}
    category = panel.units.category.astype(str)
    for c in np.unique(category):
        r = ratio[(category == c) & ok]
        out[str(c)] = float(np.clip(np.median(r), 1.0, cap)) if r.size else 1.0
    return out


def planner_rule(
    panel: Panel,
    table: LabelTable,
    rows: np.ndarray,
    stop: int,
    cap: float,
    lookahead: int = 0,
) -> tuple[np.ndarray, dict[str, float]]:
    """The rule's ``v_expert`` (days) for label-table ``rows``, and the uplift per category."""
    uplift = category_uplift(panel, stop, cap)
    category = panel.units.category.astype(str)[table.units[rows]]
    u = np.array([uplift[c] for c in category], dtype=np.float64)
    share = promotion_share(panel, table, lookahead)[rows]
    v_star = table.grid[table.v_index[rows]]
    return v_star * (1.0 + (u - 1.0) * share), uplift


def snap_up(v: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The index of the smallest grid value ≥ ``v`` (the largest bin when ``v`` exceeds it)."""
    index = np.searchsorted(grid, v - 1e-9 * np.maximum(1.0, np.abs(v)), side="left")
    return np.minimum(index, len(grid) - 1)


def read_expert_file(path: str | Path, panel: Panel, grid: np.ndarray) -> pl.DataFrame:
    """The expert labels file as ``(unit, day, v_expert)`` panel indices, validated.

    Raises:
        InputError: missing file or column, unknown unit or date, bad ``v_expert``.
    """
    file = Path(path)
    frame = _read_frame(file)
    value = _expert_values(frame, file, grid)
    wanted = frame["unit_id"].cast(pl.String).to_numpy().astype(str)
    units = panel.units.index_of(wanted)
    if (units < 0).any():
        i = int(np.argmax(units < 0))
        raise _bad_row(file, "unit not in the data", "unit_id", i, wanted[i])
    day = _expert_days(frame, file, panel)
    return pl.DataFrame({"unit": units, "day": day, "v_expert": value.to_numpy()})


def _read_frame(file: Path) -> pl.DataFrame:
    """The file's rows (CSV, or Parquet by its suffix) with every expert column present."""
    if not file.is_file():
        raise InputError(str(file), "expert labels file not found")
    try:
        frame = (
            pl.read_parquet(file)
            if file.suffix.lower() in (".parquet", ".pq")
            else pl.read_csv(file, infer_schema_length=10000)
        )
    except Exception as err:  # noqa: BLE001 — any reader failure is the file's fault
        raise InputError(
            str(file), f"cannot read as CSV or Parquet ({type(err).__name__})"
        ) from None
    for col in EXPERT_COLUMNS:
        if col not in frame.columns:
            raise InputError(str(file), "missing column", column=col)
    if frame.height == 0:
        raise InputError(str(file), "no rows", column="v_expert")
    return frame


def _expert_values(frame: pl.DataFrame, file: Path, grid: np.ndarray) -> pl.Series:
    """``v_expert`` as floats, each a finite number in ``[0, largest grid value]``."""
    value = frame["v_expert"].cast(pl.Float64, strict=False)
    bad = value.is_null() | ~value.is_finite() | (value < 0)
    if bad.any():
        i = int(bad.arg_max())
        raise _bad_row(file, "expected a number ≥ 0", "v_expert", i, frame["v_expert"][i])
    above = value > grid[-1] + 1e-9
    if above.any():
        i = int(above.arg_max())
        message = f"above the largest decision on the grid ({grid[-1]:g} days)"
        raise _bad_row(file, message, "v_expert", i, value[i])
    return value


def _expert_days(frame: pl.DataFrame, file: Path, panel: Panel) -> np.ndarray:
    """Each row's panel day index; every date a YYYY-MM-DD within the panel's calendar."""
    dates = frame["date"].cast(pl.String).str.to_date("%Y-%m-%d", strict=False)
    if dates.is_null().any():
        i = int(dates.is_null().arg_max())
        raise _bad_row(file, "expected a date YYYY-MM-DD", "date", i, frame["date"][i])
    day = (dates.to_numpy().astype("datetime64[D]") - panel.dates[0]).astype(np.int64)
    outside = (day < 0) | (day >= panel.n_days)
    if outside.any():
        i = int(np.argmax(outside))
        raise _bad_row(file, "date outside the data's calendar", "date", i, str(dates[i]))
    return day


def _bad_row(file: Path, message: str, column: str, row: int, value: object) -> InputError:
    """The error for row ``row`` (0-based) of the expert file."""
    return InputError(str(file), message, column=column, where=f"row {row + 1}", value=value)


def expert_targets(
    panel: Panel,
    table: LabelTable,
    stop: int,
    expert: str = "",
    cap: float = 3.0,
    lookahead: int = 0,
) -> ExpertTargets:
    """Expert targets of the labelled promotion states (file when given, else the rule)."""
    promo_rows = np.flatnonzero(promotion_states(panel, table, lookahead))
    if expert:
        file = read_expert_file(expert, panel, table.grid)
        states = pl.DataFrame(
            {"unit": table.units[promo_rows], "day": table.days[promo_rows], "row": promo_rows}
        )
        joined = file.join(states, on=["unit", "day"], how="inner").sort("row")
        rows = joined["row"].to_numpy()
        v = joined["v_expert"].to_numpy()
        index = np.abs(table.grid[None, :] - v[:, None]).argmin(1)  # nearest decision
        return ExpertTargets(
            rows, index, table.grid[index], f"file: {expert}", {}, file.height - len(rows)
        )
    v, uplift = planner_rule(panel, table, promo_rows, stop, cap, lookahead)
    index = snap_up(v, table.grid)
    return ExpertTargets(promo_rows, index, table.grid[index], "planner rule", uplift, 0)


class ExpertTask(RLTask):
    """Stage 4: promotion states, ``v_expert`` in ``r_rule``, a cross-entropy warm start."""

    name = "expert"
    stage = EXPERT_STAGE

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
        rows: np.ndarray,
        v_index: np.ndarray,
        log_m: float = 0.0,
    ):
        target = table.v_index.copy()
        target[rows] = v_index
        stage_cfg = dataclasses.replace(
            cfg, beta=cfg.expert_beta, epochs=cfg.expert_epochs, omega=cfg.expert_omega, dual_lr=0.0
        )
        super().__init__(
            data,
            table,
            outcomes,
            reference,
            stage_cfg,
            days,
            seed,
            val_samples,
            pool=rows,
            target=target,
            log_m=log_m,
        )
        self.warm_epochs = min(cfg.expert_warm_epochs, cfg.expert_epochs)
        self.warm_lr = cfg.expert_warm_lr

    def phase(self, epoch: int) -> str:
        return "warm start" if epoch < self.warm_epochs else "rloo"

    def optimizer(self, model: ORPRModel, epoch: int) -> torch.optim.Optimizer:
        opt = super().optimizer(model, epoch)
        if epoch < self.warm_epochs:  # cross-entropy steps take the label-training rate
            for group in opt.param_groups:
                group["lr"] = self.warm_lr * group["lr"] / self.cfg.lr
        return opt

    def objective(self, stock_share: float, loss_share: float) -> float:
        """Validation objective of the promotion stage: ``−mean R`` of the mode action (the
        rule reward toward ``v_expert`` with the simulated reward, ``m`` held fixed)."""
        return -self.val_stats["val_reward"]

    def loss(self, model: ORPRModel, batch: np.ndarray, epoch: int, index: int) -> torch.Tensor:
        if epoch >= self.warm_epochs:
            return super().loss(model, batch, epoch, index)
        share = batch_share(batch)
        h, h_ref = self.encode(model, batch)
        head, ref = model.decision_head, self.reference.decision_head
        mu, logvar = head.posterior(h)
        eps = torch.randn((share.total, *mu.shape[1:]), dtype=mu.dtype)[share.rows]
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = head.logits(z, h)
        with torch.no_grad():
            ref_logits = ref.logits(ref.posterior(h_ref)[0], h_ref)
        kl = categorical_kl(head.logits(mu, h), ref_logits)
        ce = label_cross_entropy(logits, torch.from_numpy(self.target[batch]))
        self.step_stats = batch_means(
            {
                "cross_entropy": ce.detach(),
                "kl": kl.detach(),
                "entropy": categorical_entropy(logits.detach()),
            },
            share,
        )
        return share_weighted(ce + self.cfg.beta * kl.mean(), share)
