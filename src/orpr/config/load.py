"""Loading a config: a TOML preset, dotted ``--set`` overrides, types coerced, sections built.

Every problem is an :class:`~orpr.errors.InputError` naming the file (or ``--set``) and the
dotted key: an unknown key (listing the valid ones), a value of the wrong type, or a value a
section refuses when it is built (:class:`~orpr.config.rules.ConfigValueError`).
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from orpr.config.rules import ConfigValueError
from orpr.config.run import Config
from orpr.errors import InputError


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
    return _build(Config, raw, source, "")


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
    """The section ``cls`` from its table ``raw``; ``prefix`` is its dotted key plus a dot."""
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
    try:
        return cls(**kwargs)
    except ConfigValueError as err:
        column = f"{prefix}{err.key}"
        raise InputError(source, err.problem, column=column, value=err.value) from None


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
    if origin is Literal:  # a mode switch: its section names the valid values when built
        return value
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
