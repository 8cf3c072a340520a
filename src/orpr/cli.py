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
    if cfg.data.format not in ("synthetic", "stationary") and not cfg.data.path:
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
    from orpr.evaluation.evaluate import evaluate, metrics_json
    from orpr.evaluation.frontier import frontier, frontier_json
    from orpr.model.run_dir import write_run_files
    from orpr.report.progress import day_progress
    from orpr.report.terminal import render_evaluation, render_frontier

    cfg = resolve_config(config, data, fmt, [*(overrides or []), *_model_override(model)])
    names = tuple(p.strip() for p in policies.split(",") if p.strip()) if policies else None
    panel = load_panel(cfg)
    ev = evaluate(panel, cfg, names)
    fr = None
    if cfg.eval.frontier:
        with day_progress("frontier", enabled=not as_json) as progress:
            fr = frontier(panel, cfg, names, progress=progress)
    result = metrics_json(ev) | ({"frontier": frontier_json(fr)} if fr is not None else {})
    if out is not None:
        write_run_files(out, cfg, result)
        if cfg.eval.report:
            from orpr.report.html import write_report

            write_report(out / "report.html", panel, cfg, ev, fr, out)
    if as_json:
        print_json(result)
    else:
        render_evaluation(ev)
        if fr is not None:
            render_frontier(fr)
        if out is not None:
            typer.echo(
                f"wrote {out / 'metrics.json'}"
                + (f" and {out / 'report.html'}" if cfg.eval.report else "")
            )


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
    from orpr.stationary import solve_lost_sales

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
    from orpr.labels import make_labels, write_labels
    from orpr.report.labels import render_labels
    from orpr.report.progress import day_progress

    cfg = resolve_config(config, data, fmt, overrides)
    panel = load_panel(cfg)
    with day_progress("labels", enabled=not as_json) as progress:
        run = make_labels(panel, cfg, progress)
    write_labels(run, out)
    if as_json:
        print_json(run.to_json())
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
    from orpr.report.progress import training_progress
    from orpr.report.training import render_pretrain
    from orpr.training.pretrain import pretrain

    cfg = resolve_config(config, data, fmt, overrides)
    with training_progress(enabled=not as_json) as progress:
        run = pretrain(load_panel(cfg), labels, cfg, out, progress)
    if as_json:
        print_json(run.to_json())
    else:
        render_pretrain(run)
        typer.echo(f"wrote {out}")


@app.command("finetune")
@friendly
def finetune_cmd(
    model: Annotated[str, typer.Option("--model", help="Pretrained model or run directory.")],
    labels: Annotated[Path, typer.Option("--labels", help="Labels directory (orpr labels --out).")],
    out: Annotated[Path, typer.Option("--out", help="Run directory for orpr/ and orpr_expert/.")],
    expert: Annotated[
        str | None, typer.Option("--expert", help="Expert labels (unit_id, date, v_expert).")
    ] = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = None,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Align the pretrained model with RLOO (orpr), then fine-tune it on promotions (orpr_expert)."""
    from orpr.data import load_panel
    from orpr.report.finetune import render_finetune
    from orpr.report.progress import training_progress
    from orpr.rl.finetune import finetune

    extra = [] if expert is None else [f"rl.expert={json.dumps(expert)}"]
    cfg = resolve_config(config, data, fmt, [*(overrides or []), *extra])
    with training_progress(enabled=not as_json) as progress:
        run = finetune(load_panel(cfg), model, labels, cfg, out, progress)
    if as_json:
        print_json(run.to_json())
    else:
        render_finetune(run)
        typer.echo(f"wrote {out}")


@app.command("run")
@friendly
def run_cmd(
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default runs/NAME).")
    ] = None,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every stage: labels, pretraining, RLOO and expert fine-tune, evaluation and report.

    Re-running skips finished stages, resumes an interrupted one and redoes those whose
    config changed.
    """
    from orpr.data import load_panel
    from orpr.pipeline.stages import pipeline_json, run_pipeline
    from orpr.report.terminal import (
        render_evaluation,
        render_frontier,
        render_metrics,
        render_stationary,
    )

    cfg = resolve_config(config, data, fmt, overrides)
    folder = out if out is not None else Path("runs") / cfg.name
    say = None if as_json else typer.echo
    run = run_pipeline(load_panel(cfg), cfg, folder, progress=not as_json, say=say)
    if as_json:
        print_json(pipeline_json(run))
        return
    if not run.complete:
        return
    if run.evaluation is not None:
        render_evaluation(run.evaluation)
        if run.frontier is not None:
            render_frontier(run.frontier)
    else:
        render_metrics(run.metrics)
    if run.metrics and "stationary" in run.metrics:
        render_stationary(run.metrics["stationary"])
    report = folder / "report.html"
    typer.echo(f"wrote {folder / 'metrics.json'}" + (f" and {report}" if report.is_file() else ""))


@app.command("recommend")
@friendly
def recommend_cmd(
    model: Annotated[
        Path | None, typer.Option("--model", help="Run directory with trained models.")
    ] = None,
    data: DataOpt = None,
    fmt: FormatOpt = None,
    config: ConfigOpt = None,
    overrides: SetOpt = None,
    date: Annotated[
        str | None, typer.Option("--date", help="Decision day YYYY-MM-DD (default: next day).")
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="Deciding policy (default: best model).")
    ] = None,
    positions: Annotated[
        Path | None, typer.Option("--positions", help="unit_id, on_hand[, pipeline] file.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Rows to .parquet or .csv.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Orders for the units reviewing on a day: inventory days, target position, quantity.

    Without --config, a run directory's config.toml is used when it has one.
    """
    from orpr.data import load_panel
    from orpr.deploy.positions import read_positions
    from orpr.deploy.recommend import (
        output_suffix,
        recommend,
        recommendation_json,
        render_recommendation,
        write_recommendation,
    )

    if out is not None:
        output_suffix(out)
    run_config = None if model is None else model / "config.toml"
    if config is None and run_config is not None and run_config.is_file():
        config = run_config
    cfg = resolve_config(config, data, fmt, overrides)
    panel = load_panel(cfg)
    held = None if positions is None else read_positions(positions, panel.units.unit_id)
    rec = recommend(panel, cfg, model, date, policy, held)
    if out is not None:
        write_recommendation(rec, out)
    if as_json:
        print_json(recommendation_json(rec, out))
    else:
        render_recommendation(rec)
        if out is not None:
            typer.echo(f"wrote {out}")


@app.command("did")
@friendly
def did_cmd(
    panel: Annotated[
        Path | None, typer.Option("--panel", help="Outcome panel: unit_id, date, outcomes.")
    ] = None,
    treated: Annotated[
        Path | None, typer.Option("--treated", help="Treated units: a unit_id column.")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="First day of the deployment, YYYY-MM-DD.")
    ] = None,
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Simulate a pilot whose true effect is known.")
    ] = False,
    policy: Annotated[
        str | None, typer.Option("--policy", help="Pilot's treatment policy (did.policy).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Run directory of a trained treatment.")
    ] = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = None,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Difference-in-differences of a deployment on turnover days, in-stock rate, holding cost."""
    from orpr.deploy.did import did_from_files, did_json, render_did

    if simulate:
        from orpr.data import load_panel
        from orpr.deploy.pilot import pilot_json, run_pilot, treatment_policy

        given = [
            n
            for n, v in (("--panel", panel), ("--treated", treated), ("--start", start))
            if v is not None
        ]
        if given:
            raise InputError(given[0], "not used with --simulate (the pilot makes its own)")
        extra = [] if policy is None else [f"did.policy={json.dumps(policy)}"]
        cfg = resolve_config(
            config, data, fmt, [*(overrides or []), *extra, *_model_override(model)]
        )
        treatment_policy(cfg)  # refuse a bad name before the data is read
        pilot, result = run_pilot(load_panel(cfg), cfg)
        figures, truth = pilot_json(pilot, result, cfg), pilot.truth
    else:
        for name, value in (("--panel", panel), ("--treated", treated), ("--start", start)):
            if value is None:
                raise InputError(name, "required (or pass --simulate)")
        cfg = resolve_config(config, None, None, overrides)
        result = did_from_files(str(panel), str(treated), str(start), cfg.did.bin_days)
        figures, truth = did_json(result), None
    if as_json:
        print_json(figures)
    else:
        render_did(result, truth)
