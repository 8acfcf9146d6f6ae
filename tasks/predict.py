"""Prediction tasks: resolve the model, predict every input, publish the table."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.inference.prediction import Prediction
from digitrec.pipeline.predict import PredictionBatch, predict_to_folder
from digitrec.registry import resolve_model
from tasks.artifacts import publish_table
from tasks.progress import batch_progress

SHOWN = 500  # rows in the table artifact and lines in the log; the CSV always holds them all


@task(cache_policy=NO_CACHE)
def resolve_model_path(model: str) -> str:
    """'champion', a version, a run id or a .keras path, to a local verified model file."""
    return str(resolve_model(model))


@task(cache_policy=NO_CACHE)
def predict_digits(
    model_path: str,
    inputs: list[str],
    top_k: int,
    save_preprocessed: bool,
    runtime: str,
    roots: list[Path] | None = None,
    log_predictions: bool = True,
) -> PredictionBatch:
    """Predict every input, write predictions.csv in a new folder, publish a table artifact
    (and, over a thousand inputs, a progress artifact while they are read)."""
    batch = predict_to_folder(
        model_path,
        inputs,
        top_k,
        save_preprocessed,
        runtime,
        roots,
        log_predictions,
        batch_progress("predictions"),
    )
    rows = [table_row(p) for p in batch.predictions[:SHOWN]]
    more = f"; first {SHOWN} shown, all in {batch.csv}" if len(batch.predictions) > SHOWN else ""
    publish_table(
        "predictions",
        rows,
        f"{len(batch.predictions) - batch.failed} predicted, {batch.failed} failed; "
        f"model {Path(model_path).name}, runtime {runtime}{more}",
    )
    for row in rows:
        if row["error"]:
            print(f"{row['input']}: error: {row['error']}")
        else:
            print(f"{row['input']}: {row['read']} (confidence {row['confidence']:.3f})")
    return batch


def table_row(p: Prediction) -> dict:
    """One flat row per input for the Prefect UI table."""
    read = p.digits if p.digits is not None else (f"{p.digit} ({p.name})" if p.name else None)
    return {
        "input": p.input,
        "read": read,
        "confidence": p.confidence,
        "low_confidence": p.low_confidence,
        "rejected": p.rejected,
        "reason": p.reason,
        "top_k": ", ".join(f"{t['digit']}:{t['probability']:.3f}" for t in p.top_k),
        "error": p.error,
    }
