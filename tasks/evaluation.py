"""Evaluation task: accuracy estimates, confusion matrix and classification report."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec import steps
from digitrec.constants import LABEL_NAMES
from tasks.artifacts import publish_table


@task(cache_policy=NO_CACHE)
def evaluate_model(
    model_path: str,
    train_csv: str,
    split_path: str,
    run_dir: Path,
    stages: list[dict],
    seed: int,
    bootstrap_resamples: int,
) -> dict:
    """Evaluate the final model on the validation split and publish its tables."""
    metrics = steps.evaluate_model(
        model_path, train_csv, split_path, run_dir, stages, seed, bootstrap_resamples
    )
    cm_rows = [
        {"true": f"{d} ({LABEL_NAMES[d]})", **{str(p): n for p, n in enumerate(row)}}
        for d, row in enumerate(metrics["confusion_matrix"])
    ]
    publish_table("confusion-matrix", cm_rows, "Rows: true digit; columns: predicted digit")
    publish_table(
        "classification-report",
        metrics["classification_report"],
        "Precision, recall, F1 and support per digit (validation split)",
    )
    publish_table("model-comparison", metrics["comparison"], "Baseline, optimized and final models")
    return metrics
