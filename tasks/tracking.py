"""Tracking task: finish the run's MLflow run and link it from the Prefect run."""

from __future__ import annotations

import os
from pathlib import Path

from prefect import task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE

from digitrec.pipeline import tracking
from digitrec.pipeline.records import TrainingRun

MLFLOW_UI_DEFAULT = "http://127.0.0.1:5000"  # `make server` serves the embedded store here


def mlflow_ui_url() -> str:
    """The MLflow UI: DIGITREC_MLFLOW_UI_URL, else the tracking server, else `make server`'s."""
    explicit = os.environ.get("DIGITREC_MLFLOW_UI_URL")
    server = os.environ.get("MLFLOW_TRACKING_URI", "")
    return explicit or (server if server.startswith("http") else MLFLOW_UI_DEFAULT)


@task(cache_policy=NO_CACHE)
def track_run(mlflow_run_id: str, run_dir: Path, outcome: TrainingRun) -> str:
    """Log params, per-epoch and final metrics, the report and figures; returns the run's URL."""
    tracking.finish_tracking(mlflow_run_id, Path(run_dir), outcome)
    url = tracking.run_url(mlflow_run_id, mlflow_ui_url())
    create_link_artifact(
        link=url,
        link_text=f"MLflow run {mlflow_run_id} (model version {outcome.registration.version})",
        key="mlflow-run",
        description="This training run in MLflow: params, metrics, artifacts, model version",
    )
    print(f"MLflow run: {url}")
    return url
