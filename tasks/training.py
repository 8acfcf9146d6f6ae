"""Training tasks: train one model stage, cross-validate the final recipe."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.modeling.training import EpochCallback, TrainConfig
from digitrec.pipeline import training
from digitrec.pipeline.records import CrossValidation, RunContext, StageResult
from tasks.artifacts import publish_table
from tasks.progress import both, epoch_progress


def print_epoch(stage: str) -> EpochCallback:
    """A per-epoch progress line: loss, accuracy, validation accuracy, time and ETA."""

    def on_epoch(epoch: int, epochs: int, logs: dict[str, float], seconds: float) -> None:
        eta = seconds * (epochs - epoch)
        val = f" val_accuracy {logs['val_accuracy']:.4f}" if "val_accuracy" in logs else ""
        print(
            f"{stage} epoch {epoch}/{epochs}: loss {logs['loss']:.4f} accuracy "
            f"{logs['accuracy']:.4f}{val} ({seconds:.1f}s, ETA {eta:.0f}s)"
        )

    return on_epoch


def print_stage(summary: StageResult, where: str = "") -> None:
    print(
        f"{summary.stage}: validation accuracy {summary.val_accuracy:.4%} in "
        f"{summary.train_seconds:.0f}s ({summary.images_per_second:.0f} images/s){where}"
    )


@task(cache_policy=NO_CACHE, task_run_name="train-{stage}")
def train_stage(
    stage: str, config: TrainConfig, run: RunContext, initial_model: str | None = None
) -> StageResult:
    """Train one model and score it on the validation split; each epoch prints a line and
    moves the stage's progress artifact."""
    on_epoch = both(print_epoch(stage), epoch_progress(stage, config.epochs))
    summary = training.train_stage(stage, config, run, initial_model, on_epoch)
    print_stage(summary)
    return summary


@task(cache_policy=NO_CACHE)
def cross_validate(config: TrainConfig, run: RunContext, folds: int) -> CrossValidation:
    """Stratified k-fold accuracy of the recipe; a progress artifact follows every fold's epochs."""
    on_epoch = epoch_progress("cross-validation", config.epochs, folds)
    summary = training.cross_validate(config, run, folds, on_epoch)
    publish_table(
        "cross-validation",
        [{"fold": i + 1, "accuracy": a} for i, a in enumerate(summary.fold_accuracies)],
        f"{folds}-fold CV: mean {summary.mean:.4%}",
    )
    return summary
