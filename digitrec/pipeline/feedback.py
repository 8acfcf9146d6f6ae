"""Feedback step: the feedback store's labelled digits, checked row by row and by the Great
Expectations suite, split by content hash into training rows and a fixed held-out part.

A row that fails its checks is quarantined (listed with its reason in the run's
`feedback_quarantine.json` and the report), never used. The split depends only on each image's
fingerprint, so a reviewed digit stays on its side of the split in every run: the held-out part
can fairly score the champion and the candidate alike.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from digitrec.constants import IMAGE_SIZE
from digitrec.loop import feedback
from digitrec.loop.importing import FEEDBACK_BOUNDS  # imports are checked as training checks
from digitrec.loop.store import png_pixels
from digitrec.pipeline.records import FeedbackData
from digitrec.storage import write_json_atomic, write_text_atomic, write_with

HOLDOUT_FRACTION = 0.25  # of the reviewed digits, by content hash: the production-digit metric


def gather_feedback(run_dir: Path, use: bool | None) -> FeedbackData:
    """The run's feedback: checked, validated and split into `run_dir/feedback.npz`; `use`
    None means "when the store has rows"."""
    rows = feedback.latest_labels() if use is not False else []
    if not rows:
        return FeedbackData(used=False, reason="off" if use is False else "the store is empty")
    digits, quarantined = checked_digits(rows)
    not_a_digit = sum(row.label == feedback.NOT_A_DIGIT for row in rows)
    markdown = ""
    if digits:
        report = validate_rows(digits, run_dir)
        markdown = report.to_markdown()
        if not report.success:
            reason = "failed the Great Expectations suite (see feedback_validation.md)"
            quarantined += [{"id": row.id, "reason": reason} for row in digits]
            digits = []
    write_json_atomic(run_dir / "feedback_quarantine.json", quarantined)
    if not digits:
        return FeedbackData(False, "no usable digit rows", len(rows), not_a_digit=not_a_digit,
                            quarantined=len(quarantined), validation=markdown)  # fmt: skip
    path = save_split(digits, run_dir / "feedback.npz")
    with np.load(path) as saved:
        held = len(saved["holdout_labels"])
    return FeedbackData(
        used=True,
        reason=f"{len(digits)} reviewed digits",
        rows=len(rows),
        train_rows=len(digits) - held,
        holdout_rows=held,
        not_a_digit=not_a_digit,
        quarantined=len(quarantined),
        fingerprint=fingerprint_of(digits),
        path=str(path),
        validation=markdown,
    )


def checked_rows(rows: list[feedback.FeedbackRow]) -> tuple[list, list[dict]]:
    """(rows that pass the store's row checks, [{id, reason}] of those that do not)."""
    good, bad = [], []
    for number, row in enumerate(rows, 1):
        try:
            feedback.check(row, number)
        except ValueError as error:
            bad.append({"id": getattr(row, "id", None), "reason": str(error)})
            continue
        good.append(row)
    return good, bad


def checked_digits(rows: list[feedback.FeedbackRow]) -> tuple[list, list[dict]]:
    """`checked_rows`, keeping only digit labels: 'not a digit' rows train the gate, not the
    classifier."""
    good, bad = checked_rows(rows)
    return [row for row in good if row.label != feedback.NOT_A_DIGIT], bad


def validate_rows(rows: list[feedback.FeedbackRow], run_dir: Path):
    """The Great Expectations suite over the rows as a Kaggle train CSV (kept in the run)."""
    from digitrec.data.validation import validate_dataset

    lines = ["label," + ",".join(f"pixel{i}" for i in range(IMAGE_SIZE * IMAGE_SIZE))]
    lines += [",".join([row.label, *map(str, pixels_of(row).tolist())]) for row in rows]
    csv = write_text_atomic(run_dir / "feedback.csv", "\n".join(lines) + "\n")
    report = validate_dataset(csv, bounds=FEEDBACK_BOUNDS)
    write_text_atomic(run_dir / "feedback_validation.md", report.to_markdown())
    return report


def pixels_of(row: feedback.FeedbackRow) -> np.ndarray:
    return png_pixels(row.image_png).reshape(-1)  # (784,)


def holdout_mask(rows: list[feedback.FeedbackRow]) -> np.ndarray:
    """True for the rows held out: those whose fingerprint's bucket is below HOLDOUT_FRACTION."""
    return np.array([int(row.fingerprint[:16], 16) / 16**16 < HOLDOUT_FRACTION for row in rows])


def save_split(rows: list[feedback.FeedbackRow], path: Path) -> Path:
    images = np.stack([pixels_of(row).reshape(IMAGE_SIZE, IMAGE_SIZE) for row in rows])
    labels = np.array([int(row.label) for row in rows], np.uint8)
    sources = np.array([row.source for row in rows], dtype=str)
    ids = np.array([row.id for row in rows], dtype=str)
    held = holdout_mask(rows)
    arrays = {
        "train_images": images[~held], "train_labels": labels[~held], "train_ids": ids[~held],
        "holdout_images": images[held], "holdout_labels": labels[held],
        "holdout_sources": sources[held],  # each source is a slice of the champion gate
    }  # fmt: skip
    return write_with(path, lambda tmp: np.savez(tmp, **arrays))


def fingerprint_of(rows: list[feedback.FeedbackRow]) -> str:
    """The feedback's identity for the data fingerprint: its images and labels, in any order."""
    keys = sorted(f"{row.fingerprint}:{row.label}" for row in rows)
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()
