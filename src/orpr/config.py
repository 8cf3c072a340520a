"""Run configuration: one frozen dataclass per stage, loaded from a TOML preset.

Every field carries a one-line docstring with its unit. ``load_config`` reads a preset,
applies dotted ``--set section.key=value`` overrides, and rejects unknown keys by listing
the valid ones. The resolved config is written into every run directory.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orpr.errors import InputError

FORMATS = ("synthetic", "canonical", "frn", "m5")


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


@dataclass(frozen=True)
class SplitConfig:
    """The time split between the training period and the held-out period."""

    holdout_days: int = 28
    """Length of the held-out period at the end of the panel, days."""
    history_days: int = 28
    """Days of history behind the reference rate d̂ (mean latent demand), days."""
    rate_floor: float = 0.01
    """Floor of the reference rate d̂, units per day (keeps inventory days finite)."""


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


@dataclass(frozen=True)
class EvalConfig:
    """The rolling backtest."""

    policies: tuple[str, ...] = ("incumbent", "base_stock")
    """Policies to evaluate, by name."""


@dataclass(frozen=True)
class Config:
    """A whole run's configuration."""

    name: str = "run"
    """Run name, used in reports."""
    seed: int = 0
    """Master seed of everything not seeded on its own."""
    data: DataConfig = field(default_factory=DataConfig)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    units: UnitRulesConfig = field(default_factory=UnitRulesConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


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
    if cfg.data.format not in FORMATS:
        raise InputError(
            source, f"unknown format; valid: {', '.join(FORMATS)}", column="data.format",
            value=cfg.data.format,
        )
    if cfg.data.latent not in ("hourly_profile", "sales"):
        raise InputError(source, "valid: hourly_profile, sales", column="data.latent",
                         value=cfg.data.latent)
    if not 0.0 < cfg.policy.alpha < 1.0:
        raise InputError(source, "must lie in (0, 1)", column="policy.alpha",
                         value=cfg.policy.alpha)
    if not 0.0 < cfg.policy.base_stock_quantile < 1.0:
        raise InputError(source, "must lie in (0, 1)", column="policy.base_stock_quantile",
                         value=cfg.policy.base_stock_quantile)
    if min(cfg.units.lead_time) < 0 or min(cfg.units.review_period) < 1:
        raise InputError(source, "lead times must be ≥ 0 and review periods ≥ 1",
                         column="units")
    if cfg.split.holdout_days < 1 or cfg.split.history_days < 1:
        raise InputError(source, "must be ≥ 1", column="split")
