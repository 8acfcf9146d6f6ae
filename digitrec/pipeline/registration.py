"""Registration step: record the run's model, and make it champion only if it earns it."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from digitrec.arrays import accuracy
from digitrec.data.kaggle import file_fingerprint
from digitrec.data.split import content_buckets
from digitrec.pipeline.records import (
    Evaluation,
    FeedbackData,
    Registration,
    RunContext,
    StageResult,
    plain,
)
from digitrec.pipeline.run import feedback_holdout, probabilities, validation_rows
from digitrec.pipeline.tracking import fail_tracking, start_tracking
from digitrec.registry import decide_promotion, register
from digitrec.registry.store import Judge
from digitrec.storage import write_json_atomic


def comparison_rows(run: RunContext, champion_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """The rows both models are scored on: this run's validation rows that are also below the
    champion's validation fraction (content-hash splits nest, so neither model trained on any
    of them), plus the held-out reviewed production digits."""
    x_val, y_val = validation_rows(run)
    if champion_fraction < run.validation_fraction:
        inside = content_buckets(x_val) < champion_fraction  # (N_val,) bool
        x_val, y_val = x_val[inside], y_val[inside]
    x_fb, y_fb = feedback_holdout(run)
    return np.concatenate([x_val, x_fb]), np.concatenate([y_val, y_fb])


def champion_judge(run: RunContext, model_path: Path, seen: dict) -> Judge:
    """Score the candidate and the current champion on the same rows (`comparison_rows`);
    called under the registry lock, so the champion cannot change between the comparison and
    the alias move."""

    def judge(current: dict | None) -> tuple[bool, str]:
        if current is None or not Path(current["model_path"]).is_file():
            return decide_promotion(float("nan"), None)
        fraction = float(current.get("validation_fraction") or run.validation_fraction)
        x, y = comparison_rows(run, fraction)
        seen["run_id"] = current.get("run_id")
        seen["rows"] = len(y)
        seen["candidate"] = accuracy(y, probabilities(model_path, x))
        seen["accuracy"] = accuracy(y, probabilities(current["model_path"], x))
        earned, why = decide_promotion(seen["candidate"], seen["accuracy"])
        return earned, f"{why} on the same {len(y)} rows"

    return judge


def register_run(
    run: RunContext,
    final: StageResult,
    evaluation: Evaluation,
    hidden_test_accuracy: float | None,
    profile: str,
    promote: bool,
    tags: dict[str, str],
    feedback: FeedbackData,
    training_key: str | None = None,
) -> Registration:
    """Open the run's MLflow run, register the model as a version, and move `champion` to it
    only if it beats the champion (and `promote`). `training_key` lets a later run with the
    same data, code and settings skip training (pipeline.retraining)."""
    mlflow_run_id = start_tracking(run, profile, tags)
    accuracy_now = evaluation.holdout.accuracy
    record = {
        "run_id": run.run_id,
        "model_path": str(run.run_dir / "model.keras"),
        "mlflow_run_id": mlflow_run_id,
        "profile": profile,
        "architecture": final.architecture,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_fingerprint": {
            **{
                name: file_fingerprint(path)
                for name, path in (
                    ("train_csv", run.data.train_csv),
                    ("test_csv", run.data.test_csv),
                )
            },
            "feedback": feedback.fingerprint if feedback.used else "none",
        },
        "validation_fraction": run.validation_fraction,
        "val_accuracy": accuracy_now,
        "feedback_accuracy": evaluation.feedback_accuracy,
        "hidden_test_accuracy": hidden_test_accuracy,
        "prefect_flow_run_url": tags.get("prefect.flow_run_url"),
        "training_key": training_key,
    }
    seen: dict = {}
    try:
        judge = champion_judge(run, Path(record["model_path"]), seen)
        result = register(record, promote, judge)
    except BaseException:
        fail_tracking(mlflow_run_id)
        raise
    fields = {f.name for f in dataclass_fields(Registration)}
    decision = Registration(
        **{k: v for k, v in record.items() if k in fields},
        previous_champion=seen.get("run_id"),
        previous_champion_val_accuracy=seen.get("accuracy"),
        promoted=result["promoted"],
        reason=result["reason"],
        version=result["version"],
        previous_version=result["previous_champion"],
    )
    write_json_atomic(run.run_dir / "registration.json", plain(decision))
    return decision
