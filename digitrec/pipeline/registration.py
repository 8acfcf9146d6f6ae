"""Registration step: record the run's model, and make it champion only if it earns it."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from pathlib import Path

from digitrec.arrays import accuracy
from digitrec.data.kaggle import file_fingerprint
from digitrec.pipeline.records import Evaluation, Registration, RunContext, StageResult, plain
from digitrec.pipeline.run import probabilities, validation_rows
from digitrec.pipeline.tracking import fail_tracking, start_tracking
from digitrec.registry import decide_promotion, register
from digitrec.registry.store import Judge
from digitrec.storage import write_json_atomic


def champion_judge(run: RunContext, accuracy_now: float, seen: dict) -> Judge:
    """Compare with the current champion on this run's validation split; called under the
    registry lock, so the champion cannot change between the comparison and the alias move."""

    def judge(current: dict | None) -> tuple[bool, str]:
        if current is None or not Path(current["model_path"]).is_file():
            return decide_promotion(accuracy_now, None)
        x_val, y_val = validation_rows(run)
        seen["run_id"] = current.get("run_id")
        seen["accuracy"] = accuracy(y_val, probabilities(current["model_path"], x_val))
        return decide_promotion(accuracy_now, seen["accuracy"])

    return judge


def register_run(
    run: RunContext,
    final: StageResult,
    evaluation: Evaluation,
    hidden_test_accuracy: float | None,
    profile: str,
    promote: bool,
    tags: dict[str, str],
) -> Registration:
    """Open the run's MLflow run, register the model as a version, and move `champion` to it
    only if it beats the champion (and `promote`)."""
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
            name: file_fingerprint(path)
            for name, path in (("train_csv", run.data.train_csv), ("test_csv", run.data.test_csv))
        },
        "val_accuracy": accuracy_now,
        "hidden_test_accuracy": hidden_test_accuracy,
        "prefect_flow_run_url": tags.get("prefect.flow_run_url"),
    }
    seen: dict = {}
    try:
        result = register(record, promote, champion_judge(run, accuracy_now, seen))
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
    )
    write_json_atomic(run.run_dir / "registration.json", plain(decision))
    return decision
