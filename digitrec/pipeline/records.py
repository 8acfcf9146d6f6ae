"""Typed records that cross layers: pipeline steps return them, Prefect tasks pass them on, the
report and the CLI read them. They hold paths and small values, never arrays or models, so
Prefect can hand them between tasks and store them cheaply."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from digitrec.data.sources import DataPaths
from digitrec.evaluation.champion_gate import SliceVerdict
from digitrec.evaluation.metrics import AccuracySummary, FoldSummary
from digitrec.hardware import POLICIES, Precision
from digitrec.modeling.profiles import Profile, get_profile
from digitrec.modeling.training import TrainConfig


def plain(record: Any) -> Any:
    """A record as JSON-ready dicts, lists and scalars (paths as strings)."""
    return json.loads(json.dumps(asdict(record), default=str))


@dataclass(frozen=True)
class TrainingSettings:
    """What a training run was asked for: its profile, the overrides of it (None: the
    profile's own) and the precision chosen for this CPU. With the data, feedback and code
    they make the training key (pipeline.retraining)."""

    profile: str
    seed: int = 0
    epochs: int | None = None  # of the augmented retraining
    batch_size: int | None = None  # of the augmented retraining
    validation_fraction: float | None = None
    cv_folds: int | None = None
    members: int | None = None
    precision: str = "float32"  # float32 or bfloat16

    def plan(self, profile: str | None = None) -> Profile:
        """The profile to train (`profile`, else the one asked for) with these overrides."""
        overrides = {
            "augmented_epochs": self.epochs, "validation_fraction": self.validation_fraction,
            "cv_folds": self.cv_folds, "members": self.members,
        }  # fmt: skip
        return get_profile(profile or self.profile, POLICIES[self.precision], **overrides)


@dataclass(frozen=True)
class RunContext:
    """What every step after the split shares: the run's folder, its data and its split."""

    run_dir: Path
    data: DataPaths
    split_path: Path
    seed: int
    validation_fraction: float = 0.1
    feedback_path: Path | None = None  # feedback.npz: training and held-out reviewed digits
    precision: str = "float32"  # the Keras dtype policy every model of the run trains in

    @property
    def run_id(self) -> str:
        return self.run_dir.name


@dataclass(frozen=True)
class ChampionStart:
    """The champion an `adapt` run continues from."""

    model_path: str
    architecture: str
    run_id: str | None = None


@dataclass(frozen=True)
class FeedbackData:
    """The feedback store's part in a run: how many reviewed rows, how they were used."""

    used: bool
    reason: str
    rows: int = 0
    train_rows: int = 0
    holdout_rows: int = 0
    not_a_digit: int = 0
    quarantined: int = 0
    fingerprint: str | None = None
    path: str | None = None  # feedback.npz
    validation: str = ""  # the Great Expectations report, markdown


@dataclass(frozen=True)
class DataCheck:
    """The Great Expectations validation of a run's data, as stored and published."""

    checks: int
    seconds: float
    markdown: str


@dataclass(frozen=True)
class Worker:
    """The process that trained an ensemble member."""

    host: str
    pid: int
    tf_threads: int | None


@dataclass(frozen=True)
class StageResult:
    """One trained model of the run (baseline, candidate, final, member or ensemble)."""

    stage: str
    architecture: str
    recipe: TrainConfig | None  # None for an ensemble: its members have their own
    model_path: str
    parameters: int
    epochs: int
    augmented: bool
    train_seconds: float
    images_per_second: float
    val_accuracy: float
    history: dict[str, list[float]] = field(default_factory=dict)
    worker: Worker | None = None  # ensemble members: where they trained
    member_val_accuracies: tuple[float, ...] = ()  # the ensemble: each member's score
    workers: tuple[str, ...] = ()  # the ensemble: "host:pid" of every worker used

    def comparison_row(self) -> dict:
        """One row of the baseline / optimized / final comparison table."""
        return {
            "model": self.stage,
            "architecture": self.architecture,
            "parameters": self.parameters,
            "epochs": self.epochs,
            "augmented": self.augmented,
            "train_seconds": self.train_seconds,
            "val_accuracy": self.val_accuracy,
        }


@dataclass(frozen=True)
class Evaluation:
    """The final model on the validation split: estimates, confusions, per-digit report."""

    holdout: AccuracySummary  # on the run's validation split
    confusion_matrix: list[list[int]]
    classification_report: list[dict]
    most_confused: list[dict]
    comparison: list[dict]
    feedback_accuracy: float | None = None  # on the held-out reviewed production digits
    feedback_rows: int = 0
    label_audit: tuple[dict, ...] = ()  # corrections the model still contradicts: check them


@dataclass(frozen=True)
class CrossValidation(FoldSummary):
    """Stratified k-fold accuracy of the final recipe, trained from scratch on each fold: the
    folds' summary (flat, as metrics.json and the report show it) plus each fold's accuracy."""

    fold_accuracies: list[float]
    recipe: TrainConfig


@dataclass(frozen=True)
class ModelExport:
    """The run's model.keras and, per exported runtime, the file kept (None: it disagreed with
    Keras and was discarded) and its share of validation digits predicted as Keras does."""

    model_path: str
    files: dict[str, str | None]
    agreements: dict[str, float]
    accuracies: dict[str, float] = field(default_factory=dict)  # validation, per runtime kept
    auto_runtime: str | None = None  # what `auto` runs: int8 when it is no less accurate


@dataclass(frozen=True)
class Calibration:
    """The temperature fitted on the validation split, and what it did there."""

    temperature: float
    rows: int
    ece_before: float
    ece_after: float
    mean_confidence_before: float
    mean_confidence_after: float
    accuracy: float


@dataclass(frozen=True)
class GateInputs:
    """The "not a digit" gate's rendered images, written as one .npz in the run folder (digits,
    nondigits, held_out: each (n, 28, 28) uint8) for the task that trains the gate, which
    removes it; and how many of each it holds."""

    path: Path
    digits: int
    nondigits: int
    held_out: int


@dataclass(frozen=True)
class Rejection:
    """The "not a digit" gate: its threshold and what it rejects of held-out inputs."""

    threshold: float
    digits_rejected: float  # share of the validation digits
    nondigits_rejected: float  # share of held-out synthetic non-digits
    auc: float
    train_seconds: float
    digits: int
    nondigits: int


@dataclass(frozen=True)
class Submission:
    """The verified Kaggle submission, scored when held-back answers exist."""

    path: str
    rows: int
    predict_images_per_second: float
    hidden_test_accuracy: float | None
    hidden_test_ece: float | None = None  # calibrated confidences against the answers
    hidden_test_ece_raw: float | None = None  # the same before calibration


@dataclass(frozen=True)
class Registration:
    """The registry's record of the run's model and the champion decision."""

    run_id: str
    model_path: str
    profile: str
    architecture: str
    created: str
    data_fingerprint: dict[str, str]
    val_accuracy: float
    hidden_test_accuracy: float | None
    previous_champion: str | None
    previous_champion_val_accuracy: float | None  # on the rows both were scored on (reason)
    promoted: bool
    reason: str
    version: int | None = None  # the MLflow model version of `digitrec`
    previous_version: int | None = None  # the champion's version before this run
    training_key: str | None = None  # data + feedback + code + settings (pipeline.retraining)
    mlflow_run_id: str | None = None
    gate: tuple[SliceVerdict, ...] = ()  # the champion gate's decision table, slice by slice


@dataclass(frozen=True)
class NumberReading:
    """The run's number reader: where it is, whether it was trained here, how well it reads."""

    path: str  # model.number_reader.keras, beside model.keras
    litert: str | None  # its LiteRT export; None when it did not read as Keras does
    trained: bool  # False: the champion's reader, carried over unchanged
    seconds: float  # training time (0 when carried over)
    lines: int  # synthetic numbers it trained on (0 when carried over)
    exact: dict[str, float]  # share of validation numbers read exactly, per spacing
    count: dict[str, float]  # share read with the right number of digits, per spacing
    figure: str  # what it read in some touching validation numbers
    steps: int = 0  # training steps it had (carried over: the champion's reader's)
    note: str = ""  # why the champion's was kept although one was trained here


@dataclass(frozen=True)
class TrainingRun:
    """Everything one run's report is written from."""

    profile: str
    data: DataPaths
    validation: DataCheck
    stages: list[StageResult]
    calibration: Calibration
    rejection: Rejection
    evaluation: Evaluation
    cross_validation: CrossValidation | None
    cv_note: str
    submission: Submission
    registration: Registration
    precision: Precision  # the CPU the run trained on and the precision chosen for it
    numbers: NumberReading | None = None  # None: no reader (DIGITREC_READER_STEPS=0)


@dataclass(frozen=True)
class RunSummary:
    """The training flow's result: where things are and the headline numbers."""

    run_dir: str
    report: str
    model: str
    submission: str
    val_accuracy: float
    hidden_test_accuracy: float | None
    champion: bool
    champion_reason: str
    skipped: bool = False  # nothing new to learn: the champion's run is returned, not repeated
