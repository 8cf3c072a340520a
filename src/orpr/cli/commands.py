"""The stage commands: ``data check``, ``labels``, ``pretrain``, ``finetune``, ``evaluate``, ``run``.

Each resolves its config and loads the panel (``Shared.load``), calls one library function,
writes its artifacts and emits its figures (``emit``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orpr.cli.options import Shared, emit, set_string
from orpr.errors import InputError

if TYPE_CHECKING:
    from orpr.pipeline.run import PipelineRun

FileArg = Annotated[str | None, typer.Argument(help="Data file or folder.")]
LabelsOpt = Annotated[Path, typer.Option("--labels", help="Labels directory (orpr labels --out).")]


def data_check(opts: Shared, file: FileArg = None) -> None:
    """Validate a dataset and print its shape, censoring and (synthetic) latent-demand error."""
    from orpr.data import load_panel
    from orpr.data.summary import summarize
    from orpr.report.data import render_summary

    cfg = opts._replace(data=file or opts.data).resolve()
    if cfg.data.format not in ("synthetic", "stationary") and not cfg.data.path:
        raise InputError("<command line>", "no data given: pass FILE, --data or --config")
    summary = summarize(load_panel(cfg))
    emit(opts.as_json, summary.to_json(), lambda: render_summary(summary))


def labels_cmd(
    opts: Shared,
    out: Annotated[Path, typer.Option("--out", help="Directory for the label artifacts.")],
) -> None:
    """Generate the OR labels (v*, λ*) of the training period and compare the label policy."""
    from orpr.labels import make_labels, write_labels
    from orpr.report.labels import render_labels

    cfg, panel = opts.load()
    with opts.bars("labels") as progress:
        run = make_labels(panel, cfg, progress)
    write_labels(run, out)
    emit(opts.as_json, run.to_json(), lambda: render_labels(run), f"wrote {out}")


def pretrain_cmd(
    opts: Shared,
    labels: LabelsOpt,
    out: Annotated[Path, typer.Option("--out", help="Run directory for the model.")],
) -> None:
    """Pretrain the encoder on demand, then the decision head on the OR labels."""
    from orpr.report.progress import training_progress
    from orpr.report.training import render_pretrain
    from orpr.training.pretrain import pretrain

    cfg, panel = opts.load()
    with training_progress(enabled=opts.progress) as progress:
        run = pretrain(panel, labels, cfg, out, progress)
    emit(opts.as_json, run.to_json(), lambda: render_pretrain(run), f"wrote {out}")


def finetune_cmd(
    opts: Shared,
    model: Annotated[str, typer.Option("--model", help="Pretrained model or run directory.")],
    labels: LabelsOpt,
    out: Annotated[Path, typer.Option("--out", help="Run directory for orpr/ and orpr_expert/.")],
    expert: Annotated[
        str | None, typer.Option("--expert", help="Expert labels (unit_id, date, v_expert).")
    ] = None,
) -> None:
    """Align the pretrained model with RLOO (orpr), then fine-tune it on promotions (orpr_expert)."""
    from orpr.report.finetune import render_finetune
    from orpr.report.progress import training_progress
    from orpr.rl.finetune import finetune

    cfg, panel = opts.load(*set_string("rl.expert", expert))
    with training_progress(enabled=opts.progress) as progress:
        run = finetune(panel, model, labels, cfg, out, progress)
    emit(opts.as_json, run.to_json(), lambda: render_finetune(run), f"wrote {out}")


def evaluate_cmd(
    opts: Shared,
    policies: Annotated[
        str | None, typer.Option("--policies", help="Comma-separated policy names.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Trained model directory (for 'pretrained').")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run directory for metrics.json.")
    ] = None,
) -> None:
    """Backtest policies on the held-out days; print the table and write metrics.json."""
    from orpr.evaluation.run import run_evaluation, write_evaluation
    from orpr.report.html import report_writer
    from orpr.report.terminal import render_evaluation_run

    cfg, panel = opts.load(*set_string("model.checkpoint", model))
    names = tuple(p.strip() for p in policies.split(",") if p.strip()) if policies else None
    run = run_evaluation(panel, cfg, names, opts.bars)
    wrote = []
    if out is not None:
        write_evaluation(out, cfg, run, report_writer(panel, cfg, out))
        wrote = [wrote_metrics(out, cfg.eval.report)]
    emit(opts.as_json, run.to_json(), lambda: render_evaluation_run(run), *wrote)


def run_cmd(
    opts: Shared,
    out: Annotated[
        Path | None, typer.Option("--out", help="Run directory (default runs/NAME).")
    ] = None,
) -> None:
    """Every stage: labels, pretraining, RLOO and expert fine-tune, evaluation and report.

    Re-running skips finished stages, resumes an interrupted one and redoes those whose
    config changed.
    """
    from orpr.pipeline.run import run_pipeline

    cfg, panel = opts.load()
    folder = out if out is not None else Path("runs") / cfg.name
    say = None if opts.as_json else typer.echo
    run = run_pipeline(panel, cfg, folder, progress=opts.progress, say=say)
    emit(opts.as_json, run.to_json(), lambda: show_run(run))


def show_run(run: PipelineRun) -> None:
    """A complete run's evaluation (its ``metrics.json`` when it was up to date), and what was
    written; nothing for an incomplete run (the stages said where they stopped)."""
    from orpr.report.terminal import render_evaluation_run, render_metrics

    if not run.complete:
        return
    if run.evaluation is not None:
        render_evaluation_run(run.evaluation)
    else:
        render_metrics(run.metrics or {})
    typer.echo(wrote_metrics(run.out_dir, (run.out_dir / "report.html").is_file()))


def wrote_metrics(out: Path, report: bool) -> str:
    """``wrote DIR/metrics.json`` (and ``DIR/report.html``)."""
    return f"wrote {out / 'metrics.json'}" + (f" and {out / 'report.html'}" if report else "")
