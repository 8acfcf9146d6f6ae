"""Tracking task: finish the run's MLflow run and link it from the Prefect run."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from prefect import task
from prefect.artifacts import create_link_artifact
from prefect.cache_policies import NO_CACHE

from digitrec.pipeline import tracking
from digitrec.pipeline.records import TrainingRun
from digitrec.registry import backend

MLFLOW_UI_DEFAULT = "http://127.0.0.1:5000"  # `make server` serves the embedded store here
HEALTH_TIMEOUT_S = 1.0  # an MLflow server on loopback answers /health in milliseconds
LINK_DESCRIPTION = "This training run in MLflow: params, metrics, artifacts, model version"


def mlflow_ui_url() -> str:
    """The MLflow UI: DIGITREC_MLFLOW_UI_URL, else the tracking server, else `make server`'s."""
    explicit = os.environ.get("DIGITREC_MLFLOW_UI_URL")
    server = os.environ.get("MLFLOW_TRACKING_URI", "")
    return explicit or (server if server.startswith("http") else MLFLOW_UI_DEFAULT)


def mlflow_ui_answers(ui_url: str, timeout: float = HEALTH_TIMEOUT_S) -> bool:
    """Whether an MLflow server answers `<ui_url>/health`: a link to no server is a dead end."""
    try:
        with urllib.request.urlopen(f"{ui_url.rstrip('/')}/health", timeout=timeout) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def mlflow_ui_command(ui_url: str) -> str:
    """The one command that serves the MLflow UI at `ui_url` on this run's tracking store."""
    if not backend.is_embedded():
        return "make mlflow-server"
    mlflow = Path(sys.executable).parent / "mlflow"
    port = urlsplit(ui_url).port or 5000
    return f"{mlflow} ui --backend-store-uri {backend.tracking_uri()} --port {port}"


def mlflow_link(run_url: str, ui_url: str) -> tuple[str, str]:
    """(link artifact description, printed line): the link when the UI is up, else the command
    that starts it."""
    if mlflow_ui_answers(ui_url):
        return LINK_DESCRIPTION, f"MLflow run: {run_url}"
    command = mlflow_ui_command(ui_url)
    down = f"No MLflow server is running at {ui_url}"
    return (
        f"{down}: start the MLflow UI with `{command}`, then this link opens the run.",
        f"{down}; to see this run there, start the MLflow UI: {command}",
    )


@task(cache_policy=NO_CACHE)
def track_run(mlflow_run_id: str, run_dir: Path, outcome: TrainingRun) -> str:
    """Log params, per-epoch and final metrics, the report and figures; returns the run's URL."""
    tracking.finish_tracking(mlflow_run_id, Path(run_dir), outcome)
    ui_url = mlflow_ui_url()
    url = tracking.run_url(mlflow_run_id, ui_url)
    description, line = mlflow_link(url, ui_url)
    create_link_artifact(
        link=url,
        link_text=f"MLflow run {mlflow_run_id} (model version {outcome.registration.version})",
        key="mlflow-run",
        description=description,
    )
    print(line)
    return url
