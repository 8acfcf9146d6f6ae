"""Prediction step of the predict flow and the CLI: every input predicted, and each prediction
appended to the prediction log (unless the caller turns the log off)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from digitrec.inference.prediction import (
    Prediction,
    Progress,
    Readings,
    read_inputs,
)
from digitrec.inference.predictions_csv import write_predictions_csv
from digitrec.loop import log
from digitrec.storage import new_stamped_dir, predictions_dir


@dataclass(frozen=True)
class PredictionBatch:
    """One predict run's results and where its CSV is."""

    csv: str
    predictions: list[Prediction]

    @property
    def failed(self) -> int:
        return sum(1 for p in self.predictions if p.error)


def log_readings(readings: Readings, source: str, model_path: Path | str) -> int:
    """Append a predict call's records to the prediction log; how many were written.

    A log that cannot be written (full disk, bad retention setting) costs the log entry, never
    the prediction: the caller still gets its answers, and stderr says what was not logged."""
    try:
        records = log.records_from(readings.predictions, readings.seen, source, str(model_path))
        log.append(records)
    except (OSError, ValueError) as error:
        print(f"warning: predictions not logged: {error}", file=sys.stderr)
        return 0
    return len(records)


def predict_and_log(
    model_path: Path | str,
    inputs: Sequence[str | Path],
    source: str,
    log_predictions: bool = True,
    **options,
) -> list[Prediction]:
    """`read_inputs(model_path, inputs, **options)`, logged under `source` when asked."""
    readings = read_inputs(model_path, inputs, **options)
    if log_predictions:
        log_readings(readings, source, model_path)
    return readings.predictions


def predict_to_folder(
    model_path: str,
    inputs: list[str],
    top_k: int,
    save_preprocessed: bool,
    runtime: str,
    roots: Sequence[Path] | None = None,
    log_predictions: bool = True,
    on_progress: Progress | None = None,
) -> PredictionBatch:
    """Predict every input into predictions/<time>-<id>/ (predictions.csv, seen/ on request);
    with `roots`, files outside those folders are refused unread; `on_progress(done, total)`
    follows a long batch (see `read_inputs`)."""
    out_dir = new_stamped_dir(predictions_dir())
    predictions = predict_and_log(
        model_path,
        inputs,
        "flow",
        log_predictions,
        top_k=top_k,
        save_preprocessed_to=out_dir / "seen" if save_preprocessed else None,
        runtime=runtime,
        roots=roots,
        on_progress=on_progress,
    )
    csv_path = write_predictions_csv(predictions, out_dir / "predictions.csv")
    return PredictionBatch(str(csv_path), predictions)
