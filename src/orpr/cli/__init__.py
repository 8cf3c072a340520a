"""The ``orpr`` command line: thin commands that parse, call one library function, and print.

Bad input exits 2 with one line naming file, column, row/unit and value; success exits 0.
"""

from __future__ import annotations

import typer

from orpr.cli import commands, deploy
from orpr.cli.options import friendly, shared

# The shared options, errors and the JSON-or-table output: orpr.cli.options.

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
data_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Inspect input data.")
oracle_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Exact optima.")
app.add_typer(data_app, name="data")
app.add_typer(oracle_app, name="oracle")

data_app.command("check")(shared(commands.data_check))
app.command("evaluate")(shared(commands.evaluate_cmd))
oracle_app.command("lost-sales")(friendly(deploy.oracle_lost_sales))
app.command("labels")(shared(commands.labels_cmd))
app.command("pretrain")(shared(commands.pretrain_cmd))
app.command("finetune")(shared(commands.finetune_cmd))
app.command("run")(shared(commands.run_cmd))
app.command("recommend")(shared(deploy.recommend_cmd))
app.command("did")(shared(deploy.did_cmd))


def main() -> None:
    """Entry point for ``python -m orpr``."""
    app()
