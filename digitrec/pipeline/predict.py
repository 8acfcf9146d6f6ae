"""Prediction step of the predict flow: every input predicted into a new predictions folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from digitrec.inference.prediction import Prediction, predict_inputs, write_predictions_csv
from digitrec.storage import new_stamped_dir, predictions_dir


@dataclass(frozen=True)
class PredictionBatch:
    """One predict run's results and where its CSV is."""

    csv: str
    predictions: list[Prediction]

    @property
    def failed(self) -> int:
        return sum(1 for p in self.predictions if p.error)


def predict_to_folder(
    model_path: str,
    inputs: list[str],
    top_k: int,
    save_preprocessed: bool,
    runtime: str,
    roots: Sequence[Path] | None = None,
) -> PredictionBatch:
    """Predict every input into predictions/<time>-<id>/ (predictions.csv, seen/ on request);
    with `roots`, files outside those folders are refused unread."""
    out_dir = new_stamped_dir(predictions_dir())
    predictions = predict_inputs(
        model_path,
        inputs,
        top_k=top_k,
        save_preprocessed_to=out_dir / "seen" if save_preprocessed else None,
        runtime=runtime,
        roots=roots,
    )
    csv_path = write_predictions_csv(predictions, out_dir / "predictions.csv")
    return PredictionBatch(str(csv_path), predictions)
