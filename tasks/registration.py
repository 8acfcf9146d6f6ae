"""Registration task: register the model in MLflow, promote it only if it beats the champion."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from digitrec.pipeline import registration
from digitrec.pipeline.records import (
    Evaluation,
    FeedbackData,
    Registration,
    RunContext,
    StageResult,
    Submission,
)


def prefect_tags() -> dict[str, str]:
    """The Prefect flow run behind this MLflow run: its id and, with a server, its UI page."""
    tags = {"prefect.flow_run_id": str(flow_run.id), "prefect.flow_run_name": str(flow_run.name)}
    if flow_run.ui_url:
        tags["prefect.flow_run_url"] = flow_run.ui_url
    return tags


# No retries: a retry after the version was created would register the model twice.
@task(cache_policy=NO_CACHE)
def register_model(
    run: RunContext,
    final: StageResult,
    evaluation: Evaluation,
    submission: Submission,
    profile: str,
    promote: bool,
    feedback: FeedbackData,
) -> Registration:
    """Register the run's model as an MLflow version; `champion` moves only when it earns it."""
    decision = registration.register_run(
        run, final, evaluation, submission.hidden_test_accuracy, profile, promote,
        prefect_tags(), feedback,
    )  # fmt: skip
    state = "promoted" if decision.promoted else "not promoted"
    print(f"model version {decision.version}: {state} ({decision.reason})")
    if decision.promoted:
        announce_promotion(decision)
    return decision


def announce_promotion(decision: Registration) -> None:
    """Emit `digitrec.model.promoted` (what serves predictions changed) for automations."""
    from prefect.events import emit_event

    emit_event(
        event="digitrec.model.promoted",
        resource={
            "prefect.resource.id": "digitrec.model.champion",
            "prefect.resource.name": "champion",
        },
        payload={
            "version": decision.version,
            "run_id": decision.run_id,
            "val_accuracy": decision.val_accuracy,
            "hidden_test_accuracy": decision.hidden_test_accuracy,
            "previous_champion": decision.previous_champion,
            "reason": decision.reason,
        },
    )
