"""Which part of the prediction log a monitor run looks at, and what it holds: by default every
prediction since the last monitor run (its time kept in a small state file beside the log),
but never fewer than the last N, so a quiet day still gets a meaningful sample."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec.constants import DIGITS, IMAGE_SIZE, NUM_CLASSES
from digitrec.loop import log
from digitrec.loop.feedback import NOT_A_DIGIT
from digitrec.loop.store import time_key
from digitrec.storage import log_dir, write_json_atomic

STATE_FILE = "monitor-state.json"
MIN_WINDOW = 500  # a window holds at least the last N predictions
LOW_CONFIDENCE = 0.80  # as digitrec.inference.prediction flags it


@dataclass(frozen=True)
class Window:
    """The log records a monitor run covers."""

    records: tuple[log.LoggedPrediction, ...]
    since: str | None  # the last monitor run's time (None: first run or a given window)
    new: int  # records at or after `since` (all of them when `since` is None)

    @property
    def start(self) -> str | None:
        return self.records[0].time if self.records else None

    @property
    def end(self) -> str | None:
        return self.records[-1].time if self.records else None


@dataclass(frozen=True)
class WindowContents:
    """What the records hold, counted once for every statistic that needs it."""

    predictions: int  # single inputs plus CSV rows
    errors: int  # inputs that could not be predicted
    answered: int  # predictions - errors
    rejected: int  # "not a digit" (images) or flagged (CSV rows)
    low_confidence: int  # answered with confidence < LOW_CONFIDENCE
    class_counts: np.ndarray  # (10,) predicted digits (every digit of a number)
    confidences: np.ndarray  # (k,) of single inputs (a CSV batch logs only its mean)
    images: np.ndarray  # (m, 28, 28) uint8: every image the model saw


def state_path() -> Path:
    return log_dir() / STATE_FILE


def last_run() -> str | None:
    """When the last monitor run read the log; None before the first, or for a bad state file
    (a corrupt file must not stop monitoring: the window falls back to the last N)."""
    try:
        state = json.loads(state_path().read_text(encoding="utf-8"))
        return time_key(state["last_run"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_last_run(time: str) -> Path:
    """Record a finished monitor run's read time, atomically (ISO time, stored as UTC)."""
    return write_json_atomic(state_path(), {"last_run": time_key(time)})


def select(since: str | None = None, min_records: int = MIN_WINDOW) -> Window:
    """Records at or after `since` (default: the last monitor run), or the last `min_records`
    when that is more."""
    if min_records < 0:
        raise ValueError(f"min_records must be >= 0, got {min_records}")
    since = time_key(since) if since is not None else last_run()
    new = log.read(since=since) if since is not None else log.read()
    if len(new) >= min_records:
        return Window(tuple(new), since, len(new))
    # Fewer new records than the floor: the newest N hold every new one (newest last).
    return Window(tuple(log.read(limit=min_records)), since, len(new))


def contents(records: Sequence[log.LoggedPrediction]) -> WindowContents:
    """Count predictions, errors, rejections and classes; decode the images the model saw."""
    predictions = errors = rejected = low = 0
    classes = np.zeros(NUM_CLASSES, dtype=np.int64)
    confidences: list[float] = []
    images: list[np.ndarray] = []
    for record in records:
        if record.summary is not None:  # a CSV batch: its rows, counted from the summary
            summary = record.summary
            predictions += int(summary.get("rows", 0))
            errors += int(summary.get("errors", 0))
            rejected += int(summary.get("flagged", 0))
            low += int(summary.get("low_confidence", 0))
            classes += [int(summary.get("digits", {}).get(str(d), 0)) for d in DIGITS]
            continue
        predictions += 1
        images += log.seen_images(record)
        if record.digit is None and record.digits is None:
            errors += 1
            continue
        rejected += record.rejected
        if record.confidence is not None:
            confidences.append(record.confidence)
            low += record.confidence < LOW_CONFIDENCE
        if not record.rejected:
            for digit in record.digits or str(record.digit):
                classes[int(digit)] += 1
    stack = np.stack(images) if images else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    return WindowContents(
        predictions=predictions,
        errors=errors,
        answered=predictions - errors,
        rejected=rejected,
        low_confidence=low,
        class_counts=classes,
        confidences=np.asarray(confidences, dtype=np.float64),
        images=stack,  # (m, 28, 28)
    )


def said(record: log.LoggedPrediction) -> str | None:
    """What the model answered, in the feedback store's words ("7", "2026", "not a digit")."""
    if record.rejected:
        return NOT_A_DIGIT
    if record.digits is not None:
        return record.digits
    return None if record.digit is None else str(record.digit)


def reviewed(records: Sequence[log.LoggedPrediction], labels: dict[str, str]) -> tuple[int, int]:
    """(reviewed, right): window records a person labelled (by prediction id), and how many of
    those the model had answered with the label."""
    matched = [(said(r), labels[r.id]) for r in records if r.id in labels]
    return len(matched), sum(answer == label for answer, label in matched)
