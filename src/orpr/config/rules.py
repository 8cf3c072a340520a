"""How a config section checks itself when it is built.

Every section is a frozen dataclass deriving from :class:`Section`: building one (from a TOML
preset, from ``dataclasses.replace`` or in code) checks its mode switches — fields typed
``Literal[...]`` — and then runs the section's own ``check``. A bad value raises
:class:`ConfigValueError` naming the field; ``load_config`` turns it into the one-line
``InputError`` that names the file and the dotted key.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from datetime import date
from typing import Any, Literal


class ConfigValueError(ValueError):
    """A config value out of its range: the field, what is wrong and the value.

    Attributes:
        key: the field within its section (``"alpha"``), or a dotted key below it.
        problem: what is wrong, in a few words (``"must be ≥ 1"``).
        value: the offending value, if any.
    """

    def __init__(self, key: str, problem: str, value: object = None) -> None:
        super().__init__(f"{key}: {problem}" + ("" if value is None else f" (value {value!r})"))
        self.key, self.problem, self.value = key, problem, value


class Section:
    """Base of every config section: modes and ranges are checked when one is built."""

    def __post_init__(self) -> None:
        for name, valid in modes(type(self)).items():
            value = getattr(self, name)
            for one in value if isinstance(value, tuple) else (value,):
                if one not in valid:
                    raise ConfigValueError(name, f"valid: {', '.join(valid)}", one)
        self.check()

    def check(self) -> None:
        """Range checks a type alone cannot express; raises :class:`ConfigValueError`."""


@functools.cache
def modes(cls: type) -> dict[str, tuple[str, ...]]:
    """The mode switches of a section: each field typed ``Literal`` (or a tuple of them) and
    its valid values, in order."""
    hints, out = typing.get_type_hints(cls), {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if typing.get_origin(hint) is tuple:
            hint = typing.get_args(hint)[0]
        if typing.get_origin(hint) is Literal:
            out[f.name] = typing.get_args(hint)
    return out


def require(ok: bool, key: str, problem: str, value: object = None) -> None:
    """Raise :class:`ConfigValueError` unless ``ok``."""
    if not ok:
        raise ConfigValueError(key, problem, value)


def at_least(section: Any, low: int, *names: str) -> None:
    """Each named field of ``section`` is ≥ ``low``."""
    for name in names:
        value = getattr(section, name)
        require(value >= low, name, f"must be ≥ {low}", value)


def positive(section: Any, *names: str) -> None:
    """Each named field of ``section`` is > 0 (and not NaN)."""
    for name in names:
        value = getattr(section, name)
        require(value > 0, name, "must be > 0", value)


def fraction(section: Any, *names: str, closed: bool = False) -> None:
    """Each named field of ``section`` lies in (0, 1), or in [0, 1] when ``closed``."""
    for name in names:
        value = getattr(section, name)
        ok = 0.0 <= value <= 1.0 if closed else 0.0 < value < 1.0
        require(ok, name, "must lie in [0, 1]" if closed else "must lie in (0, 1)", value)


def below_one(section: Any, *names: str) -> None:
    """Each named field of ``section`` lies in [0, 1)."""
    for name in names:
        value = getattr(section, name)
        require(0.0 <= value < 1.0, name, "must lie in [0, 1)", value)


def grid(key: str, values: tuple[float, ...], low: float) -> None:
    """A non-empty list of choices, none below ``low``."""
    require(bool(values), key, "must list at least one value")
    require(min(values) >= low, key, f"values must be ≥ {low:g}", list(values))


def span(key: str, pair: tuple[float, float], positive: bool = False) -> None:
    """A range ``[low, high]`` with ``0 ≤ low ≤ high`` (``0 < low`` when ``positive``)."""
    low, high = pair
    if low > high or low < 0 or (positive and low <= 0):
        need = "0 < low ≤ high" if positive else "0 ≤ low ≤ high"
        raise ConfigValueError(key, f"expected [low, high] with {need}", list(pair))


def iso_date(key: str, text: str) -> None:
    """A date written YYYY-MM-DD."""
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ConfigValueError(key, "expected a date YYYY-MM-DD", text) from None
