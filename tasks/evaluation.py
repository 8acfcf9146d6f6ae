"""Evaluation task: accuracy estimates, confusion matrix and classification report."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.constants import LABEL_NAMES
from digitrec.pipeline import evaluation
from digitrec.pipeline.records import Evaluation, RunContext, StageResult
from tasks.artifacts import publish_table


@task(cache_policy=NO_CACHE)
def evaluate_model(
    model_path: str, run: RunContext, stages: list[StageResult], bootstrap_resamples: int
) -> Evaluation:
    """Evaluate the final model on the validation split and publish its tables."""
    result = evaluation.evaluate_model(model_path, run, stages, bootstrap_resamples)
    cm_rows = [
        {"true": f"{d} ({LABEL_NAMES[d]})", **{str(p): n for p, n in enumerate(row)}}
        for d, row in enumerate(result.confusion_matrix)
    ]
    publish_table("confusion-matrix", cm_rows, "Rows: true digit; columns: predicted digit")
    publish_table(
        "classification-report",
        result.classification_report,
        "Precision, recall, F1 and support per digit (validation split)",
    )
    publish_table("model-comparison", result.comparison, "Baseline, optimized and final models")
    return result
