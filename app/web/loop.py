"""The page's side of the loop: every reading goes to the prediction log (source "app"), and a
"that's wrong" answer becomes a feedback row holding the 28x28 image the model saw."""

from __future__ import annotations

import dataclasses
import json
import queue
import sys
import threading
from dataclasses import dataclass

from app.web.inputs import InputError
from app.web.model import Reading
from digitrec.loop import feedback, log

SOURCE = "app"


@dataclass(frozen=True)
class FeedbackFields:
    """A checked "that's wrong" request: which reading, which of its digits and the right
    label, or (`number`) the right digits of the whole number, one per digit read."""

    prediction_id: str
    piece: int
    label: str
    reviewer: str
    number: str | None = None


class LogWriter:
    """Appends the page's log records from one background thread, in batches, so no request
    waits on the log's file lock or disk; `flush` waits for everything queued so far."""

    def __init__(self) -> None:
        self.pending: queue.Queue[list[log.LoggedPrediction]] = queue.Queue()
        self.thread = threading.Thread(target=self.run, name="prediction-log", daemon=True)
        self.thread.start()

    def put(self, records: list[log.LoggedPrediction]) -> None:
        self.pending.put(records)

    def flush(self) -> None:
        self.pending.join()

    def run(self) -> None:
        while True:
            batches = [self.pending.get()]
            while not self.pending.empty():
                batches.append(self.pending.get_nowait())
            try:
                log.append([record for batch in batches for record in batch])
            except (OSError, ValueError) as error:  # the reading was served; only its log is lost
                print(f"warning: {len(batches)} predictions not logged: {error}", file=sys.stderr)
            finally:
                for _ in batches:
                    self.pending.task_done()


def log_reading(reading: Reading, writer: LogWriter) -> str:
    """Queue the reading for the prediction log; its id there (feedback refers to it)."""
    records = log.records_from(
        [reading.prediction], [list(reading.images)], source=SOURCE, model=reading.model.run_id
    )
    writer.put(records)
    return records[0].id


def recent(n: int, writer: LogWriter) -> list[dict]:
    """The log's latest `n` records (all queued ones written first), newest first, with the
    strip of images the model saw."""
    writer.flush()
    return [dataclasses.asdict(record) for record in reversed(log.recent(n))]


_quiet = threading.Event()  # set once a "not sent" note was printed: one is enough per process


def announce(new: int) -> None:
    """Send `digitrec.feedback.added` for `new` stored rows to the Prefect server when one
    answers (PREFECT_API_URL), so enough labels start a retraining; runs off the request path
    and never fails anything: the rows are stored either way."""
    from tasks.events import announce_feedback

    try:
        result = announce_feedback(new, SOURCE)
    except Exception as error:  # noqa: BLE001 - a page must outlive a broken event channel
        print(f"warning: digitrec.feedback.added not sent: {error}", file=sys.stderr)
        return
    if not result.sent and not _quiet.is_set():
        _quiet.set()
        print(f"note: digitrec.feedback.added {result.note}", file=sys.stderr)


def feedback_fields(body: bytes) -> FeedbackFields:
    """Parse and check the page's JSON: prediction_id, piece, label (0-9 or 'not a digit')."""
    try:
        data = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(400, f"feedback must be JSON ({error})") from error
    if not isinstance(data, dict):
        raise InputError(400, "feedback must be a JSON object")
    reviewer = "".join(c for c in str(data.get("reviewer") or "") if c.isprintable()).strip()
    reviewer = reviewer[: feedback.MAX_TEXT] or "anonymous"
    if data.get("number") is not None:
        number = str(data["number"]).strip()
        if not number.isdigit() or not number.isascii() or len(number) > 64:
            raise InputError(400, f"number must be 1-64 digits 0-9, got {number[:20]!r}")
        return FeedbackFields(str(data.get("prediction_id", "")), 0, number, reviewer, number)
    label, piece = str(data.get("label", "")), data.get("piece", 0)
    if label not in feedback.LABELS:
        raise InputError(400, f"label must be 0-9 or {feedback.NOT_A_DIGIT!r}, got {label[:20]!r}")
    if not isinstance(piece, int) or isinstance(piece, bool) or not 0 <= piece < 64:
        raise InputError(400, "piece must be the index of a digit in the prediction")
    return FeedbackFields(str(data.get("prediction_id", "")), piece, label, reviewer)


def add_feedback(reading: Reading, fields: FeedbackFields) -> dict:
    """Store the feedback rows of a "that's wrong": one for the chosen digit, or one per digit
    of a corrected number (each digit's image with its right label). The first row, how many
    rows are new (the same image with the same label is stored once), and every row."""
    if fields.number is not None and len(fields.number) != len(reading.images):
        raise InputError(
            400,
            f"the model read {len(reading.images)} digit(s) here; give a number of that many "
            f"digits, or correct one digit at a time",
        )
    if fields.piece >= len(reading.images):
        raise InputError(400, f"piece {fields.piece}: the prediction has {len(reading.images)}")
    chosen = list(enumerate(fields.number)) if fields.number else [(fields.piece, fields.label)]
    rows = [
        feedback.FeedbackRow.new(
            label,
            reading.images[piece],  # (28, 28) uint8, what the model saw
            SOURCE,
            fields.reviewer,
            prediction_id=fields.prediction_id,
            predicted=(
                feedback.NOT_A_DIGIT
                if reading.prediction.rejected
                else str(reading.pieces[piece].digit)
            ),
        )
        for piece, label in chosen
    ]
    try:
        added = feedback.add(rows)
    except ValueError as error:
        raise InputError(400, str(error)) from error
    stored = [dataclasses.asdict(row) for row in rows]
    return {**stored[0], "label": fields.label, "added": len(added), "rows": stored}
