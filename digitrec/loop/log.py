"""The prediction log: what the CLI, the predict flow and the web app served, as JSON lines under
`log_dir()` for monitoring and review.

Safe under concurrent writers: each batch is one O_APPEND write under an exclusive flock.
Bounded: DIGITREC_LOG_MAX_MB (default 64) caps the whole log and DIGITREC_LOG_MAX_DAYS (default
90) its age. `predictions.jsonl` becomes a timestamped segment at an eighth of either limit, and
segments past the age limit or beyond the size budget are deleted, oldest first.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np

from digitrec.constants import DIGITS, IMAGE_SIZE
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
from digitrec.storage import home, log_dir

SOURCES = ("cli", "flow", "app")
ACTIVE = "predictions.jsonl"
SEGMENT = re.compile(r"^predictions-(?P<stamp>\d{8}T\d{12}Z)-[0-9a-f]+\.jsonl$")
STAMP = "%Y%m%dT%H%M%S%fZ"
DEFAULT_MAX_MB = 64.0
DEFAULT_MAX_DAYS = 90.0
SEGMENTS_PER_BUDGET = 8
MAX_NAME = 200
CSV_ROW = re.compile(r"^(?P<csv>.+\.csv)#row\d+$", re.IGNORECASE)


class PredictionLike(Protocol):
    """The fields of `digitrec.inference.prediction.Prediction` the log reads (loop and inference
    are peers in the layers, so the log names the shape rather than importing the class)."""

    input: str
    digit: int | None
    confidence: float | None
    top_k: list[dict]
    low_confidence: bool
    digits: str | None
    rejected: bool
    reason: str | None
    error: str | None


@dataclass(frozen=True)
class LoggedPrediction:
    """One served prediction, or one summary of a CSV batch, as monitoring and review see it."""

    id: str  # uuid4 hex
    time: str  # UTC, ISO seconds: 2026-11-24T10:15:00Z
    source: str  # "cli" | "flow" | "app"
    input: str  # a display name (a file's name), never the file's content
    model: str
    digit: int | None = None
    digits: str | None = None
    confidence: float | None = None
    top_k: list[dict] = field(default_factory=list)
    rejected: bool = False
    reason: str | None = None
    image_png: str | None = None  # base64 PNG, 28 high: one digit, or a number's digits in a row
    summary: dict | None = None  # a CSV batch: {"rows", "digits": {"0": n, ...}, ...}

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(
                f"log record {self.id}: source {self.source!r} is not one of {SOURCES}"
            )


@dataclass(frozen=True)
class Retention:
    """How much log to keep, read from the environment at each append."""

    max_bytes: int
    max_days: float

    @classmethod
    def from_env(cls) -> Retention:
        max_mb = setting("DIGITREC_LOG_MAX_MB", DEFAULT_MAX_MB)
        return cls(int(max_mb * 2**20), setting("DIGITREC_LOG_MAX_DAYS", DEFAULT_MAX_DAYS))


def setting(name: str, default: float) -> float:
    """A positive number from the environment; a bad value is an error, never silently ignored."""
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={raw!r}: expected a positive number")
    return value


def append(records: list[LoggedPrediction]) -> None:
    """Add records to the log in one write, rotating and pruning under the same lock."""
    if not records:
        return
    blob = "".join(json.dumps(asdict(r)) + "\n" for r in records).encode("utf-8")
    limits = Retention.from_env()
    folder = log_dir()
    active = folder / ACTIVE
    with locked(folder):
        if rotation_due(active, len(blob), limits):
            stamp = datetime.now(UTC).strftime(STAMP)
            os.replace(active, folder / f"predictions-{stamp}-{secrets.token_hex(2)}.jsonl")
        append_bytes(active, blob)
        prune(folder, limits)


def rotation_due(active: Path, extra: int, limits: Retention) -> bool:
    """Rotate before the file passes its share of the size budget or its first record passes an
    eighth of the age limit, so a record outlives DIGITREC_LOG_MAX_DAYS by at most that eighth."""
    if not active.exists() or active.stat().st_size == 0:
        return False
    with open(active, "rb") as handle:
        first = parse(handle.readline().decode("utf-8", errors="replace"))
    age = timedelta(days=limits.max_days / SEGMENTS_PER_BUDGET)
    too_old = first is not None and first.time < (datetime.now(UTC) - age).strftime(TIME_FORMAT)
    return too_old or active.stat().st_size + extra > limits.max_bytes // SEGMENTS_PER_BUDGET


def prune(folder: Path, limits: Retention) -> None:
    """Delete segments past the age limit, then the oldest until the log fits its size budget."""
    cutoff = datetime.now(UTC) - timedelta(days=limits.max_days)
    kept = []
    for path in segments(folder):
        if segment_time(path) < cutoff:
            path.unlink(missing_ok=True)
        else:
            kept.append(path)
    active = folder / ACTIVE
    total = sum(p.stat().st_size for p in kept) + (active.stat().st_size if active.exists() else 0)
    for path in kept:
        if total <= limits.max_bytes:
            break
        total -= path.stat().st_size
        path.unlink()


def segments(folder: Path) -> list[Path]:
    """Rotated segments, oldest first (their names sort by rotation time)."""
    return sorted(p for p in folder.iterdir() if SEGMENT.match(p.name))


def segment_time(path: Path) -> datetime:
    """When a segment was rotated: the time of its newest record, or just after it."""
    stamp = SEGMENT.match(path.name)["stamp"]
    return datetime.strptime(stamp, STAMP).replace(tzinfo=UTC)


def read(limit: int | None = None, since: str | None = None) -> list[LoggedPrediction]:
    """Logged records, newest last: the newest `limit`, those at or after `since` (ISO time)."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    cutoff = time_key(since) if since is not None else None
    folder = log_dir()
    if not folder.is_dir() or limit == 0:
        return []
    newest_first: list[LoggedPrediction] = []
    with locked(folder, shared=True):  # no rotation renames a file while we list and open
        for path in [folder / ACTIVE, *reversed(segments(folder))]:
            if cutoff and path.name != ACTIVE and f"{segment_time(path):{TIME_FORMAT}}" < cutoff:
                break  # this segment and all older ones predate `since`
            found = [parse(line) for line in read_lines(path)]
            kept = [r for r in found if r is not None and (cutoff is None or r.time >= cutoff)]
            newest_first += reversed(kept)
            if limit is not None and len(newest_first) >= limit:
                break
    return newest_first[:limit][::-1]


def recent(n: int) -> list[LoggedPrediction]:
    """The last `n` predictions logged, newest last."""
    return read(limit=n)


def parse(line: str) -> LoggedPrediction | None:
    """A record from one line, or None for a line that is not one (torn, foreign, corrupt)."""
    try:
        data = json.loads(line)
        return LoggedPrediction(**data) if isinstance(data, dict) else None
    except (ValueError, TypeError):
        return None


def records_from(
    predictions: Sequence[PredictionLike],
    seen_images: Sequence[Sequence[np.ndarray]],
    source: str,
    model: str,
) -> list[LoggedPrediction]:
    """Log records for one predict call: one per input, one summary per CSV file's rows.

    `seen_images[i]`: the 28x28 uint8 images the model saw for `predictions[i]` (none on error).
    """
    if len(predictions) != len(seen_images):
        raise ValueError(f"{len(predictions)} predictions but {len(seen_images)} image lists")
    if source not in SOURCES:
        raise ValueError(f"source {source!r} is not one of {SOURCES}")
    base = {"time": utc_now(), "source": source, "model": model_id(model)}
    csv_rows: dict[str, list[PredictionLike]] = {}
    for prediction in predictions:
        if match := CSV_ROW.match(prediction.input):
            csv_rows.setdefault(match["csv"], []).append(prediction)
    records = []
    for prediction, images in zip(predictions, seen_images, strict=True):
        if (match := CSV_ROW.match(prediction.input)) is None:
            records.append(single_record(prediction, images, base))
        elif (rows := csv_rows.pop(match["csv"], None)) is not None:
            records.append(csv_record(match["csv"], rows, base))  # where the file's first row was
    return records


def single_record(
    prediction: PredictionLike, images: Sequence[np.ndarray], base: dict
) -> LoggedPrediction:
    """One input's record; an input that failed is logged with its error as the reason."""
    name = display_name(prediction.input)
    reason = prediction.error or prediction.reason
    return LoggedPrediction(
        id=uuid.uuid4().hex,
        **base,
        input=name,
        digit=None if prediction.error else prediction.digit,
        digits=prediction.digits,
        confidence=prediction.confidence,
        top_k=list(prediction.top_k),
        rejected=prediction.rejected,
        reason=private(reason, prediction.input, name) if reason else None,
        image_png=png_base64(np.hstack(list(images))) if len(images) else None,  # (28, 28 * k)
    )


def csv_record(csv: str, rows: list[PredictionLike], base: dict) -> LoggedPrediction:
    """One record for a CSV file's rows: how many, which digits, how confident, how many flagged."""
    done = [p for p in rows if p.error is None]
    histogram = Counter(p.digit for p in done if p.digit is not None)
    confidences = [p.confidence for p in done if p.confidence is not None]
    summary = {
        "rows": len(rows),
        "digits": {str(d): histogram.get(d, 0) for d in DIGITS},
        "errors": len(rows) - len(done),
        "flagged": sum(p.rejected for p in done),
        "low_confidence": sum(p.low_confidence for p in done),
        "mean_confidence": round(float(np.mean(confidences)), 6) if confidences else None,
    }
    return LoggedPrediction(id=uuid.uuid4().hex, **base, input=display_name(csv), summary=summary)


def private(reason: str, raw: str, name: str) -> str:
    """A reason that shows the display name, not the raw input or where DIGITREC_HOME lies."""
    return reason.replace(raw, name).replace(str(home()), "$DIGITREC_HOME")


def display_name(text: str) -> str:
    """What the log shows for an input: its file name (no folders), never a data: URI's content."""
    if text.lstrip()[:5].lower() == "data:":
        name = f"{text.lstrip().split(',', 1)[0][:60]} URI ({len(text)} chars)"
    else:
        name = Path(text).name or "input"
    return "".join(c if c.isprintable() else "?" for c in name)[:MAX_NAME]


def model_id(model: str) -> str:
    """The model as stored: a path under DIGITREC_HOME relative to it, so the log can move."""
    path = Path(model)
    if path.is_absolute() and path.resolve().is_relative_to(home()):
        return path.resolve().relative_to(home()).as_posix()
    return str(model)


def seen_images(record: LoggedPrediction) -> list[np.ndarray]:
    """The 28x28 images the model saw for a record: the strip cut back into its digits."""
    if record.image_png is None:
        return []
    strip = png_pixels(record.image_png)  # (28, 28 * k)
    return [strip[:, i : i + IMAGE_SIZE] for i in range(0, strip.shape[1], IMAGE_SIZE)]
