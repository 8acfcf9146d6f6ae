"""Prediction tasks: resolve the model, predict every input, publish the table."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.prediction import predict_inputs, write_predictions_csv
from digitrec.registry import resolve_model
from digitrec.storage import predictions_dir
from tasks.artifacts import publish_table

SHOWN = 500  # rows in the table artifact and lines in the log; the CSV always holds them all


@task(cache_policy=NO_CACHE)
def resolve_model_path(model: str) -> str:
    """'champion', a run id or a .keras path, to a model file."""
    return str(resolve_model(model))


@task(cache_policy=NO_CACHE)
def predict_digits(
    model_path: str, inputs: list[str], top_k: int, save_preprocessed: bool, runtime: str = "auto"
) -> dict:
    """Predict every input, write predictions.csv in a new folder, publish a table artifact."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = predictions_dir() / f"{stamp}-{secrets.token_hex(2)}"
    out_dir.mkdir(parents=True)
    predictions = predict_inputs(
        model_path,
        inputs,
        top_k=top_k,
        save_preprocessed_to=out_dir / "seen" if save_preprocessed else None,
        runtime=runtime,
    )
    csv_path = write_predictions_csv(predictions, out_dir / "predictions.csv")
    rows = [table_row(p.to_dict()) for p in predictions[:SHOWN]]
    failed = sum(1 for p in predictions if p.error)
    more = f"; first {SHOWN} shown, all in {csv_path}" if len(predictions) > SHOWN else ""
    publish_table(
        "predictions",
        rows,
        f"{len(predictions) - failed} predicted, {failed} failed; "
        f"model {Path(model_path).name}, runtime {runtime}{more}",
    )
    for row in rows:
        print(
            f"{row['input']}: "
            + (
                f"error: {row['error']}"
                if row["error"]
                else f"{row['read']} (confidence {row['confidence']:.3f})"
            )
        )
    return {
        "csv": str(csv_path),
        "predictions": [p.to_dict() for p in predictions],
        "failed": failed,
    }


def table_row(p: dict) -> dict:
    """One flat row per input for the Prefect UI table."""
    read = (
        p["digits"]
        if p["digits"] is not None
        else (f"{p['digit']} ({p['name']})" if p["digit"] is not None else None)
    )
    top = ", ".join(f"{t['digit']}:{t['probability']:.3f}" for t in p["top_k"])
    return {
        "input": p["input"],
        "read": read,
        "confidence": p["confidence"],
        "low_confidence": p["low_confidence"],
        "top_k": top,
        "error": p["error"],
    }
