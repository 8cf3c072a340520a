"""Run configuration: one frozen dataclass per stage, loaded from a TOML preset.

Every field carries a one-line docstring with its unit. ``load_config`` reads a preset,
applies dotted ``--set section.key=value`` overrides, and rejects unknown keys by listing
the valid ones. The resolved config is written into every run directory.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from orpr.errors import InputError

FORMATS = ("synthetic", "stationary", "canonical", "frn", "m5")


@dataclass(frozen=True)
class DataConfig:
    """Where the panel comes from."""

    format: str = "synthetic"
    """Input format: synthetic | canonical | frn | m5."""
    path: str = ""
    """Data file (or folder, for m5 and canonical with a unit table); relative paths are
    resolved from the working directory. Empty for synthetic."""
    max_units: int = 0
    """Keep a seeded random sample of this many units (0 = all units)."""
    sample_seed: int = 0
    """Seed of the unit sample."""
    latent: str = "hourly_profile"
    """Latent-demand estimator for censored days: hourly_profile | sales (no correction)."""


@dataclass(frozen=True)
class SyntheticConfig:
    """The embedded retail-like generator (used when ``data.format = "synthetic"``)."""

    units: int = 400
    """Number of units (products × stores)."""
    days: int = 182
    """Number of days."""
    start: str = "2024-01-01"
    """First date, YYYY-MM-DD."""
    stores: int = 8
    """Number of stores the units are spread over."""
    categories: int = 6
    """Number of top-level categories."""
    promo_rate: float = 0.08
    """Share of unit-days on promotion."""
    stockout_rate: float = 0.25
    """Target share of unit-days with some out-of-stock hours in the recorded history."""
    seed: int = 7
    """Seed of the generator."""


@dataclass(frozen=True)
class StationaryConfig:
    """The stationary benchmark instance (used when ``data.format = "stationary"``): i.i.d.
    daily demand, one lead time, daily review, whole units, no promotions and no censoring —
    the classical lost-sales model that ``orpr oracle lost-sales`` solves exactly."""

    demand: str = "poisson:5"
    """Daily demand law: poisson:MEAN | geometric:MEAN, units per day."""
    lead_time: int = 2
    """``L``, days from order to arrival."""
    penalty: float = 9.0
    """``p``, cost per lost unit."""
    holding: float = 1.0
    """``h``, cost per unit of end-of-day on-hand per day."""
    units: int = 256
    """Independent replications of the instance (units), count."""
    days: int = 1200
    """Days per unit (training and held-out), days."""
    start: str = "2024-01-01"
    """First date, YYYY-MM-DD."""
    seed: int = 3
    """Seed of the demand draws."""


@dataclass(frozen=True)
class UnitRulesConfig:
    """Replenishment parameters for units whose data does not carry them.

    Each parameter is drawn per top-level category (seeded), so every unit of a category
    shares it; the draw is uniform over the choices (integers) or the range (reals).
    """

    lead_time: tuple[int, ...] = (1, 2, 3)
    """Lead-time choices, days from order to arrival (0 = arrives before that day's demand)."""
    review_period: tuple[int, ...] = (1,)
    """Review-period choices, days between order opportunities."""
    unit_cost: tuple[float, float] = (1.0, 10.0)
    """Range of unit value c, money per unit."""
    holding_rate: tuple[float, float] = (0.002, 0.01)
    """Range of holding rate h, fraction of unit value per unit-day."""
    penalty_ratio: tuple[float, float] = (0.3, 1.0)
    """Range of the lost-sale penalty p as a fraction of unit value, money per lost unit ÷ c."""
    seed: int = 11
    """Seed of the per-category draws."""
    whole_units: bool = False
    """Goods come in whole units: order-up-to levels are rounded to whole numbers, on/off."""


@dataclass(frozen=True)
class SplitConfig:
    """The time split between the training period and the held-out period."""

    holdout_days: int = 28
    """Length of the held-out period at the end of the panel, days."""
    history_days: int = 28
    """Days of history behind the reference rate d̂ (mean latent demand), days."""
    rate_floor: float = 0.01
    """Floor of the reference rate d̂, units per day (keeps inventory days finite)."""
    warmup_days: int = 14
    """Days simulated before a scored window (policy deciding, not scored), days."""
    holdout_locations: float = 0.0
    """Stores never fitted or tuned on and scored apart: a fraction (< 1) or a whole count
    (≥ 1) of the stores, drawn with the run's seed (0 = none), fraction or stores."""


@dataclass(frozen=True)
class PolicyConfig:
    """The baselines' service knobs."""

    alpha: float = 0.95
    """Service target α: allowed lost demand is (1 − α) of demand, in value."""
    base_stock_quantile: float = 0.9
    """Quantile of recent (L + R)-day demand that base_stock orders up to."""
    base_stock_history_days: int = 56
    """Days of recent history whose (L + R)-day demand sums base_stock takes the quantile of."""
    safety_days: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
    """Safety-day grid that the incumbent's per-category tuning searches, days."""
    incumbent_objective: str = "service"
    """What the incumbent's tuning aims at: service (least safety reaching α) | cost (least
    holding + lost-sales cost on the training period)."""


@dataclass(frozen=True)
class EvalConfig:
    """The rolling backtest."""

    policies: tuple[str, ...] = ("incumbent", "base_stock")
    """Policies to evaluate, by name."""
    frontier: bool = True
    """Sweep each policy family over its service knob: the service–cost frontier, on/off."""
    frontier_safety_offsets: tuple[float, ...] = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0)
    """Days added to every category's tuned incumbent safety (0 = as tuned, always run), days."""
    frontier_quantiles: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
    """Quantiles of (L + R)-day demand that base_stock is swept over, in (0, 1)."""
    frontier_alphas: tuple[float, ...] = (0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999)
    """Service targets α that or_hindsight re-solves its knapsack at, in (0, 1)."""
    frontier_model_alphas: tuple[float, ...] = ()
    """Service targets α fed to the model policies' objective stream (empty = no sweep: each
    sweep point is a full backtest with model inference), in (0, 1)."""
    report: bool = True
    """Write report.html next to metrics.json when evaluate is given --out, on/off."""


@dataclass(frozen=True)
class LabelsConfig:
    """Stage 1: rolling OR labels from candidate replay and the group knapsack (DESIGN §5)."""

    v_max: float = 30.0
    """Largest inventory-days candidate v, days (the grid is 0, v_step, …, v_max)."""
    v_step: float = 0.5
    """Spacing of the v grid, days."""
    horizon_days: int = 0
    """Replay horizon H, days (0 = each unit's L + 2R); never below horizon_min or L + 1."""
    horizon_min: int = 7
    """Shortest replay horizon H, days."""
    group: str = "all"
    """Knapsack decision group: all (every unit reviewing that day) | category (per top level)."""
    alpha_mode: str = "given"
    """α source: given (policy.alpha) | in_stock | turnover (bisection on α to reach target) |
    cost (no service budget: each unit takes its least h·c·I + p·lost candidate)."""
    scenarios: int = 0
    """Futures each candidate is replayed over: 0 = the realised demand (hindsight labels) |
    K > 0 = the mean over K futures resampled day by day from the unit's own last
    scenario_days (no realised demand on or after the decision day), count."""
    scenario_days: int = 56
    """Days of the past the futures are resampled from, days."""
    continuation: str = "hold"
    """What a candidate does after its decision day: hold (order up to v over H) | incumbent
    (order up to the tuned incumbent's days: labels improve on today's rule)."""
    target: float = 0.95
    """Calibration target: in-stock rate in (0, 1), or turnover days > 0."""
    alpha_range: tuple[float, float] = (0.5, 0.999)
    """Bracket of the α bisection, service fraction."""
    calibration_steps: int = 8
    """Bisection steps of the α calibration (each replays all labels), steps."""
    lam_range: tuple[float, float] = (1e-4, 1e8)
    """Bracket of the λ bisection, days (value-days of stock per value of lost demand)."""
    lam_steps: int = 32
    """Geometric bisection steps on λ (a lattice of 2^steps intervals), steps."""
    milp_groups: int = 5
    """Decision groups sampled for the exact MILP check (0 = no check), groups."""
    milp_max_units: int = 40
    """Largest MILP check: bigger groups are subsampled to this many units, units."""
    milp_time_limit: float = 20.0
    """HiGHS time limit per MILP check, seconds."""

    @property
    def grid(self) -> tuple[float, ...]:
        """The candidate inventory days v, ascending, days."""
        count = int(round(self.v_max / self.v_step)) + 1
        return tuple(round(k * self.v_step, 10) for k in range(count))


@dataclass(frozen=True)
class ModelConfig:
    """The foundation model's sizes (DESIGN §6) and where a trained one lives."""

    window: int = 56
    """W: days of sales history per state, days (a multiple of patch)."""
    patch: int = 7
    """Days per sales or calendar token, days."""
    calendar_days: int = 14
    """Days of known calendar (promo, discount, holiday) from the decision day, days."""
    pipeline_slots: int = 8
    """Pipeline slots in the position token (later orders are summed into the last), slots."""
    hash_buckets: int = 1536
    """Rows of the hashed category-level and location embedding table, rows."""
    d_model: int = 128
    """Token width, features."""
    layers: int = 3
    """Transformer blocks, count."""
    heads: int = 4
    """Attention heads, count."""
    d_ff: int = 512
    """Hidden width of each block's MLP, features."""
    dropout: float = 0.1
    """Encoder dropout in demand pretraining (forecasts hold up better on later days), fraction."""
    latent: int = 16
    """Dims of the decision head's latent z, dims."""
    decoder_hidden: int = 256
    """Hidden width of the decision decoder (z, h) → logits, features."""
    horizon: int = 14
    """Forecast days of the sales head, days."""
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    """Quantile levels of the sales head, ascending, in (0, 1)."""
    checkpoint: str = ""
    """Directory of a trained model (model.safetensors + model.json) the pretrained policy loads."""


@dataclass(frozen=True)
class TrainConfig:
    """The two training stages: demand pretraining, then the decision head on OR labels."""

    threads: int = 1
    """CPU threads torch may use (more than the idle cores slows torch many-fold), threads."""
    batch_size: int = 256
    """States per optimiser step, states."""
    min_history: int = 14
    """History a training state needs before its day t, days."""
    val_days: int = 14
    """Last days of the training period held out for validation and early stopping, days."""
    val_samples: int = 4096
    """States in each validation set (sampled once, seeded), states."""
    demand_epochs: int = 6
    """Epochs of demand pretraining (encoder + sales head, pinball loss), epochs."""
    demand_samples: int = 32768
    """Unit-days sampled afresh for each demand epoch, states."""
    demand_lr: float = 1e-3
    """AdamW learning rate of demand pretraining, per step."""
    label_epochs: int = 8
    """Epochs of decision-head training on OR labels, epochs."""
    label_samples: int = 24576
    """Labelled states sampled afresh for each label epoch, states."""
    label_lr: float = 1e-3
    """AdamW learning rate of the decision head, per step."""
    frozen_epochs: int = 3
    """Label epochs with the encoder frozen before it is unfrozen, epochs."""
    unfreeze_lr_scale: float = 0.1
    """Encoder learning rate as a fraction of label_lr once unfrozen (0 = stays frozen), ratio."""
    beta_vae: float = 0.01
    """Weight of KL(q(z|h) ‖ N(0, I)) in the label loss, per nat."""
    demand_weight: float = 2.0
    """Weight of the demand pinball loss while the encoder trains on labels, ratio."""
    label_dropout: float = 0.0
    """Encoder dropout while training on labels (model.dropout is demand pretraining's), rate."""
    smoothing: float = 0.1
    """Label mass spread onto the ±1 neighbouring grid bins, fraction."""
    weight_decay: float = 0.01
    """AdamW weight decay, per step ÷ learning rate."""
    grad_clip: float = 1.0
    """Gradient norm clip, L2 norm."""
    patience: int = 2
    """Epochs without validation improvement before a stage stops early, epochs."""
    heldout_samples: int = 20000
    """Held-out states (seeded sample) the WAPE and the label accuracy are measured on, states."""
    checkpoint_every: int = 200
    """Optimiser steps between training-state checkpoints, steps."""
    max_steps: int = 0
    """Stop (resumably) once this many optimiser steps are done in all (0 = no limit), steps."""


@dataclass(frozen=True)
class RLConfig:
    """Stage 3 (RLOO alignment, DESIGN §7) and stage 4 (expert promotion fine-tune, §8)."""

    samples: int = 8
    """K: actions sampled per decision state (leave-one-out needs at least 2), actions."""
    omega: float = 0.5
    """ω: weight of the rule reward r_rule against the simulated reward r_sim, in [0, 1]."""
    beta: float = 0.05
    """β: weight of KL(π ‖ π_ref) in the loss, per nat."""
    rule_scale: float = 0.0
    """Grid distance, in days, at which r_rule reaches −1 (0 = the grid's span), days."""
    against_weight: float = 2.0
    """Weight of r_rule when v_k deviates against the direction the label moves the position, ratio."""
    alpha: float = 0.0
    """Service target of stage 3, the lost share of demand value it may leave (1 − α) (0 =
    the labels' α), fraction."""
    dual_lr: float = 0.05
    """Step of log m per optimiser step, m the multiplier on λ* that holds the mode's lost
    share at 1 − α (0 = λ* as labelled), per step."""
    reward: str = "pareto"
    """r_sim: pareto (±1 when one outcome Pareto-dominates the reference's, else the λ*-priced
    tie-break) | cost (the λ*-priced cost saved against the reference, unclipped), name."""
    tie_scale: str = "sale"
    """Scale of r_sim's λ*-scalarised tie-break: sale (demand value of the window) | reference
    (the reference action's stock + λ*·loss), name."""
    epochs: int = 6
    """Epochs of RLOO, epochs."""
    states: int = 16384
    """Labelled states sampled afresh per epoch, states."""
    batch_size: int = 256
    """States per optimiser step (each with K actions), states."""
    lr: float = 2e-4
    """AdamW learning rate of the decision head, per step."""
    encoder_lr_scale: float = 0.0
    """Encoder learning rate as a fraction of lr (0 = encoder frozen), ratio."""
    expert: str = ""
    """Expert labels file (unit_id, date, v_expert; CSV or Parquet); empty = the built-in planner rule."""
    expert_epochs: int = 4
    """Epochs of the promotion fine-tune (stage 4), epochs."""
    expert_warm_epochs: int = 1
    """Of those, epochs of cross-entropy warm start on v_expert before RLOO, epochs."""
    expert_omega: float = 0.8
    """ω of stage 4: planners' guidance weighs more on promotions than the labels elsewhere, in [0, 1]."""
    expert_warm_lr: float = 1e-3
    """AdamW learning rate of the warm start (the RLOO epochs after it use lr), per step."""
    expert_beta: float = 0.05
    """β of stage 4: KL to the general (stage-3) policy, per nat."""
    expert_lookahead: int = 0
    """Days after t whose promotions make a state a promotion state (0 = L + R), days."""
    uplift_cap: float = 3.0
    """Largest promotion uplift the planner rule applies, ratio."""


@dataclass(frozen=True)
class ComputeConfig:
    """Where the shardable stages run: in-process or on a Ray cluster."""

    engine: str = "local"
    """local | ray, name."""
    address: str = ""
    """Ray cluster address (empty = start a local Ray instance), host:port or 'auto'."""
    shards: int = 1
    """Unit shards of label generation, evaluation and recommendation, count."""
    workers: int = 1
    """Data-parallel training workers (Ray Train), count."""


@dataclass(frozen=True)
class DidConfig:
    """``orpr did``: difference-in-differences of a deployment and its simulated pilot."""

    bin_days: int = 7
    """Width of the event study's lead and lag bins relative to the start, days."""
    policy: str = "base_stock"
    """Treatment policy of the simulated pilot (the controls stay on incumbent), name."""
    treated_share: float = 0.5
    """Share of units the simulated pilot treats (a seeded random draw), in (0, 1)."""
    seed: int = 0
    """Seed of the simulated pilot's draw of treated units."""
    pre_days: int = 0
    """Days before the pilot's start that it observes (0 = as many as split.holdout_days), days."""


@dataclass(frozen=True)
class Config:
    """A whole run's configuration."""

    name: str = "run"
    """Run name, used in reports."""
    seed: int = 0
    """Master seed of everything not seeded on its own."""
    data: DataConfig = field(default_factory=DataConfig)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    stationary: StationaryConfig = field(default_factory=StationaryConfig)
    units: UnitRulesConfig = field(default_factory=UnitRulesConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrain: TrainConfig = field(default_factory=TrainConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    did: DidConfig = field(default_factory=DidConfig)


def load_config(
    path: str | Path | None = None,
    overrides: typing.Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> Config:
    """Read a TOML preset, apply ``key=value`` overrides and return a validated Config.

    Args:
        path: TOML file; ``None`` gives the defaults.
        overrides: dotted ``section.key=value`` strings (value in TOML syntax, or a bare string).
        extra: already-parsed dotted overrides (``{"data.path": "x.parquet"}``), applied last.
    """
    raw: dict[str, Any] = {}
    source = str(path) if path is not None else "<defaults>"
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(str(path), "config file not found") from None
        except tomllib.TOMLDecodeError as err:
            raise InputError(str(path), f"invalid TOML ({err})") from None
    for item in overrides:
        if "=" not in item:
            raise InputError("--set", "expected key=value", value=item)
        key, value = item.split("=", 1)
        _set_dotted(raw, key.strip(), _parse_value(value.strip()))
    for key, value in (extra or {}).items():
        _set_dotted(raw, key, value)
    cfg = _build(Config, raw, source, "")
    _check(cfg, source)
    return cfg


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain nested dicts and lists (for TOML/JSON output)."""
    out = dataclasses.asdict(cfg)
    return _lists(out)


def _lists(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _lists(v) for k, v in obj.items()}
    if isinstance(obj, tuple | list):
        return [_lists(v) for v in obj]
    return obj


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _set_dotted(raw: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = raw
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise InputError("--set", f"'{part}' is not a section", value=key)
    node[parts[-1]] = value


def _build(cls: type, raw: dict[str, Any], source: str, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise InputError(source, "expected a table", column=prefix.rstrip(".") or None)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise InputError(
            source,
            f"unknown key; valid keys are: {', '.join(names)}",
            column=f"{prefix}{unknown[0]}",
        )
    kwargs = {}
    for name in names:
        if name not in raw:
            continue
        kwargs[name] = _coerce(hints[name], raw[name], source, f"{prefix}{name}")
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, source: str, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, source, f"{key}.")
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise InputError(source, "expected a list", column=key, value=value)
        args = typing.get_args(hint)
        inner = args[0]
        if len(args) == 2 and args[1] is not Ellipsis and len(value) != 2:
            raise InputError(source, "expected two values [low, high]", column=key, value=value)
        return tuple(_coerce(inner, v, source, key) for v in value)
    if origin in (typing.Union, types.UnionType):
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    if hint is bool and isinstance(value, bool):
        return value
    raise InputError(source, f"expected {hint.__name__}", column=key, value=value)


def _check(cfg: Config, source: str) -> None:
    """Range checks that a type alone cannot express."""
    _one_of(source, "data.format", cfg.data.format, FORMATS)
    _one_of(source, "data.latent", cfg.data.latent, ("hourly_profile", "sales"))
    _within(source, "policy.alpha", cfg.policy.alpha, 0.0, 1.0)
    _within(source, "policy.base_stock_quantile", cfg.policy.base_stock_quantile, 0.0, 1.0)
    _grid(source, "units.lead_time", cfg.units.lead_time, low=0)
    _grid(source, "units.review_period", cfg.units.review_period, low=1)
    _grid(source, "policy.safety_days", cfg.policy.safety_days, low=0)
    _range(source, "units.unit_cost", cfg.units.unit_cost, positive=True)
    _range(source, "units.holding_rate", cfg.units.holding_rate)
    _range(source, "units.penalty_ratio", cfg.units.penalty_ratio)
    for key, value in (
        ("split.holdout_days", cfg.split.holdout_days),
        ("split.history_days", cfg.split.history_days),
        ("policy.base_stock_history_days", cfg.policy.base_stock_history_days),
        ("synthetic.units", cfg.synthetic.units),
        ("synthetic.days", cfg.synthetic.days),
    ):
        if value < 1:
            raise InputError(source, "must be ≥ 1", column=key, value=value)
    if cfg.split.warmup_days < 0:
        raise InputError(
            source, "must be ≥ 0", column="split.warmup_days", value=cfg.split.warmup_days
        )
    if not cfg.split.rate_floor > 0:
        raise InputError(
            source, "must be > 0", column="split.rate_floor", value=cfg.split.rate_floor
        )
    _one_of(source, "compute.engine", cfg.compute.engine, ("local", "ray"))
    _within(source, "did.treated_share", cfg.did.treated_share, 0.0, 1.0)
    if cfg.did.bin_days < 1:
        raise InputError(source, "must be ≥ 1", column="did.bin_days", value=cfg.did.bin_days)
    if cfg.did.pre_days < 0:
        raise InputError(source, "must be ≥ 0", column="did.pre_days", value=cfg.did.pre_days)
    _one_of(source, "rl.tie_scale", cfg.rl.tie_scale, ("sale", "reference"))
    _one_of(source, "rl.reward", cfg.rl.reward, ("pareto", "cost"))
    if cfg.labels.scenarios < 0:
        raise InputError(
            source,
            "must be ≥ 0 (0: the realised future)",
            column="labels.scenarios",
            value=cfg.labels.scenarios,
        )
    if cfg.labels.scenario_days < 1:
        raise InputError(
            source, "must be ≥ 1", column="labels.scenario_days", value=cfg.labels.scenario_days
        )
    if cfg.seed < 0:
        raise InputError(source, "must be ≥ 0", column="seed", value=cfg.seed)
    _one_of(source, "labels.continuation", cfg.labels.continuation, ("hold", "incumbent"))
    _one_of(
        source, "policy.incumbent_objective", cfg.policy.incumbent_objective, ("service", "cost")
    )
    st = cfg.stationary
    for key, value, ok in (
        ("stationary.lead_time", st.lead_time, st.lead_time >= 0),
        ("stationary.penalty", st.penalty, 0 < st.penalty < math.inf),
        ("stationary.holding", st.holding, 0 < st.holding < math.inf),
        ("stationary.units", st.units, st.units >= 1),
        ("stationary.days", st.days, st.days >= 1),
        ("stationary.seed", st.seed, st.seed >= 0),
    ):
        if not ok:
            raise InputError(
                source,
                "out of range (L ≥ 0; p, h > 0 and finite; units, days ≥ 1; seed ≥ 0)",
                column=key,
                value=value,
            )
    if cfg.rl.samples < 2:
        raise InputError(
            source,
            "leave-one-out needs at least 2 samples",
            column="rl.samples",
            value=cfg.rl.samples,
        )
    if not 0.0 <= cfg.rl.alpha < 1.0:
        raise InputError(
            source, "must lie in [0, 1) (0 = the labels' α)", column="rl.alpha", value=cfg.rl.alpha
        )
    for key, value in (("rl.omega", cfg.rl.omega), ("rl.expert_omega", cfg.rl.expert_omega)):
        if not 0.0 <= value <= 1.0:
            raise InputError(source, "must lie in [0, 1]", column=key, value=value)
    for key, value in (
        ("rl.beta", cfg.rl.beta),
        ("rl.expert_beta", cfg.rl.expert_beta),
        ("rl.dual_lr", cfg.rl.dual_lr),
        ("rl.rule_scale", cfg.rl.rule_scale),
        ("rl.lr", cfg.rl.lr),
        ("rl.encoder_lr_scale", cfg.rl.encoder_lr_scale),
    ):
        if value < 0:
            raise InputError(source, "must be ≥ 0", column=key, value=value)
    for key, value in (
        ("compute.shards", cfg.compute.shards),
        ("compute.workers", cfg.compute.workers),
        ("rl.batch_size", cfg.rl.batch_size),
        ("rl.states", cfg.rl.states),
    ):
        if value < 1:
            raise InputError(source, "must be ≥ 1", column=key, value=value)
    if not cfg.eval.policies:
        raise InputError(source, "name at least one policy", column="eval.policies")
    for key, value in (
        ("synthetic.start", cfg.synthetic.start),
        ("stationary.start", cfg.stationary.start),
    ):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise InputError(
                source, "expected a date YYYY-MM-DD", column=key, value=value
            ) from None


def _one_of(source: str, key: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise InputError(source, f"valid: {', '.join(valid)}", column=key, value=value)


def _within(source: str, key: str, value: float, low: float, high: float) -> None:
    if not low < value < high:
        raise InputError(source, f"must lie in ({low:g}, {high:g})", column=key, value=value)


def _grid(source: str, key: str, values: tuple[float, ...], low: float) -> None:
    if not values:
        raise InputError(source, "must list at least one value", column=key)
    if min(values) < low:
        raise InputError(source, f"values must be ≥ {low:g}", column=key, value=list(values))


def _range(source: str, key: str, pair: tuple[float, float], positive: bool = False) -> None:
    low, high = pair
    if low > high or low < 0 or (positive and low <= 0):
        need = "0 < low ≤ high" if positive else "0 ≤ low ≤ high"
        raise InputError(source, f"expected [low, high] with {need}", column=key, value=list(pair))
