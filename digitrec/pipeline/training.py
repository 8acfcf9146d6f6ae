"""Training steps: one model stage on the run's split, the ranking of candidates, and k-fold
cross-validation of the final recipe."""

from __future__ import annotations

from dataclasses import asdict

from digitrec.arrays import accuracy
from digitrec.data.kaggle import load_csv
from digitrec.data.split import stratified_folds
from digitrec.evaluation.metrics import cv_summary
from digitrec.modeling.training import EpochCallback, TrainConfig, fit, predict_proba
from digitrec.pipeline.records import CrossValidation, RunContext, StageResult, Worker, plain
from digitrec.pipeline.run import feedback_rows, load_split
from digitrec.storage import write_json_atomic, write_with


def train_stage(
    stage: str,
    config: TrainConfig,
    run: RunContext,
    initial_model: str | None = None,
    on_epoch: EpochCallback | None = None,
    worker: Worker | None = None,
) -> StageResult:
    """Train one model on the split's training rows, save it as `models/<stage>.keras`, and
    score it on the validation rows; `worker` records which process trained it. Reviewed
    feedback rows make up `config.emphasis_share` of every batch."""
    train, train_idx, val_idx = load_split(run)
    y_val = train.labels[val_idx]
    result = fit(
        config,
        (train.images[train_idx], train.labels[train_idx]),
        (train.images[val_idx], y_val),
        initial_model_path=initial_model,
        on_epoch=on_epoch,
        emphasis=feedback_rows(run, train_idx),
    )
    model_path = write_with(run.run_dir / "models" / f"{stage}.keras", result.model.save)
    summary = StageResult(
        stage=stage,
        architecture=config.architecture,
        recipe=config,
        model_path=str(model_path),
        parameters=int(result.model.count_params()),
        epochs=config.epochs,
        augmented=config.augmentation is not None,
        train_seconds=round(result.seconds, 2),
        images_per_second=round(result.images_per_second, 1),
        # fit scored the final weights on the validation split after the last epoch; the
        # float32 mean is rounded back to the exact share of correct digits.
        val_accuracy=round(result.history["val_accuracy"][-1] * len(y_val)) / len(y_val),
        history=result.history,
        worker=worker,
    )
    write_json_atomic(run.run_dir / "stages" / f"{stage}.json", plain(summary))
    return summary


def ranked(stages: list[StageResult]) -> list[int]:
    """Positions of the stages, best validation accuracy first (ties: the earliest first)."""
    return sorted(range(len(stages)), key=lambda i: -stages[i].val_accuracy)


def cv_note(profile: str, folds: int, recipe: TrainConfig) -> str:
    """The report's line on cross-validation: what it retrains, or why it is off."""
    if folds >= 2:
        return (
            f"Cross-validation retrains the final recipe ({recipe.architecture}, "
            f"{recipe.epochs} augmented epochs) from scratch on each of {folds} folds."
        )
    return (
        f"Cross-validation is off in the {profile} profile: each fold is another full "
        "training, over this profile's time budget. Set cv_folds to turn it on."
    )


def cross_validate(
    config: TrainConfig, run: RunContext, folds: int, on_epoch: EpochCallback | None = None
) -> CrossValidation:
    """Stratified k-fold accuracy of a training recipe on the whole train set."""
    train = load_csv(run.data.train_csv, kind="train")
    accuracies = []
    for fold, (train_idx, val_idx) in enumerate(stratified_folds(train.labels, folds, run.seed)):
        result = fit(config, (train.images[train_idx], train.labels[train_idx]), on_epoch=on_epoch)
        probs = predict_proba(result.model, train.images[val_idx])  # (N_fold, 10)
        accuracies.append(accuracy(train.labels[val_idx], probs))
        print(f"fold {fold + 1}/{folds}: accuracy {accuracies[-1]:.4%}")
    folds_seen = asdict(cv_summary(accuracies))
    summary = CrossValidation(**folds_seen, fold_accuracies=accuracies, recipe=config)
    write_json_atomic(run.run_dir / "cross_validation.json", plain(summary))
    return summary
