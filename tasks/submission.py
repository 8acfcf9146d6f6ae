"""Submission task: predict the test set and write a verified Kaggle submission."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec import steps


@task(cache_policy=NO_CACHE)
def make_submission(model_path: str, test_csv: str, answers_csv: str | None, run_dir: Path) -> dict:
    """submission.csv (ImageId,Label), verified, scored when answers exist."""
    result = steps.make_submission(model_path, test_csv, answers_csv, run_dir)
    score = result["hidden_test_accuracy"]
    print(
        f"submission: {result['rows']} rows -> {result['path']}"
        + (f"; hidden-test accuracy {score:.4%}" if score is not None else "")
    )
    return result
