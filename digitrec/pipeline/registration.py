"""Registration step: record the run's model, and make it champion only if it earns it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from digitrec.data.kaggle import file_fingerprint
from digitrec.data.split import content_buckets
from digitrec.evaluation.champion_gate import BASE, FEEDBACK, Slice, decide, source_slices
from digitrec.pipeline.records import (
    Evaluation,
    FeedbackData,
    Registration,
    RunContext,
    StageResult,
    plain,
)
from digitrec.pipeline.run import (
    feedback_holdout,
    feedback_sources,
    probabilities,
    validation_rows,
)
from digitrec.pipeline.tracking import fail_tracking, start_tracking
from digitrec.registry import ModelRecord, register
from digitrec.registry.store import Judge
from digitrec.storage import write_json_atomic


def base_rows(run: RunContext, champion_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """This run's validation rows that are also below the champion's validation fraction
    (content-hash splits nest, so neither model trained on any of them)."""
    x_val, y_val = validation_rows(run)
    if champion_fraction < run.validation_fraction:
        inside = content_buckets(x_val) < champion_fraction  # (N_val,) bool
        x_val, y_val = x_val[inside], y_val[inside]
    return x_val, y_val


def gate_slices(run: RunContext, model_path: Path, current: ModelRecord | None) -> list[Slice]:
    """The slices both models are judged on: base validation, the reviewed-feedback holdout,
    and each feedback source with enough held-out rows; each model's digits for them."""
    fraction = (current and current.validation_fraction) or run.validation_fraction
    x_val, y_val = base_rows(run, fraction)
    x_fb, y_fb = feedback_holdout(run)
    x = np.concatenate([x_val, x_fb])  # (N + K, 28, 28)

    def digits(path) -> np.ndarray:
        return probabilities(path, x).argmax(1)

    new = digits(model_path)
    old = digits(current.model_path) if current else None
    n = len(y_val)
    slices = [
        Slice(BASE, y_val, new[:n], None if old is None else old[:n]),
        Slice(FEEDBACK, y_fb, new[n:], None if old is None else old[n:]),
    ]
    old_fb = None if old is None else old[n:]
    return slices + source_slices(y_fb, feedback_sources(run), new[n:], old_fb)


def champion_judge(run: RunContext, model_path: Path, seen: dict) -> Judge:
    """Judge the candidate against the current champion slice by slice (champion_gate);
    called under the registry lock, so the champion cannot change between the comparison and
    the alias move. The decision table lands in seen["gate"]."""

    def judge(current: ModelRecord | None) -> tuple[bool, str]:
        if current is not None and not Path(current.model_path).is_file():
            current = None
        earned, why, table = decide(gate_slices(run, model_path, current))
        seen["gate"] = tuple(table)
        if current is not None:
            seen["run_id"] = current.run_id
            seen["accuracy"] = table[0].champion
        return earned, why

    return judge


def data_fingerprint(run: RunContext, feedback: FeedbackData) -> dict[str, str]:
    """The files and the reviewed feedback the run trained on, as the registry records them."""
    files = {"train_csv": run.data.train_csv, "test_csv": run.data.test_csv}
    fingerprints = {name: file_fingerprint(path) for name, path in files.items()}
    return {**fingerprints, "feedback": feedback.fingerprint if feedback.used else "none"}


def registration_of(result: ModelRecord, seen: dict) -> Registration:
    """The run's registration as reported: the registry's answer and what the gate saw."""
    return Registration(
        run_id=result.run_id,
        model_path=str(result.model_path),
        profile=str(result.profile),
        architecture=str(result.architecture),
        created=str(result.created),
        data_fingerprint=result.data_fingerprint or {},
        val_accuracy=float(result.val_accuracy),
        hidden_test_accuracy=result.hidden_test_accuracy,
        previous_champion=seen.get("run_id"),
        previous_champion_val_accuracy=seen.get("accuracy"),
        promoted=bool(result.promoted),
        reason=str(result.decision),
        version=result.version,
        previous_version=result.previous_champion,
        training_key=result.training_key,
        mlflow_run_id=result.mlflow_run_id,
        gate=seen.get("gate", ()),
    )


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
    record = ModelRecord(
        run_id=run.run_id,
        model_path=str(run.run_dir / "model.keras"),
        mlflow_run_id=mlflow_run_id,
        profile=profile,
        architecture=final.architecture,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        data_fingerprint=data_fingerprint(run, feedback),
        validation_fraction=run.validation_fraction,
        val_accuracy=evaluation.holdout.accuracy,
        feedback_accuracy=evaluation.feedback_accuracy,
        hidden_test_accuracy=hidden_test_accuracy,
        prefect_flow_run_url=tags.get("prefect.flow_run_url"),
        training_key=training_key,
    )
    seen: dict = {}
    try:
        judge = champion_judge(run, Path(record.model_path), seen)
        result = register(record, promote, judge)
    except BaseException:
        fail_tracking(mlflow_run_id)
        raise
    decision = registration_of(result, seen)
    write_json_atomic(run.run_dir / "registration.json", plain(decision))
    return decision
