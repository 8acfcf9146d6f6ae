"""Registry task: register the model, promote it only if it beats the champion."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec import steps


@task(retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def register_model(
    run_dir: Path,
    final_stage: dict,
    data: dict,
    metrics: dict,
    submission: dict,
    split_path: str,
    promote: bool,
    profile: str,
) -> dict:
    """Register the run's model; the champion changes only when the new model earns it."""
    decision = steps.register_run(
        run_dir, final_stage, data, metrics, submission, split_path, promote, profile
    )
    print(
        f"champion: {'promoted' if decision['promoted'] else 'not promoted'} ({decision['reason']})"
    )
    return decision
