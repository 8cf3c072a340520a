"""What every ``orpr`` command shares: the five data options, one-line errors, JSON or a table.

``--config``, ``--data``, ``--format``, ``--set`` and ``--json`` are declared once here; a
command decorated with ``shared`` receives them as one ``Shared`` record and resolves its
config and loads its panel through it. ``emit`` prints a command's figures as one JSON object
or as its terminal view.

Imports of ``orpr.data``, ``orpr.report`` and the stages stay inside the functions that need
them, in this package: they pull in numba, torch or Ray, which ``orpr --help`` must not load.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from functools import partial, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer

from orpr.config import Config, load_config
from orpr.errors import InputError

if TYPE_CHECKING:
    from orpr.data.panel import Panel
    from orpr.evaluation.run import Progress

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML preset (configs/*.toml).")]
DataOpt = Annotated[
    str | None, typer.Option("--data", help="Data file, or folder for m5 / canonical.")
]
FormatOpt = Annotated[
    str | None, typer.Option("--format", help="canonical | frn | m5 | synthetic.")
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override a config key: section.key=value.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object.")]

_KW = inspect.Parameter.KEYWORD_ONLY
SHARED_OPTIONS = (
    inspect.Parameter("config", _KW, annotation=ConfigOpt, default=None),
    inspect.Parameter("data", _KW, annotation=DataOpt, default=None),
    inspect.Parameter("fmt", _KW, annotation=FormatOpt, default=None),
    inspect.Parameter("overrides", _KW, annotation=SetOpt, default=None),
    inspect.Parameter("as_json", _KW, annotation=JsonOpt, default=False),
)
"""The shared options, as the parameters ``shared`` adds to a command's signature."""


class Shared(NamedTuple):
    """The shared options of one command line.

    Attributes:
        config: the TOML preset, or None for the defaults.
        data: the data file or folder (``data.path``).
        fmt: the data format (``data.format``).
        overrides: ``--set`` overrides, ``section.key=value``.
        as_json: print the figures as one JSON object (and no progress bars).
    """

    config: Path | None
    data: str | None
    fmt: str | None
    overrides: tuple[str, ...]
    as_json: bool

    def resolve(self, *extra: str) -> Config:
        """The preset with ``--data``, ``--format``, ``--set`` and then ``extra`` applied.

        A ``--data`` path given without ``--format`` to a config whose format is synthetic
        (the default) takes the format the path looks like (``orpr.data.infer_format``).
        """
        sets = [*self.overrides, *extra]
        fixed: dict[str, Any] = {}
        fmt = self.fmt
        if self.data is not None:
            fixed["data.path"] = self.data
            if fmt is None and load_config(self.config, sets).data.format == "synthetic":
                from orpr.data import infer_format

                fmt = infer_format(self.data)
        if fmt is not None:
            fixed["data.format"] = fmt
        return load_config(self.config, sets, extra=fixed)

    def load(self, *extra: str) -> tuple[Config, Panel]:
        """The resolved config (``resolve``) and the panel it names."""
        from orpr.data import load_panel

        cfg = self.resolve(*extra)
        return cfg, load_panel(cfg)

    @property
    def progress(self) -> bool:
        """Whether to draw progress bars (not with ``--json``)."""
        return not self.as_json

    @property
    def bars(self) -> Progress:
        """Opens a labelled progress bar (``orpr.report.progress``; silent with ``--json``)."""
        from orpr.report.progress import day_progress

        return partial(day_progress, enabled=self.progress)


def shared(func: Callable[..., Any]) -> Callable[..., Any]:
    """A command with the shared options: they reach ``func`` as its first argument, one
    ``Shared``; its own options follow. An InputError exits 2 (``friendly``)."""
    own = [
        p.replace(kind=_KW)
        for p in list(inspect.signature(func, eval_str=True).parameters.values())[1:]
    ]

    @wraps(func)
    def command(**kwargs: Any) -> Any:
        given = {p.name: kwargs.pop(p.name) for p in SHARED_OPTIONS}
        given["overrides"] = tuple(given["overrides"] or ())
        return func(Shared(**given), **kwargs)

    params = [*own, *SHARED_OPTIONS]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return friendly(command)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn InputError into one line on stderr and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper


def emit(as_json: bool, figures: dict[str, Any], show: Callable[[], object], *lines: str) -> None:
    """Print ``figures`` as one JSON object with ``--json``; else ``show()`` the terminal view
    and then ``lines`` (what was written where)."""
    if as_json:
        sys.stdout.write(json.dumps(figures, indent=2) + "\n")
        return
    show()
    for line in lines:
        typer.echo(line)


def set_string(key: str, value: str | None) -> tuple[str, ...]:
    """``--set key=value`` for a string option given on its own flag (none when unset)."""
    return () if value is None else (f"{key}={json.dumps(value)}",)
