"""The `digitrec` command: prepare data, train, predict."""

from __future__ import annotations

import json
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.callback()
def main() -> None:
    """digitrec: train and serve a CNN digit classifier as Prefect flows."""


@app.command()
def data(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Prepare the embedded MNIST in Kaggle format (once) and summarise it."""
    from digitrec.dataset import ensure_embedded_data

    info = ensure_embedded_data()
    if as_json:
        typer.echo(json.dumps(info.to_dict()))
        return
    typer.echo(f"data folder   {info.data_dir} ({'built now' if info.rebuilt else 'already built'})")
    typer.echo(f"train.csv     {info.train_rows:,} rows")
    typer.echo(f"test.csv      {info.test_rows:,} rows")
    typer.echo(f"answers       {info.test_labels_csv or '(none)'}")
    counts = "  ".join(f"{d}:{n}" for d, n in info.class_counts.items())
    typer.echo(f"class counts  {counts}")
