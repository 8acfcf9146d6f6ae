"""Rejection task: the "not a digit" gate, its threshold and its ROC."""

from __future__ import annotations

from dataclasses import asdict

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.pipeline import rejection
from digitrec.pipeline.records import Rejection, RunContext
from tasks.artifacts import publish_table_and_figure


@task(cache_policy=NO_CACHE)
def train_rejector(model_path: str, run: RunContext) -> Rejection:
    """Train and export the gate; publish its held-out rates and ROC."""
    result = rejection.train_rejector(model_path, run)
    print(
        f"not-a-digit gate: rejects {result.nondigits_rejected:.2%} of held-out non-digits and "
        f"{result.digits_rejected:.2%} of validation digits (AUC {result.auc:.4f})"
    )
    figure = run.run_dir / "figures" / "rejection_roc.png"
    publish_table_and_figure("rejection", asdict(result), figure, '"Not a digit" gate')
    return result
