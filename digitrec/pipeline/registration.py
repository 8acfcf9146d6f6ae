"""Registration step: record the run's model, and make it champion only if it earns it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from digitrec.arrays import accuracy
from digitrec.data.kaggle import file_fingerprint
from digitrec.pipeline.records import Evaluation, Registration, RunContext, StageResult, plain
from digitrec.pipeline.run import probabilities, validation_rows
from digitrec.registry import champion, decide_promotion, register
from digitrec.storage import write_json_atomic


def champion_accuracy_on(run: RunContext) -> tuple[str | None, float | None]:
    """The current champion's accuracy on this run's validation split (None without one)."""
    record = champion()
    if record is None or not Path(record["model_path"]).is_file():
        return None, None
    x_val, y_val = validation_rows(run)
    return record["run_id"], accuracy(y_val, probabilities(record["model_path"], x_val))


def register_run(
    run: RunContext,
    final: StageResult,
    evaluation: Evaluation,
    hidden_test_accuracy: float | None,
    profile: str,
    promote: bool,
) -> Registration:
    """Register the run's model, and promote it if it beats the champion (and `promote`)."""
    champion_id, champion_acc = champion_accuracy_on(run)
    accuracy_now = evaluation.holdout.accuracy
    earned, reason = decide_promotion(accuracy_now, champion_acc)
    if not promote:
        reason = "promotion disabled for this run (promote=false)"
    decision = Registration(
        run_id=run.run_id,
        model_path=str(run.run_dir / "model.keras"),
        profile=profile,
        architecture=final.architecture,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        data_fingerprint={
            name: file_fingerprint(path)
            for name, path in (("train_csv", run.data.train_csv), ("test_csv", run.data.test_csv))
        },
        val_accuracy=accuracy_now,
        hidden_test_accuracy=hidden_test_accuracy,
        previous_champion=champion_id,
        previous_champion_val_accuracy=champion_acc,
        promoted=promote and earned,
        reason=reason,
    )
    record = {k: v for k, v in asdict(decision).items() if k not in ("promoted", "reason")}
    register(record, promote=decision.promoted)
    write_json_atomic(run.run_dir / "registration.json", plain(decision))
    return decision
