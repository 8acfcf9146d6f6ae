"""Predictions as a CSV file: one row per input, the columns a spreadsheet user reads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from digitrec.inference.prediction import Prediction
from digitrec.storage import write_text_atomic

CSV_COLUMNS = (
    "input",
    "digit",
    "name",
    "confidence",
    "low_confidence",
    "top_k",
    "digits",
    "rejected",
    "reason",
    "error",
)


def write_predictions_csv(predictions: Iterable[Prediction], path: Path | str) -> Path:
    """Write predictions as CSV atomically: input,digit,name,confidence,low_confidence,top_k,..."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in predictions:
        writer.writerow(
            [
                p.input,
                "" if p.digit is None else p.digit,
                p.name or "",
                "" if p.confidence is None else f"{p.confidence:.6f}",
                str(p.low_confidence).lower(),
                ";".join(f"{t['digit']}:{t['probability']:.6f}" for t in p.top_k),
                p.digits or "",
                str(p.rejected).lower(),
                p.reason or "",
                p.error or "",
            ]
        )
    return write_text_atomic(path, buffer.getvalue())
