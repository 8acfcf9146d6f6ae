"""Registration task: register the model, promote it only if it beats the champion."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.pipeline import registration
from digitrec.pipeline.records import Evaluation, Registration, RunContext, StageResult, Submission


@task(retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def register_model(
    run: RunContext,
    final: StageResult,
    evaluation: Evaluation,
    submission: Submission,
    profile: str,
    promote: bool,
) -> Registration:
    """Register the run's model; the champion changes only when the new model earns it."""
    decision = registration.register_run(
        run, final, evaluation, submission.hidden_test_accuracy, profile, promote
    )
    print(f"champion: {'promoted' if decision.promoted else 'not promoted'} ({decision.reason})")
    return decision
