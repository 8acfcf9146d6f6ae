"""Registration task: register the model in MLflow, promote it only if it beats the champion."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.transactions import Transaction, get_transaction

from digitrec.pipeline import registration
from digitrec.pipeline.records import (
    Evaluation,
    FeedbackData,
    Registration,
    RunContext,
    StageResult,
    Submission,
)
from digitrec.registry import demote
from tasks.artifacts import publish_table


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
    training_key: str | None = None,
) -> Registration:
    """Register the run's model as an MLflow version; `champion` moves only when it earns it.

    Inside the flow's transaction: the promotion is announced when the transaction commits,
    and undone (the alias moved back) when a later step of the run fails."""
    decision = registration.register_run(
        run, final, evaluation, submission.hidden_test_accuracy, profile, promote,
        prefect_tags(), feedback, training_key,
    )  # fmt: skip
    state = "promoted" if decision.promoted else "not promoted"
    print(f"model version {decision.version}: {state} ({decision.reason})")
    if decision.gate:
        publish_table(
            "champion-gate",
            [verdict.row() for verdict in decision.gate],
            f"Champion vs challenger, slice by slice: {state} ({decision.reason})",
        )
    if (transaction := get_transaction()) is not None:
        transaction.set("registration", decision)
    return decision


@register_model.on_rollback
def undo_promotion(transaction: Transaction) -> None:
    """A later step failed: give `champion` back to the version that held it before."""
    decision: Registration | None = transaction.get("registration", None)
    if decision is not None and decision.promoted:
        undone = demote(decision.version, decision.previous_version, "a later step failed")
        back = decision.previous_version or "no champion"
        print(f"promotion of version {decision.version} {'undone' if undone else 'kept'}: "
              f"champion {'is ' + str(back) if undone else 'moved on since'}")  # fmt: skip


@register_model.on_commit
def announce_promotion(transaction: Transaction) -> None:
    """Emit `digitrec.model.promoted` (what serves predictions changed) for automations."""
    from prefect.events import emit_event

    decision: Registration | None = transaction.get("registration", None)
    if decision is None or not decision.promoted:
        return
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
