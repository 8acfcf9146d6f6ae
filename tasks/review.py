"""Review tasks: pick the images, build the form the Prefect UI shows, store the answers."""

from __future__ import annotations

from typing import Literal

import pydantic
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.input import RunInput

from digitrec.loop import log, review
from digitrec.loop.review import ReviewItem, Saved
from digitrec.loop.triage import RANDOM_SHARE
from tasks.artifacts import publish_table
from tasks.events import Announcement, announce_feedback

Answer = Literal[review.ANSWERS]  # "0".."9", "not a digit", "skip": a <select> in the UI form
SOURCE = "review"


@task(cache_policy=NO_CACHE)
def pick_items(
    n: int, since: str | None = None, random_share: float = RANDOM_SHARE, seed: int | None = None
) -> list[ReviewItem]:
    """The most doubtful unreviewed predictions in the log (at or after `since`), and a random
    share of them as marked random checks, one item per image. An event template with no
    window renders "None": the whole log then."""
    window = None if since in (None, "", "None") else since
    records = None if window is None else log.read(since=window)
    items = review.pick(n, records, random_share, seed)
    checks = len({item.prediction_id for item in items if item.sampled})
    print(f"{checks} of the predictions are random checks (share {random_share:g})")
    return items


def labels_form(items: list[ReviewItem]) -> type[RunInput]:
    """A RunInput with one answer per image, "skip" by default, titled like the description."""
    fields = {
        item.key: (Answer, pydantic.Field(default=review.SKIP, title=item.title)) for item in items
    }
    return pydantic.create_model("Labels", __base__=RunInput, **fields)


@task(cache_policy=NO_CACHE)
def store_answers(items: list[ReviewItem], answers: dict[str, str], reviewer: str) -> Saved:
    """Write the labels to the feedback store, record skips, publish what was labelled."""
    saved = review.save(items, answers, SOURCE, reviewer)
    publish_table(
        "review-labels",
        review.outcome_rows(items, saved),
        f"{len(saved.added)} labels stored, {len(saved.skipped)} predictions skipped, "
        f"by {reviewer}",
    )
    return saved


@task(cache_policy=NO_CACHE)
def announce_labels(new: int) -> Announcement:
    """Tell the server (and the retraining automation) how many labels arrived."""
    announced = announce_feedback(new, SOURCE)
    payload = announced.event.payload
    print(
        f"{announced.event.event} ({announced.note}): {payload['new']} new, "
        f"{payload['since_champion']}/{payload['threshold']} since the champion"
    )
    return announced
