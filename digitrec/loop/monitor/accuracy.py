"""Production accuracy from the review's random checks: predictions drawn uniformly from the
unreviewed log (`digitrec.loop.triage`), so, unlike the doubtful ones people see first, the
share of them the model got right estimates accuracy on what it serves, with a Wilson 95%
interval. A check is judged by prediction: right only if every image's label is what the model
said, so "not a digit" is right only where the model said so, and a number only as a whole."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from digitrec.evaluation.metrics import wilson_interval
from digitrec.loop.feedback import FeedbackRow
from digitrec.loop.log import LoggedPrediction

Scope = Literal["window", "all", "none"]


@dataclass(frozen=True)
class RandomChecks:
    """Accuracy on randomly checked predictions, and which checks it counts."""

    scope: Scope  # "window": checks of the window's predictions; "all": every check in the
    # store (the window holds none); "none": no check yet
    checked: int  # predictions judged
    right: int
    accuracy: float | None
    low: float | None  # Wilson 95% interval
    high: float | None


def images_per_prediction(records: Sequence[LoggedPrediction]) -> dict[str, int]:
    """Each logged prediction's id and how many images it showed a reviewer (a number: one per
    digit); CSV summaries hold none and are left out."""
    return {r.id: len(r.digits) if r.digits else 1 for r in records if r.summary is None}


def checked_images(rows: Sequence[FeedbackRow]) -> dict[str, list[FeedbackRow]]:
    """The random checks' rows per prediction, the latest per image (a relabel replaces)."""
    latest: dict[tuple[str, str], FeedbackRow] = {}
    for row in rows:
        if row.sampled and row.prediction_id:
            latest[(row.prediction_id, row.fingerprint)] = row
    grouped: dict[str, list[FeedbackRow]] = {}
    for (prediction_id, _), row in latest.items():
        grouped.setdefault(prediction_id, []).append(row)
    return grouped


def verdicts(rows: Sequence[FeedbackRow], images: Mapping[str, int]) -> dict[str, bool]:
    """Right or wrong per checked prediction; a number with a digit left unlabelled (its count
    known from `images`) cannot be judged as a whole and is left out."""
    return {
        prediction_id: all(row.label == row.predicted for row in labelled)
        for prediction_id, labelled in checked_images(rows).items()
        if len(labelled) >= images.get(prediction_id, 1)
    }


def random_checks(rows: Sequence[FeedbackRow], window: Mapping[str, int]) -> RandomChecks:
    """Accuracy over the checks of the window's predictions (`window`: id -> images, see
    `images_per_prediction`), or over every check in `rows` when the window holds none."""
    judged = verdicts(rows, window)
    in_window = [right for prediction_id, right in judged.items() if prediction_id in window]
    scope, outcomes = ("window", in_window) if in_window else ("all", list(judged.values()))
    if not outcomes:
        return RandomChecks("none", 0, 0, None, None, None)
    right = sum(outcomes)
    low, high = wilson_interval(right, len(outcomes))
    return RandomChecks(scope, len(outcomes), right, right / len(outcomes), low, high)


def sentence(checks: RandomChecks) -> str:
    """The estimate as the monitor's report states it."""
    if checks.accuracy is None or checks.low is None or checks.high is None:
        return "No random checks reviewed yet: no unbiased estimate of production accuracy."
    where = (
        "predictions in this window"
        if checks.scope == "window"
        else "predictions of any time (none in this window)"
    )
    return (
        f"{checks.accuracy:.1%} right (Wilson 95% {checks.low:.1%} .. {checks.high:.1%}) on "
        f"{checks.checked} randomly checked {where}, {checks.right} right."
    )
