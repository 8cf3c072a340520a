"""The commands after training: ``recommend``, ``did`` and ``oracle lost-sales``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orpr.cli.options import JsonOpt, Shared, emit, set_string
from orpr.errors import InputError

if TYPE_CHECKING:
    from orpr.deploy.did import DidResult
    from orpr.deploy.pilot import PilotRun


def recommend_cmd(
    opts: Shared,
    model: Annotated[
        Path | None, typer.Option("--model", help="Run directory with trained models.")
    ] = None,
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
) -> None:
    """Orders for the units reviewing on a day: inventory days, target position, quantity.

    Without --config, a run directory's config.toml is used when it has one.
    """
    from orpr.deploy.positions import read_positions
    from orpr.deploy.recommend import recommend
    from orpr.deploy.recommendation import output_suffix, write_recommendation
    from orpr.report.recommend import render_recommendation

    if out is not None:
        output_suffix(out)  # refuse a bad suffix before the work
    cfg, panel = with_run_config(opts, model).load()
    held = None if positions is None else read_positions(positions, panel.units.unit_id)
    rec = recommend(panel, cfg, model, date, policy, held)
    if out is not None:
        write_recommendation(rec, out)
    wrote = () if out is None else (f"wrote {out}",)
    emit(opts.as_json, rec.to_json(out), lambda: render_recommendation(rec), *wrote)


def with_run_config(opts: Shared, run_dir: Path | None) -> Shared:
    """The options with ``run_dir``'s ``config.toml`` as the preset, when no ``--config`` is
    given and the run has one."""
    run_config = None if run_dir is None else run_dir / "config.toml"
    if opts.config is None and run_config is not None and run_config.is_file():
        return opts._replace(config=run_config)
    return opts


def did_cmd(
    opts: Shared,
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
) -> None:
    """Difference-in-differences of a deployment on turnover days, in-stock rate, holding cost."""
    from orpr.report.did import render_did

    files = {"--panel": panel, "--treated": treated, "--start": start}
    if simulate:
        run = simulated_pilot(opts, files, policy, model)
        emit(opts.as_json, run.to_json(), lambda: render_did(run.did, run.pilot.truth))
    else:
        result = files_did(opts, files)
        emit(opts.as_json, result.to_json(), lambda: render_did(result))


def simulated_pilot(
    opts: Shared, files: dict[str, object], policy: str | None, model: str | None
) -> PilotRun:
    """The pilot of ``[did]`` (``--policy`` and ``--model`` applied) and its DiD estimate."""
    from orpr.data import load_panel
    from orpr.deploy.pilot import run_pilot

    given = [name for name, value in files.items() if value is not None]
    if given:
        raise InputError(given[0], "not used with --simulate (the pilot makes its own)")
    extra = (*set_string("did.policy", policy), *set_string("model.checkpoint", model))
    cfg = opts.resolve(*extra)
    return run_pilot(load_panel(cfg), cfg)


def files_did(opts: Shared, files: dict[str, object]) -> DidResult:
    """The DiD estimate of an outcome panel and treated units read from files."""
    from orpr.deploy.did import did_from_files

    for name, value in files.items():
        if value is None:
            raise InputError(name, "required (or pass --simulate)")
    cfg = opts._replace(data=None, fmt=None).resolve()  # the files are the data
    panel, treated, start = (str(v) for v in files.values())
    return did_from_files(panel, treated, start, cfg.did.bin_days)


def oracle_lost_sales(
    demand: Annotated[str, typer.Option("--demand", help="poisson:MEAN or geometric:MEAN.")],
    lead_time: Annotated[int, typer.Option("--lead-time", help="L, days.")],
    penalty: Annotated[float, typer.Option("--penalty", help="p per lost unit.")],
    holding: Annotated[float, typer.Option("--holding", help="h per unit-day held.")] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Optimal, best base-stock and best capped base-stock average cost (R = 1, lost sales)."""
    from orpr.report.stationary import render_oracle
    from orpr.stationary import solve_lost_sales

    result = solve_lost_sales(demand, lead_time, penalty, holding)
    emit(as_json, result.to_json(), lambda: render_oracle(result))
