"""The feedback store: images people labelled (in the web app, the review flow or the CLI), kept
as validated JSON lines in `feedback_dir()/feedback.jsonl`, so training can add them to its data
and the retraining trigger can count them. Every row is checked before anything is written, and
writes go through the same flock + O_APPEND path as the prediction log.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from digitrec.constants import DIGITS, IMAGE_SIZE, TRAIN_COLUMNS
from digitrec.loop.store import (
    TIME_FORMAT,
    append_bytes,
    locked,
    png_base64,
    png_pixels,
    read_lines,
    time_key,
    utc_now,
)
from digitrec.storage import feedback_dir, write_text_atomic

NOT_A_DIGIT = "not a digit"
LABELS = (*(str(d) for d in DIGITS), NOT_A_DIGIT)
SOURCES = ("app", "review", "cli")  # the channels; an import names its own source (a slug)
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
SOURCE_RULE = "an import name (a-z, 0-9, _ and -, up to 32 characters, not starting with _ or -)"
STORE = "feedback.jsonl"
MAX_TEXT = 64


@dataclass(frozen=True)
class FeedbackRow:
    """One labelled image: what a person says it shows, and what the model had said."""

    id: str
    time: str  # UTC, ISO seconds: 2026-11-24T10:15:00Z
    label: str  # "0".."9" or "not a digit"
    source: str  # "app" | "review" | "cli", or an import's name ("clinic-scans")
    reviewer: str
    prediction_id: str | None  # the logged prediction it corrects, if any
    predicted: str | None  # what the model said: "7", "2026", "not a digit"
    image_png: str  # base64 PNG of a 28x28 uint8 grayscale image
    fingerprint: str  # sha256 of the 784 decoded pixels: the same image, however it was encoded
    # A review's random check (drawn uniformly, not for its doubt): the monitor's unbiased
    # accuracy sample. Optional with a default, so rows stored before it load as False.
    sampled: bool = False

    @classmethod
    def new(
        cls,
        label: str,
        image: np.ndarray | str,
        source: str,
        reviewer: str,
        prediction_id: str | None = None,
        predicted: str | None = None,
        sampled: bool = False,
    ) -> FeedbackRow:
        """A row for a freshly labelled image (28x28 uint8 pixels or base64 PNG), id, time and
        fingerprint filled in; `add` validates it."""
        pixels = image if isinstance(image, np.ndarray) else png_pixels(image)
        return cls(
            id=uuid.uuid4().hex,
            time=utc_now(),
            label=label,
            source=source,
            reviewer=reviewer,
            prediction_id=prediction_id,
            predicted=predicted,
            image_png=png_base64(pixels),
            fingerprint=fingerprint(pixels),
            sampled=sampled,
        )


def fingerprint(pixels: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).hexdigest()


def add(rows: Sequence[FeedbackRow]) -> list[FeedbackRow]:
    """Store labelled images; returns the rows added (an image stored with that label is skipped).

    All rows are checked first, so a bad row (ValueError naming it and its field) stores none.
    """
    rows = list(rows)
    for number, row in enumerate(rows, start=1):
        check(row, number)
    folder = feedback_dir()
    with locked(folder):  # read-then-append as one step, so concurrent adds never duplicate
        seen = {(row.fingerprint, row.label) for row in read()}
        added = []
        for row in rows:
            if (row.fingerprint, row.label) not in seen:
                seen.add((row.fingerprint, row.label))
                added.append(row)
        if added:
            append_bytes(folder / STORE, "".join(to_line(row) for row in added).encode("utf-8"))
    return added


def check(row: FeedbackRow, number: int) -> None:
    """Raise ValueError naming the row and the field when a row is not fit to store."""
    where = f"feedback row {number}"
    if not isinstance(row, FeedbackRow):
        raise ValueError(f"{where}: expected a FeedbackRow, got {type(row).__name__}")
    if row.label not in LABELS:
        raise ValueError(f"{where}: label {row.label!r} is not a digit 0..9 or {NOT_A_DIGIT!r}")
    if not is_source(row.source):
        raise ValueError(f"{where}: {source_problem(row.source)}")
    for name in ("id", "reviewer", "prediction_id", "predicted"):
        value = getattr(row, name)
        if value is not None or name in ("id", "reviewer"):
            check_text(where, name, value)
    if not isinstance(row.sampled, bool):
        raise ValueError(f"{where}: sampled {row.sampled!r} is not true or false")
    try:
        datetime.strptime(row.time, TIME_FORMAT)
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}: time {row.time!r} is not UTC ISO seconds like 2026-11-24T10:15:00Z"
        ) from None
    try:
        pixels = png_pixels(row.image_png)
    except ValueError as error:
        raise ValueError(f"{where}: image_png is {error}") from None
    if pixels.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"{where}: image_png is {pixels.shape}, expected (28, 28)")
    if row.fingerprint != fingerprint(pixels):
        raise ValueError(f"{where}: fingerprint does not match the pixels of image_png")


def is_source(name: object) -> bool:
    """A channel or an import's slug: each source is a population training can slice by."""
    return isinstance(name, str) and (name in SOURCES or SOURCE_NAME.fullmatch(name) is not None)


def source_problem(name: object) -> str:
    """Why `name` cannot tag a row, worded for an error message."""
    return f"source {name!r} is not one of {', '.join(SOURCES)} or {SOURCE_RULE}"


def check_text(where: str, name: str, value: object) -> None:
    """A short printable string: safe to show in the app, the UI and a CSV."""
    if not (isinstance(value, str) and value.strip() and value.isprintable()):
        raise ValueError(f"{where}: {name} {value!r} is not a non-empty printable string")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{where}: {name} is {len(value)} characters, over {MAX_TEXT}")


def to_line(row: FeedbackRow) -> str:
    return json.dumps(asdict(row)) + "\n"


def read() -> list[FeedbackRow]:
    """Every stored row, oldest first; a torn or foreign line is skipped."""
    rows = []
    for line in read_lines(feedback_dir() / STORE):
        try:
            data = json.loads(line)
            rows.append(FeedbackRow(**data))
        except (ValueError, TypeError):
            continue
    return rows


def counts(since: str | None = None) -> dict:
    """How many rows were added (at or after `since`, an ISO time), by label."""
    key = time_key(since) if since is not None else None
    rows = [row for row in read() if key is None or row.time >= key]
    per_label = {str(d): 0 for d in DIGITS}
    for row in rows:
        if row.label in per_label:
            per_label[row.label] += 1
    not_a_digit = sum(row.label == NOT_A_DIGIT for row in rows)
    return {"total": len(rows), "per_label": per_label, "not_a_digit": not_a_digit, "since": key}


def latest_labels() -> list[FeedbackRow]:
    """One row per image: its latest label wins, so a correction replaces an earlier label."""
    latest: dict[str, FeedbackRow] = {}
    for row in read():
        latest.pop(row.fingerprint, None)
        latest[row.fingerprint] = row
    return list(latest.values())


def to_kaggle_csv(path: Path | str) -> Path:
    """Write the digit-labelled images as a Kaggle train CSV (label,pixel0..783), atomically."""
    lines = [",".join(TRAIN_COLUMNS)]
    for row in latest_labels():
        if row.label != NOT_A_DIGIT:
            pixels = png_pixels(row.image_png).reshape(-1)  # (784,)
            lines.append(",".join([row.label, *map(str, pixels.tolist())]))
    return write_text_atomic(path, "\n".join(lines) + "\n")
