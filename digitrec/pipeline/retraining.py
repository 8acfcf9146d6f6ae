"""Whether a training run would repeat the champion's: the same data (the base files and the
reviewed feedback), the same training code and the same settings train the same model, so a
retraining with nothing new to learn can end at once instead of spending minutes of CPU."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import digitrec
from digitrec.data.kaggle import file_fingerprint
from digitrec.data.sources import DataPaths
from digitrec.loop import feedback
from digitrec.pipeline.feedback import checked_rows, fingerprint_of
from digitrec.pipeline.records import ChampionStart, RunSummary, TrainingSettings
from digitrec.registry import ModelRecord, champion, versions
from digitrec.storage import runs_dir


def code_version() -> str:
    """A hash of the library's source (every module under digitrec/): what trains the model."""
    root = Path(digitrec.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def feedback_fingerprint(use: bool | None) -> str:
    """The reviewed rows a run would learn from: every valid row trains the "not a digit"
    gate, and the digit rows also train the classifier unless `use` is False."""
    valid, _ = checked_rows(feedback.latest_labels())
    rows = fingerprint_of(valid) if valid else "none"
    return f"{'gate only' if use is False else 'gate and classifier'}:{rows}"


def training_key(
    data: DataPaths,
    settings: TrainingSettings,
    use_feedback: bool | None,
    start: ChampionStart | None = None,
) -> str:
    """What decides the trained model: data files, feedback rows, code, settings and the
    champion an `adapt` run starts from, hashed."""
    parts = {
        "train_csv": file_fingerprint(data.train_csv),
        "test_csv": file_fingerprint(data.test_csv),
        "feedback": feedback_fingerprint(use_feedback),
        "code": code_version(),
        "settings": {**asdict(settings), "start": start.model_path if start else None},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def repeated_version(key: str) -> ModelRecord | None:
    """The registered version trained from exactly this key: the champion when it was (a
    cheap local read), else the newest other version that was (promoted or not: training again
    would only reproduce it), else None. `is_champion` tells which."""
    current = champion()
    if current is not None and current.training_key == key:
        return current
    same = [
        v
        for v in versions()
        if v.training_key == key and not (v.decision or "").startswith(("rolled back", "failed"))
    ]  # a run rolled back or failed after registering may well succeed when trained again
    return same[-1] if same else None


def skipped_summary(record: ModelRecord) -> RunSummary:
    """What a skipped run returns: the numbers of the version it would have repeated."""
    run_dir = runs_dir() / record.run_id
    which = "champion version" if record.is_champion else "version"
    return RunSummary(
        run_dir=str(run_dir),
        report=str(run_dir / "report.md"),
        model=str(record.model_path or run_dir / "model.keras"),
        submission=str(run_dir / "submission.csv"),
        val_accuracy=float(record.val_accuracy),
        hidden_test_accuracy=record.hidden_test_accuracy,
        champion=record.is_champion,
        champion_reason=(
            f"skipped: the data, reviewed feedback, code and settings equal those of {which} "
            f"{record.version} (run {record.run_id}); force=true trains anyway"
        ),
        skipped=True,
    )


def champion_start() -> ChampionStart | None:
    """The champion's model file and architecture, when there is one to continue from."""
    record = champion()
    if record is None or not Path(record.model_path).is_file():
        return None
    return ChampionStart(
        model_path=str(record.model_path),
        architecture=record.architecture or "compact",
        run_id=record.run_id,
    )
