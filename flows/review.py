"""The `review` flow: a person labels the model's most doubtful recent predictions, and a random
share marked "random check" (the monitor's unbiased accuracy sample), in the Prefect UI (the
run pauses; its Resume form shows each image and a choice per image)."""

from __future__ import annotations

from typing import Annotated

from prefect import flow, pause_flow_run
from pydantic import Field

from digitrec.loop import review as loop_review
from digitrec.loop.triage import RANDOM_SHARE
from tasks.review import announce_labels, labels_form, pick_items, store_answers


@flow(name="review", log_prints=True, flow_run_name="review-{reviewer}")
def review(
    n: Annotated[int, Field(ge=1, le=200)] = loop_review.DEFAULT_N,
    timeout_s: Annotated[int, Field(ge=10, le=7 * 24 * 3600)] = 24 * 3600,
    reviewer: Annotated[str, Field(min_length=1, max_length=64)] = "anonymous",
    since: str | None = None,
    random_share: Annotated[float, Field(ge=0, le=1)] = RANDOM_SHARE,
) -> dict:
    """Pause for labels on the most doubtful unreviewed predictions and random checks, then
    store them.

    Args:
        n: How many logged predictions to review (a written number gives one image per digit).
        timeout_s: Seconds to wait for the form; after that the run fails and nothing is stored.
        reviewer: The name stored with each label.
        since: Only predictions logged at or after this ISO time (the monitor's drifted
            window, when drift starts the review); empty: the whole log.
        random_share: The share of the `n` predictions drawn at random from the unreviewed
            ones (rounded down) and marked "random check": their labels give the monitor an
            unbiased estimate of production accuracy. 0: only the most doubtful.
    """
    items = pick_items(n, since, random_share)
    if not items:
        print("nothing to review: every logged image is labelled or was skipped")
        return {"items": 0, "stored": 0, "skipped": 0}
    print(f"{len(items)} images to label: open this run and press Resume")
    form = labels_form(items).with_initial_data(description=loop_review.describe(items))
    answers = pause_flow_run(wait_for_input=form, timeout=timeout_s, poll_interval=2)
    saved = store_answers(items, {item.key: getattr(answers, item.key) for item in items}, reviewer)
    if saved.added:  # an event with nothing new would only re-trigger the automation
        announce_labels(len(saved.added))
    return {"items": len(items), "stored": len(saved.added), "skipped": len(saved.skipped)}
