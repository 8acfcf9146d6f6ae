"""Kaggle submission files (ImageId,Label): written atomically, verified strictly, scored."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from digitrec.arrays import first_non_digit
from digitrec.constants import NUM_CLASSES, SUBMISSION_COLUMNS
from digitrec.storage import write_text_atomic

HEADER = ",".join(SUBMISSION_COLUMNS)  # "ImageId,Label"
INTEGER = re.compile(r"-?\d+")


class SubmissionError(ValueError):
    """A submission is unusable; the message names the file, the row and the value."""


def check_labels(labels) -> np.ndarray:
    """Predicted digits as int64 (N,); refuses empty, non-integer or out-of-range labels."""
    array = np.asarray(labels)
    if array.ndim != 1 or array.size == 0:
        raise SubmissionError(f"labels: expected a non-empty 1-D array, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise SubmissionError(f"labels: expected integer digits, got dtype {array.dtype}")
    bad = first_non_digit(array)
    if bad is not None:
        row = bad + 1
        raise SubmissionError(f"labels: row {row} (ImageId {row}): {array[bad]} is not 0..9")
    return array.astype(np.int64)


def write_submission(labels, path: Path | str) -> Path:
    """Write `ImageId,Label` rows (ImageId 1..N); an earlier file survives any failure."""
    digits = check_labels(labels)  # validate before touching the file
    lines = [HEADER, *(f"{i},{d}" for i, d in enumerate(digits.tolist(), start=1))]
    return write_text_atomic(path, "\n".join(lines) + "\n")


def parse_int(path: Path, row: int, column: str, text: str) -> int:
    """One integer field, or a SubmissionError naming where it is."""
    if not INTEGER.fullmatch(text):
        raise SubmissionError(
            f"{path}: row {row} (line {row + 1}): {column} {text!r} is not an integer"
        )
    return int(text)


def parse_row(path: Path, row: int, fields: list[str]) -> int:
    """Check one data row (1-based) and return its label; ImageId must equal the row."""
    where = f"{path}: row {row} (line {row + 1})"
    if len(fields) != 2:
        raise SubmissionError(f"{where}: {len(fields)} fields {fields!r}, expected 2")
    image_id = parse_int(path, row, "ImageId", fields[0])
    if 1 <= image_id < row:  # every earlier row already holds its own id
        raise SubmissionError(f"{where}: duplicate ImageId {image_id} (first at row {image_id})")
    if image_id != row:
        raise SubmissionError(
            f"{where}: ImageId {image_id}, expected {row} (ids run 1..N in order)"
        )
    label = parse_int(path, row, "Label", fields[1])
    if not 0 <= label < NUM_CLASSES:
        raise SubmissionError(f"{where}: Label {label} is not a digit 0..9")
    return label


def read_submission(path: Path | str, expected_rows: int) -> np.ndarray:
    """Verified labels (N,) in ImageId order; raises SubmissionError on any defect."""
    path = Path(path)
    if expected_rows < 1:
        raise SubmissionError(f"expected_rows must be at least 1, got {expected_rows}")
    if not path.is_file():
        raise SubmissionError(f"{path}: file not found")
    with open(path, newline="", encoding="utf-8") as handle:
        header = handle.readline().rstrip("\r\n")
        if header != HEADER:
            raise SubmissionError(f"{path}: header {header!r}, expected {HEADER!r}")
        rows = enumerate(csv.reader(handle), start=1)
        labels = [parse_row(path, row, fields) for row, fields in rows]
    if len(labels) > expected_rows:
        raise SubmissionError(
            f"{path}: {len(labels)} rows, expected {expected_rows} "
            f"(row {expected_rows + 1} is extra)"
        )
    if len(labels) < expected_rows:
        raise SubmissionError(
            f"{path}: {len(labels)} rows, expected {expected_rows} "
            f"(row {len(labels) + 1}, ImageId {len(labels) + 1}, is missing)"
        )
    return np.array(labels, dtype=np.int64)


def verify_submission(path: Path | str, expected_rows: int) -> None:
    """Raise SubmissionError unless `path` is a complete, well-formed Kaggle submission."""
    read_submission(path, expected_rows)


def score_submission(path: Path | str, answers) -> float:
    """Accuracy of a verified submission against held-back labels in ImageId order."""
    truth = np.asarray(answers)
    if truth.ndim != 1 or truth.size == 0:
        raise SubmissionError(f"answers: expected a non-empty 1-D array, got shape {truth.shape}")
    predicted = read_submission(path, truth.size)  # (N,)
    return float(np.mean(predicted == truth.astype(np.int64)))
