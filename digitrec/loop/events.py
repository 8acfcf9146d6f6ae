"""The `digitrec.feedback.added` event, a contract with the retraining automation: its resource
says whether enough labels arrived since the champion was trained to retrain, its payload how
many. Built here from the feedback store; sent by tasks/events.py (this package never imports
Prefect)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from digitrec.loop import feedback
from digitrec.loop.store import time_key

EVENT = "digitrec.feedback.added"
RESOURCE_ID = "digitrec.feedback"
RESOURCE_NAME = "feedback store"
RETRAIN_DUE = "digitrec.retrain-due"
THRESHOLD_ENV = "DIGITREC_RETRAIN_AFTER_LABELS"
DEFAULT_THRESHOLD = 100


@dataclass(frozen=True)
class FeedbackEvent:
    """What `prefect.events.emit_event` is given: the event name, resource and payload."""

    event: str
    resource: dict[str, str]
    payload: dict


def retrain_threshold() -> int:
    """Labels since the champion that make retraining due: $DIGITREC_RETRAIN_AFTER_LABELS."""
    raw = os.environ.get(THRESHOLD_ENV, "").strip() or str(DEFAULT_THRESHOLD)
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{THRESHOLD_ENV}={raw!r}: expected a whole number of labels >= 1")
    return value


def champion_since(champion_created: str | None) -> str | None:
    """The champion's creation time as the store writes times; None without a champion."""
    if champion_created is None:
        return None
    try:
        return time_key(champion_created)
    except ValueError:
        raise ValueError(
            f"the champion's 'created' {champion_created!r} is not an ISO time"
        ) from None


def status(champion_created: str | None, threshold: int | None = None) -> dict:
    """The store's counts (total, per label, not a digit) and how many rows arrived since the
    champion was created (all rows without a champion), against the retraining threshold."""
    threshold = retrain_threshold() if threshold is None else threshold
    since = champion_since(champion_created)
    everything = feedback.counts()
    recent = everything if since is None else feedback.counts(since=since)
    return {
        "total": everything["total"],
        "per_label": everything["per_label"],
        "not_a_digit": everything["not_a_digit"],
        "since_champion": recent["total"],
        "champion_created": since,
        "threshold": threshold,
        "retrain_due": recent["total"] >= threshold,
    }


def build(new: int, total: int, since_champion: int, threshold: int, source: str) -> FeedbackEvent:
    """The event for `new` rows just stored (pure: the numbers in, the contract out)."""
    if not feedback.is_source(source):
        raise ValueError(feedback.source_problem(source))
    if not 0 <= new <= total or not 0 <= since_champion <= total or threshold < 1:
        raise ValueError(
            f"inconsistent counts: new={new}, total={total}, "
            f"since_champion={since_champion}, threshold={threshold}"
        )
    due = "true" if since_champion >= threshold else "false"
    return FeedbackEvent(
        event=EVENT,
        resource={
            "prefect.resource.id": RESOURCE_ID,
            "prefect.resource.name": RESOURCE_NAME,
            RETRAIN_DUE: due,
        },
        payload={
            "new": new,
            "total": total,
            "since_champion": since_champion,
            "threshold": threshold,
            "source": source,
        },
    )


def feedback_added(new: int, source: str, champion_created: str | None) -> FeedbackEvent:
    """The event for `new` rows just added by `source`, counted from the store now."""
    now = status(champion_created)
    return build(new, now["total"], now["since_champion"], now["threshold"], source)
