"""The ``pretrained`` policy: the stage-2 model's decision head, ``z = μ``, mode of the logits.

Symbols: ``t`` the review day; ``W`` days of history; ``d̂_t`` the reference rate; ``v`` the
decision in inventory days, read off the label grid at the arg-max of the logits.

On each review day the policy builds the three streams from ``ctx.history`` (only its last
``W`` days are needed) and the known calendar (promotions, prices and holidays are planned in
advance, so the calendar of the held-out days is known; their demand is not), and the current
position from the simulator (``ctx.on_hand``, ``ctx.pipeline``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from orpr.baselines.contract import DecisionContext
from orpr.baselines.registry import FitInputs, PolicySpec, register
from orpr.data.panel import Panel
from orpr.errors import InputError
from orpr.model.checkpoint import load_model
from orpr.model.features import Calendar, Position, build_features, feature_source, known_calendar
from orpr.model.network import ORPRModel, to_tensors
from orpr.model.run_dir import MODEL_POLICIES, has_model, model_dir


@dataclass
class PretrainedPolicy:
    """Decide with a trained model.

    Attributes:
        model: the trained model (eval mode).
        grid: inventory days of each logit ``(n_bins,)``.
        calendar: the known calendar of the whole panel.
        alpha: service target ``α`` fed to the objective stream.
        batch_size: states per forward pass.
    """

    model: ORPRModel
    grid: np.ndarray
    calendar: Calendar
    alpha: float
    batch_size: int = 4096
    name: str = "pretrained"
    oracle: bool = False
    promo_model: ORPRModel | None = None
    span: np.ndarray | None = None

    def decide(self, ctx: DecisionContext) -> np.ndarray:
        fspec = self.model.spec.features
        start = max(0, ctx.day - fspec.window)
        src = feature_source(ctx.history.take_days(start, ctx.day), fspec, day0=start)
        n = len(ctx.units)
        pos = Position(np.full(n, self.alpha), ctx.on_hand, ctx.pipeline)
        x = build_features(src, self.calendar, ctx.units, ctx.day, ctx.d_hat, pos, fspec)
        best = np.zeros(n, dtype=np.int64)
        promo = self.promotion_rows(ctx)
        for model, rows in (
            (self.model, np.flatnonzero(~promo)),
            (self.promo_model, np.flatnonzero(promo)),
        ):
            if len(rows):
                best[rows] = self._modes(model, type(x)(*(a[rows] for a in x)))
        return self.grid[best]

    def promotion_rows(self, ctx: DecisionContext) -> np.ndarray:
        """Units with a promotion planned in ``[t, t + span)`` (none without a promotion model)."""
        if self.promo_model is None or self.span is None:
            return np.zeros(len(ctx.units), dtype=bool)
        promo = self.calendar.promo
        stop = np.minimum(ctx.day + self.span[ctx.units], promo.shape[1])
        days = np.arange(promo.shape[1])[None, :]
        window = (days >= ctx.day) & (days < stop[:, None])
        return ((promo[ctx.units] > 0) & window).any(1)

    def _modes(self, model: ORPRModel, x) -> np.ndarray:
        out = np.zeros(len(x[0]), dtype=np.int64)
        with torch.inference_mode():
            for i in range(0, len(out), self.batch_size):
                part = type(x)(*(a[i : i + self.batch_size] for a in x))
                out[i : i + self.batch_size] = (
                    model.decision_logits(to_tensors(part)).argmax(1).numpy()
                )
        return out


def load_policy(
    run_dir: str | Path,
    panel: Panel,
    alpha: float | None = None,
    batch_size: int = 4096,
    threads: int | None = None,
    name: str = "pretrained",
    promo_dir: str | Path | None = None,
    lookahead: int = 0,
) -> PretrainedPolicy:
    """The ``pretrained`` policy of a trained model in ``run_dir``.

    Args:
        run_dir: directory holding ``model.safetensors`` and ``model.json``.
        panel: the panel the policy will be walked over (its calendar is read).
        alpha: service target; default: the labels' median α recorded with the model.
        batch_size: states per forward pass.
        threads: torch threads of this process for inference (None: leave as is).
        name: the policy's name in reports (pretrained, orpr, orpr_expert).
        promo_dir: a second model that decides for units with a promotion planned in
            ``[t, t + lookahead)`` (``orpr_expert``: the promotion fine-tune, while the
            stage-3 model in ``run_dir`` keeps every other decision).
        lookahead: days of that window (0 = each unit's ``L + R``).

    Raises:
        InputError: no trained model in ``run_dir``.
    """
    if not str(run_dir) or not has_model(run_dir):
        raise InputError(
            str(run_dir) or "model.checkpoint",
            "no trained model here (run `orpr pretrain` and set model.checkpoint to its --out)",
        )
    if threads is not None:
        torch.set_num_threads(max(1, threads))
    model, grid, meta = load_model(run_dir)
    a = alpha if alpha is not None else float(meta.get("alpha", 0.95))
    promo_model, span = None, None
    if promo_dir is not None:
        promo_model, promo_grid, _ = load_model(promo_dir)
        if list(promo_grid) != list(grid):
            raise InputError(str(promo_dir), "the promotion model decides on another grid")
        u = panel.units
        span = (
            (u.lead_time + u.review_period)
            if lookahead <= 0
            else np.full(u.n, lookahead, dtype=np.int64)
        )
    return PretrainedPolicy(
        model,
        np.asarray(grid),
        known_calendar(panel),
        a,
        batch_size,
        name,
        promo_model=promo_model,
        span=span,
    )


def fit_model_policy(name: str, inputs: FitInputs) -> PretrainedPolicy:
    """A model policy of the run directory ``model.checkpoint``: ``orpr_expert`` is the
    stage-3 model with the promotion fine-tune deciding promotion states."""
    cfg = inputs.cfg
    if name == "orpr_expert":
        return load_policy(
            model_dir(cfg.model.checkpoint, "orpr"),
            inputs.panel,
            threads=cfg.pretrain.threads,
            name=name,
            promo_dir=model_dir(cfg.model.checkpoint, name),
            lookahead=cfg.rl.expert_lookahead,
        )
    return load_policy(
        model_dir(cfg.model.checkpoint, name),
        inputs.panel,
        threads=cfg.pretrain.threads,
        name=name,
    )


def model_alphas(
    name: str, inputs: FitInputs, alphas: tuple[float, ...]
) -> Iterator[tuple[float, PretrainedPolicy]]:
    """The model policy loaded once, then fed each α in its objective stream."""
    base = fit_model_policy(name, inputs)
    for a in alphas:
        yield a, dataclasses.replace(base, alpha=a)


for _name in MODEL_POLICIES:
    register(
        PolicySpec(
            _name,
            functools.partial(fit_model_policy, _name),
            knob="alpha",
            sweep=functools.partial(model_alphas, _name),
            model=True,
        )
    )
