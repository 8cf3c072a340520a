"""The evaluation path of ``orpr evaluate`` and of ``orpr run``'s evaluate stage.

One backtest of the named policies (``orpr.evaluation.evaluate``), the service–cost frontier
of those with a knob (``eval.frontier``), and — on the stationary benchmark
(``data.format = "stationary"``) — each policy's long-run cost against the exact optimum
(``orpr.evaluation.stationary``). ``write_evaluation`` puts it into a run directory:
``report.html`` first, then ``config.toml`` and ``metrics.json`` last, so that a present
``metrics.json`` means the evaluation is whole.

The report is rendered by ``orpr.report`` (which reads evaluations, so evaluation cannot
import it): the caller passes the writer in.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, NamedTuple

from orpr.config import Config
from orpr.data.panel import Panel
from orpr.evaluation.evaluate import Evaluation, evaluate
from orpr.evaluation.frontier import REFERENCE, Frontier, frontier
from orpr.evaluation.policies import KNOBS
from orpr.evaluation.stationary import stationary_summary
from orpr.model.run_dir import write_run_files

Progress = Callable[[str], AbstractContextManager[Callable[[int, int], None] | None]]
"""Opens a ``progress(done, total)`` callback for a labelled piece of work (or None)."""


class EvaluationRun(NamedTuple):
    """An evaluation with its frontier (None when off) and stationary summary (None unless the
    data is the stationary benchmark)."""

    evaluation: Evaluation
    frontier: Frontier | None = None
    stationary: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """``metrics.json``: the evaluation, then ``frontier`` and ``stationary`` when present."""
        out = self.evaluation.to_json()
        if self.frontier is not None:
            out["frontier"] = self.frontier.to_json()
        if self.stationary is not None:
            out["stationary"] = self.stationary
        return out


ReportWriter = Callable[[Path, EvaluationRun], object]
"""Writes an evaluation's ``report.html`` to the given path (``orpr.report.html.report_writer``)."""


def no_progress(label: str) -> AbstractContextManager[None]:
    """A ``Progress`` that shows nothing."""
    return nullcontext()


def run_evaluation(
    panel: Panel,
    cfg: Config,
    policies: tuple[str, ...] | None = None,
    progress: Progress = no_progress,
) -> EvaluationRun:
    """Backtest ``policies`` (default ``cfg.eval.policies``), sweep the frontier of those with a
    knob when ``eval.frontier`` is on, and summarise the stationary benchmark on its data."""
    ev = evaluate(panel, cfg, policies)
    fr = None
    if cfg.eval.frontier:
        knobbed = tuple(r.name for r in ev.reports if r.name in KNOBS) or (REFERENCE,)
        with progress("frontier") as bar:
            fr = frontier(panel, cfg, knobbed, progress=bar)
    stationary = None
    if cfg.data.format == "stationary":  # long-run costs against the exact optimum
        stationary = stationary_summary(panel, cfg, ev.results)
    return EvaluationRun(ev, fr, stationary)


def write_evaluation(
    out: Path, cfg: Config, run: EvaluationRun, report: ReportWriter | None = None
) -> None:
    """Write ``report.html`` (with ``eval.report`` and a writer), ``config.toml`` (``cfg``) and
    ``metrics.json`` into ``out`` — ``metrics.json`` last."""
    if report is not None and cfg.eval.report:
        report(out / "report.html", run)
    write_run_files(out, cfg, run.to_json())
