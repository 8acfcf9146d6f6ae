"""Review: the most doubtful logged predictions nobody has looked at yet (smallest margin
first), plus a random share marked as random checks (`triage`), shown as the 28x28 images the
model saw, and a person's answers turned into feedback rows (a random check's rows say so).

A logged prediction is reviewed once a feedback row names it (from the app, the review flow or
`digitrec label`) or once a review skipped it: skips go to `skipped.jsonl` beside the feedback
store, appended under the same lock, so the next review shows other images. A written number is
one prediction with one image per digit; each digit gets its own answer.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from digitrec import markdown as md
from digitrec.loop import feedback, log
from digitrec.loop.feedback import NOT_A_DIGIT, FeedbackRow
from digitrec.loop.log import LoggedPrediction
from digitrec.loop.store import append_bytes, locked, read_lines, utc_now
from digitrec.loop.triage import choose
from digitrec.storage import feedback_dir

SKIP = "skip"
ANSWERS = (*feedback.LABELS, SKIP)
DEFAULT_N = 20
SKIPPED = "skipped.jsonl"
SCALE = 4  # 28 px -> 112 px: big enough to judge a stroke in the UI
NAME_SHOWN = 48
RANDOM_CHECK = "random check"


@dataclass(frozen=True, eq=False)
class ReviewItem:
    """One image to label: one digit the model saw, from one logged prediction."""

    key: str  # the form field: "image_01"
    prediction_id: str
    piece: int  # which digit of the prediction, 0-based
    pieces: int  # how many digits the prediction read (1 for a single digit)
    input: str  # the logged display name, untrusted text
    time: str
    guess: str | None  # what the model said for this image: "7", "not a digit"
    confidence: float | None  # the prediction's (a number's: the product over its digits)
    rejected: bool
    pixels: np.ndarray = field(repr=False)  # (28, 28) uint8
    sampled: bool = False  # a random check (drawn uniformly), not chosen for its doubt

    @property
    def title(self) -> str:
        """A one-line plain-text label: number, name, guess, confidence, and whether the image
        is a random check (a reviewer should know why a sure guess is shown)."""
        name = self.input if len(self.input) <= NAME_SHOWN else self.input[: NAME_SHOWN - 3] + "..."
        part = f" digit {self.piece + 1} of {self.pieces}" if self.pieces > 1 else ""
        check = f" ({RANDOM_CHECK})" if self.sampled else ""
        return f"{number(self)}. {name}{part}: {describe_guess(self)}{check}"


@dataclass(frozen=True)
class Saved:
    """What a review stored: the rows added and the predictions recorded as skipped."""

    added: list[FeedbackRow]
    skipped: list[str]  # prediction ids
    answers: dict[str, str]  # item key -> answer, only the items that were answered


def number(item: ReviewItem) -> str:
    """The item's number as the form's titles and the description show it: "01"."""
    return item.key.rpartition("_")[2]


def describe_guess(item: ReviewItem) -> str:
    guess = "no guess" if item.guess is None else f"guess {item.guess}"
    return guess if item.confidence is None else f"{guess} ({item.confidence:.1%})"


def skipped_ids() -> set[str]:
    """Predictions an earlier review skipped; a torn or foreign line is ignored."""
    found = set()
    for line in read_lines(feedback_dir() / SKIPPED):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("prediction_id"), str):
            found.add(entry["prediction_id"])
    return found


def reviewed_ids() -> set[str]:
    """Predictions a feedback row names, or a review skipped."""
    return {row.prediction_id for row in feedback.read() if row.prediction_id} | skipped_ids()


def guess_of(record: LoggedPrediction, piece: int, pieces: int) -> str | None:
    """What the model said for one of its images, as a feedback label (the app's convention)."""
    if record.rejected:
        return NOT_A_DIGIT
    if record.digits is not None and len(record.digits) == pieces:
        return record.digits[piece]
    if record.digit is not None and pieces == 1:
        return str(record.digit)
    return None


def pick(
    n: int = DEFAULT_N,
    records: Sequence[LoggedPrediction] | None = None,
    share: float = 0.0,
    seed: int | None = None,
) -> list[ReviewItem]:
    """`n` unreviewed predictions (default: from the whole log), one item per image: the most
    doubtful first (rejected, then smallest margin), then a random `share` of the `n`, drawn
    uniformly (seeded by `seed`) and marked `sampled`, so accuracy can be estimated unbiased."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    records = log.read() if records is None else records
    done = reviewed_ids()
    doubtful, sampled = choose([r for r in records if r.id not in done], n, share, seed)
    return items_from([(*c, False) for c in doubtful] + [(*c, True) for c in sampled])


def items_from(
    chosen: Sequence[tuple[LoggedPrediction, list[np.ndarray], bool]],
) -> list[ReviewItem]:
    """One item per image of each chosen record, keyed image_01.. in the order given."""
    total = sum(len(images) for _, images, _ in chosen)
    keys = (f"image_{i:0{max(2, len(str(total)))}d}" for i in range(1, total + 1))
    return [
        ReviewItem(
            key=next(keys),
            prediction_id=record.id,
            piece=piece,
            pieces=len(images),
            input=record.input,
            time=record.time,
            guess=guess_of(record, piece, len(images)),
            confidence=record.confidence,
            rejected=record.rejected,
            pixels=pixels,
            sampled=sampled,
        )
        for record, images, sampled in chosen
        for piece, pixels in enumerate(images)
    ]


def scaled_png(pixels: np.ndarray, scale: int = SCALE) -> bytes:
    """A 28x28 image as PNG bytes, scaled up without smoothing so each pixel stays visible."""
    size = (pixels.shape[1] * scale, pixels.shape[0] * scale)
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize(size, Image.Resampling.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


def describe(items: Sequence[ReviewItem]) -> str:
    """The review form's markdown: how to answer, then each image with the model's guess."""
    blocks = [
        f"Label each image with the digit it shows, **{NOT_A_DIGIT}**, or **{SKIP}** to leave "
        "it unlabelled (it will not be shown again). Most doubtful first; images marked "
        f"**{RANDOM_CHECK}** were drawn at random, so their labels measure accuracy on "
        "everything served: label them as carefully, and skip them only if unreadable. Each "
        f"image is the 28x28 picture the model saw, scaled up {SCALE}x; the original upload is "
        "not stored.\n"
    ]
    for item in items:
        part = f", digit {item.piece + 1} of {item.pieces}" if item.pieces > 1 else ""
        flag = ", flagged as not a digit" if item.rejected else ""
        flag += f", **{RANDOM_CHECK}**" if item.sampled else ""
        blocks.append(
            f"**{number(item)}.** {md.escape(describe_guess(item))}{flag}{part}; "
            f"input {md.escape(item.input)}, logged {item.time}\n"
        )
        alt = f"{item.key}: the 28x28 image the model saw, scaled {SCALE}x"
        blocks.append(md.image(scaled_png(item.pixels), alt))
    return "\n".join(blocks)


def rows_from(
    items: Sequence[ReviewItem], answers: Mapping[str, str], source: str, reviewer: str
) -> list[FeedbackRow]:
    """Feedback rows for the labelled items; "skip" and unanswered items give none."""
    known = {item.key for item in items}
    for key, answer in answers.items():
        if key not in known:
            raise ValueError(f"answer for {key!r}, which is not an item of this review")
        if answer not in ANSWERS:
            raise ValueError(f"{key}: answer {answer!r} is not 0..9, {NOT_A_DIGIT!r} or {SKIP!r}")
    return [
        FeedbackRow.new(
            answers[item.key],
            item.pixels,
            source,
            reviewer,
            prediction_id=item.prediction_id,
            predicted=item.guess,
            sampled=item.sampled,
        )
        for item in items
        if answers.get(item.key, SKIP) != SKIP
    ]


def save(
    items: Sequence[ReviewItem], answers: Mapping[str, str], source: str, reviewer: str
) -> Saved:
    """Store the labels; record each fully answered prediction that got no new row as skipped
    (all "skip", or labels the store already held), so it is not offered again."""
    rows = rows_from(items, answers, source, reviewer)
    added = feedback.add(rows)
    labelled = {row.prediction_id for row in added}
    predictions = dict.fromkeys(item.prediction_id for item in items)
    unanswered = {item.prediction_id for item in items if item.key not in answers}
    skipped = [p for p in predictions if p not in unanswered and p not in labelled]
    record_skips(skipped, source, reviewer)
    return Saved(added, skipped, dict(answers))


def record_skips(prediction_ids: Sequence[str], source: str, reviewer: str) -> None:
    """Append one line per skipped prediction, under the feedback store's lock."""
    if not prediction_ids:
        return
    now = utc_now()
    lines = "".join(
        json.dumps({"prediction_id": p, "time": now, "source": source, "reviewer": reviewer}) + "\n"
        for p in prediction_ids
    )
    folder = feedback_dir()
    with locked(folder):
        append_bytes(folder / SKIPPED, lines.encode("utf-8"))


def outcome_rows(items: Sequence[ReviewItem], saved: Saved) -> list[dict]:
    """One row per item for a table: what the model said, the answer, and what was stored."""
    stored = {(row.prediction_id, row.fingerprint, row.label) for row in saved.added}
    rows = []
    for item in items:
        answer = saved.answers.get(item.key)
        if answer is None:
            outcome = "not answered"
        elif answer == SKIP:
            outcome = "skipped"
        elif (item.prediction_id, feedback.fingerprint(item.pixels), answer) in stored:
            outcome = "stored"
        else:
            outcome = "already in the store"
        rows.append(
            {
                "item": item.key,
                "input": item.input,
                "digit": f"{item.piece + 1} of {item.pieces}",
                "guess": item.guess,
                "confidence": item.confidence,
                RANDOM_CHECK: item.sampled,
                "answer": answer,
                "outcome": outcome,
            }
        )
    return rows
