"""The ``orpr`` command line: thin commands that parse, call one library function, and print.

Bad input exits 2 with one line naming file, column, row/unit and value; success exits 0.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer

from orpr.config import Config, load_config
from orpr.errors import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
data_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Inspect input data.")
app.add_typer(data_app, name="data")

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


def resolve_config(
    config: Path | None, data: str | None, fmt: str | None, overrides: list[str] | None
) -> Config:
    """Load the preset and apply ``--data``, ``--format`` and ``--set`` (in that order).

    A ``--data`` path given without ``--format`` to a config whose format is synthetic (the
    default) takes the format the path looks like (``orpr.data.infer_format``).
    """
    extra: dict[str, Any] = {}
    if data is not None:
        extra["data.path"] = data
        if fmt is None and load_config(config, overrides or ()).data.format == "synthetic":
            from orpr.data import infer_format

            fmt = infer_format(data)
    if fmt is not None:
        extra["data.format"] = fmt
    return load_config(config, overrides or (), extra=extra)


def print_json(obj: Any) -> None:
    """Print one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


@data_app.command("check")
@friendly
def data_check(
    file: Annotated[str | None, typer.Argument(help="Data file or folder.")] = None,
    fmt: FormatOpt = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate a dataset and print its shape, censoring and (synthetic) latent-demand error."""
    from orpr.data import load_panel
    from orpr.data.summary import render_summary, summarize

    cfg = resolve_config(config, file or data, fmt, overrides)
    if cfg.data.format != "synthetic" and not cfg.data.path:
        raise InputError("<command line>", "no data given: pass FILE, --data or --config")
    summary = summarize(load_panel(cfg))
    if as_json:
        print_json(summary._asdict())
    else:
        render_summary(summary)


def main() -> None:
    """Entry point for ``python -m orpr``."""
    app()


@app.command("evaluate")
@friendly
def evaluate_cmd(
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = None,
    policies: Annotated[
        str | None, typer.Option("--policies", help="Comma-separated policy names.")
    ] = None,
    overrides: SetOpt = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Trained model directory (for 'pretrained').")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run directory for metrics.json.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Backtest policies on the held-out days; print the table and write metrics.json."""
    from orpr.data import load_panel
    from orpr.evaluate import evaluate, metrics_json
    from orpr.render import render_evaluation
    from orpr.run_dir import write_run_files

    cfg = resolve_config(config, data, fmt, [*(overrides or []), *_model_override(model)])
    names = tuple(p.strip() for p in policies.split(",") if p.strip()) if policies else None
    ev = evaluate(load_panel(cfg), cfg, names)
    result = metrics_json(ev)
    if out is not None:
        write_run_files(out, cfg, result)
    if as_json:
        print_json(result)
    else:
        render_evaluation(ev)
        if out is not None:
            typer.echo(f"wrote {out / 'metrics.json'}")


oracle_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Exact optima.")
app.add_typer(oracle_app, name="oracle")


@oracle_app.command("lost-sales")
@friendly
def oracle_lost_sales(
    demand: Annotated[str, typer.Option("--demand", help="poisson:MEAN or geometric:MEAN.")],
    lead_time: Annotated[int, typer.Option("--lead-time", help="L, days.")],
    penalty: Annotated[float, typer.Option("--penalty", help="p per lost unit.")],
    holding: Annotated[float, typer.Option("--holding", help="h per unit-day held.")] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Optimal, best base-stock and best capped base-stock average cost (R = 1, lost sales)."""
    from orpr.oracle import solve_lost_sales

    result = solve_lost_sales(demand, lead_time, penalty, holding)
    if as_json:
        print_json(result.to_json())
        return
    s, r = result.capped_base_stock_levels
    typer.echo(
        f"optimal cost per day        {result.optimal_cost:.4f}  (bound {result.bound:.1e}, "
        f"{result.iterations} iterations, truncation delta {result.truncation_delta:.1e})"
    )
    typer.echo(
        f"best base-stock             {result.base_stock_cost:.4f}  (S = {result.base_stock_level})"
    )
    typer.echo(
        f"best capped base-stock      {result.capped_base_stock_cost:.4f}  (S = {s}, r = {r})"
    )


def _model_override(model: str | None) -> list[str]:
    """``--model DIR`` as a ``model.checkpoint`` override (a TOML string)."""
    return [] if model is None else [f"model.checkpoint={json.dumps(model)}"]


@app.command("labels")
@friendly
def labels_cmd(
    out: Annotated[Path, typer.Option("--out", help="Directory for the label artifacts.")],
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = None,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Generate the OR labels (v*, λ*) of the training period and compare the label policy."""
    from orpr.data import load_panel
    from orpr.labels import labels_json, make_labels, render_labels, write_labels
    from orpr.progress import day_progress

    cfg = resolve_config(config, data, fmt, overrides)
    panel = load_panel(cfg)
    with day_progress("labels", enabled=not as_json) as progress:
        run = make_labels(panel, cfg, progress)
    write_labels(run, out)
    if as_json:
        print_json(labels_json(run))
    else:
        render_labels(run)
        typer.echo(f"wrote {out}")


@app.command("pretrain")
@friendly
def pretrain_cmd(
    labels: Annotated[Path, typer.Option("--labels", help="Labels directory (orpr labels --out).")],
    out: Annotated[Path, typer.Option("--out", help="Run directory for the model.")],
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = None,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pretrain the encoder on demand, then the decision head on the OR labels."""
    from orpr.data import load_panel
    from orpr.pretrain import pretrain, pretrain_json, render_pretrain

    cfg = resolve_config(config, data, fmt, overrides)
    run = pretrain(load_panel(cfg), labels, cfg, out, progress=not as_json)
    if as_json:
        print_json(pretrain_json(run))
    else:
        render_pretrain(run)
        typer.echo(f"wrote {out}")
