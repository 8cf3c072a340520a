"""Progress display for long stages (rich), off for ``--json`` and when not on a terminal:
``day_progress`` for day-by-day work, ``training_progress`` for the training loops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


@contextmanager
def day_progress(label: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback that draws a bar while the block runs."""
    if not enabled:
        yield lambda done, total: None
        return
    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with RichProgress(*columns, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextmanager
def training_progress(
    enabled: bool = True,
) -> Iterator[Callable[[str, str, int, int], None] | None]:
    """A ``orpr.training.loop.Progress`` that draws one bar per training stage while the block
    runs (None when disabled: the loop then reports nothing)."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with RichProgress(*columns) as bar:
        bars: dict[str, TaskID] = {}

        def update(stage: str, description: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = bar.add_task(description, total=None)
            bar.update(bars[stage], completed=done, total=total, description=description)

        yield update
