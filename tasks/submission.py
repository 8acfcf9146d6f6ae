"""Submission task: predict the test set and write a verified Kaggle submission."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.pipeline import submission
from digitrec.pipeline.records import RunContext, Submission


@task(cache_policy=NO_CACHE)
def make_submission(model_path: str, run: RunContext) -> Submission:
    """submission.csv (ImageId,Label), verified, scored when answers exist."""
    result = submission.make_submission(model_path, run)
    score = result.hidden_test_accuracy
    print(
        f"submission: {result.rows} rows -> {result.path}"
        + (f"; hidden-test accuracy {score:.4%}" if score is not None else "")
    )
    return result
