"""Tracking step: one MLflow run per training run, the cross-run memory beside the per-run
Prefect report. Params are the profile and every stage's final recipe; metrics are each stage's
epochs (stepped by epoch) and the run's final estimates; ensemble members are nested runs."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

from digitrec.pipeline.records import RunContext, StageResult, TrainingRun
from digitrec.registry import backend
from digitrec.storage import REPO_ROOT

ARTIFACT_FILES = ("report.md", "submission.csv", "validation.json", "metrics.json", "history.json")
BATCH = 500  # under MLflow's 1,000 metrics per log_batch call


def git_commit() -> str | None:
    """The code's commit, when this is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def start_tracking(run: RunContext, profile: str, tags: dict[str, str]) -> str:
    """Open the MLflow run for a training run; returns its id (the run stays open until
    finish_tracking logs the report)."""
    from digitrec.data.kaggle import file_fingerprint

    client = backend.client()
    fingerprint = {
        "train_csv": file_fingerprint(run.data.train_csv),
        "test_csv": file_fingerprint(run.data.test_csv),
    }
    all_tags = {
        backend.RUN_TAG: run.run_id,
        "profile": profile,
        "data_fingerprint": json.dumps(fingerprint, sort_keys=True),
        **({"git_commit": commit} if (commit := git_commit()) else {}),
        **tags,
    }
    created = client.create_run(backend.experiment_id(client), run_name=run.run_id, tags=all_tags)
    return created.info.run_id


def stage_params(stage: StageResult) -> dict[str, str]:
    """A stage's final recipe, one param per field (nested fields as JSON)."""
    if stage.recipe is None:
        return {f"{stage.stage}.architecture": stage.architecture}
    return {
        f"{stage.stage}.{key}": json.dumps(value) if isinstance(value, dict) else str(value)
        for key, value in asdict(stage.recipe).items()
    }


def precision_params(outcome: TrainingRun) -> dict[str, str]:
    """The CPU the run trained on and the precision chosen for it."""
    chosen = outcome.precision
    return {
        "precision": chosen.precision,
        "precision_setting": chosen.setting,
        "precision_reason": chosen.reason,
        "cpu_model": chosen.cpu.model,
        "cpu_kind": chosen.cpu.kind,
        "cpu_flags": " ".join(chosen.cpu.reported_flags()),
        "cpu_cores": str(chosen.cpu.cores),
    }


def epoch_metrics(stage: StageResult, now_ms: int) -> list:
    """Every per-epoch curve of a stage, stepped by epoch (1-based)."""
    from mlflow.entities import Metric

    return [
        Metric(f"{stage.stage}.{name}", float(value), now_ms, epoch)
        for name, values in stage.history.items()
        for epoch, value in enumerate(values, start=1)
    ]


def final_metrics(outcome: TrainingRun) -> dict[str, float]:
    """The run's headline numbers: validation, hidden test, intervals, CV, calibration, gate."""
    holdout = outcome.evaluation.holdout
    values = {
        "val_accuracy": holdout.accuracy,
        "val_wilson_low": holdout.wilson_low,
        "val_wilson_high": holdout.wilson_high,
        "val_bootstrap_low": holdout.bootstrap_low,
        "val_bootstrap_high": holdout.bootstrap_high,
        "val_log_loss": holdout.log_loss,
        "hidden_test_accuracy": outcome.submission.hidden_test_accuracy,
        "hidden_test_ece": outcome.submission.hidden_test_ece,
        "feedback_holdout_accuracy": outcome.evaluation.feedback_accuracy,
        "calibration_temperature": outcome.calibration.temperature,
        "calibration_ece_before": outcome.calibration.ece_before,
        "calibration_ece_after": outcome.calibration.ece_after,
        "gate_digits_rejected": outcome.rejection.digits_rejected,
        "gate_nondigits_rejected": outcome.rejection.nondigits_rejected,
        "gate_auc": outcome.rejection.auc,
        "gate_threshold": outcome.rejection.threshold,
    }
    if (numbers := outcome.numbers) is not None:
        values |= {f"numbers_exact.{spacing}": share for spacing, share in numbers.exact.items()}
    for verdict in outcome.registration.gate:  # the champion gate, slice by slice
        name = verdict.slice.replace(" ", "_")
        values[f"gate.{name}.challenger"] = verdict.challenger
        values[f"gate.{name}.champion"] = verdict.champion
        values[f"gate.{name}.passed"] = float(verdict.passed)
    if (cv := outcome.cross_validation) is not None:
        values |= {"cv_mean": cv.mean, "cv_std": cv.std, "cv_folds": float(cv.folds)}
    for stage in outcome.stages:
        values[f"{stage.stage}.final_val_accuracy"] = stage.val_accuracy
        values[f"{stage.stage}.train_seconds"] = stage.train_seconds
    return {k: float(v) for k, v in values.items() if v is not None}


def log_values(client, run_id: str, params: dict[str, str], metrics: list) -> None:
    """Params and metrics in few round trips (a server may be remote)."""
    from mlflow.entities import Param

    items = [Param(k, v) for k, v in params.items()]
    for start in range(0, len(items), 100):
        client.log_batch(run_id, params=items[start : start + 100])
    for start in range(0, len(metrics), BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + BATCH])


def finish_tracking(mlflow_run_id: str, run_dir: Path, outcome: TrainingRun) -> str:
    """Log params, metrics, report and figures, members as nested runs; close the run.
    Returns the MLflow run id."""
    from mlflow.entities import Metric

    client = backend.client()
    now = int(time.time() * 1000)
    members = [s for s in outcome.stages if s.stage.startswith("member-")]
    params = {"profile": outcome.profile, **precision_params(outcome)}
    metrics = [Metric(k, v, now, 0) for k, v in final_metrics(outcome).items()]
    for stage in outcome.stages:
        if stage not in members:
            params |= stage_params(stage)
            metrics += epoch_metrics(stage, now)
    log_values(client, mlflow_run_id, params, metrics)
    for name in ARTIFACT_FILES:
        if (run_dir / name).is_file():
            client.log_artifact(mlflow_run_id, str(run_dir / name))
    if (run_dir / "figures").is_dir():
        client.log_artifacts(mlflow_run_id, str(run_dir / "figures"), "figures")
    for member in members:
        log_member(client, mlflow_run_id, member, now)
    client.set_terminated(mlflow_run_id)
    return mlflow_run_id


def log_member(client, parent_id: str, member: StageResult, now: int) -> None:
    """An ensemble member as a nested run under the training run."""
    from mlflow.entities import Metric

    parent = client.get_run(parent_id)
    child = client.create_run(
        parent.info.experiment_id,
        run_name=f"{parent.info.run_name}/{member.stage}",
        tags={"mlflow.parentRunId": parent_id, backend.RUN_TAG: parent.info.run_name},
    )
    final = [Metric("val_accuracy", member.val_accuracy, now, 0)]
    params = stage_params(member)
    if member.worker is not None:
        params["worker"] = f"{member.worker.host}:{member.worker.pid}"
    log_values(client, child.info.run_id, params, final + epoch_metrics(member, now))
    client.set_terminated(child.info.run_id)


def fail_tracking(mlflow_run_id: str) -> None:
    """Close an MLflow run whose training run failed after it was opened."""
    backend.client().set_terminated(mlflow_run_id, status="FAILED")


def run_url(mlflow_run_id: str, ui_url: str) -> str:
    """The run's page in the MLflow UI at `ui_url`."""
    client = backend.client()
    experiment = client.get_run(mlflow_run_id).info.experiment_id
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment}/runs/{mlflow_run_id}"
