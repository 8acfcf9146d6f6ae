"""Training tasks: split, train one model stage, cross-validate."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec import steps
from digitrec.training import TrainConfig
from tasks.artifacts import publish_table


def print_epoch(stage: str):
    """A per-epoch progress line: loss, accuracy, validation accuracy, time and ETA."""

    def on_epoch(epoch: int, epochs: int, logs: dict[str, float], seconds: float) -> None:
        eta = seconds * (epochs - epoch)
        val = f" val_accuracy {logs['val_accuracy']:.4f}" if "val_accuracy" in logs else ""
        print(
            f"{stage} epoch {epoch}/{epochs}: loss {logs['loss']:.4f} accuracy "
            f"{logs['accuracy']:.4f}{val} ({seconds:.1f}s, ETA {eta:.0f}s)"
        )

    return on_epoch


@task(cache_policy=NO_CACHE)
def split_data(train_csv: str, fraction: float, seed: int, run_dir: Path) -> str:
    """The stratified train/validation split every stage shares."""
    return steps.split_data(train_csv, fraction, seed, run_dir)


@task(cache_policy=NO_CACHE, task_run_name="train-{stage}")
def train_stage(
    stage: str,
    config: TrainConfig,
    train_csv: str,
    split_path: str,
    run_dir: Path,
    initial_model: str | None = None,
) -> dict:
    """Train one model and score it on the validation split."""
    summary = steps.train_stage(
        stage, config, train_csv, split_path, run_dir, initial_model, on_epoch=print_epoch(stage)
    )
    print(
        f"{stage}: validation accuracy {summary['val_accuracy']:.4%} "
        f"in {summary['train_seconds']:.0f}s ({summary['images_per_second']:.0f} images/s)"
    )
    return summary


@task(cache_policy=NO_CACHE)
def cross_validate(
    config: TrainConfig, train_csv: str, folds: int, seed: int, run_dir: Path
) -> dict:
    """Stratified k-fold accuracy of the recipe."""
    summary = steps.cross_validate(config, train_csv, folds, seed, run_dir)
    publish_table(
        "cross-validation",
        [{"fold": i + 1, "accuracy": a} for i, a in enumerate(summary["fold_accuracies"])],
        f"{folds}-fold CV: mean {summary['mean']:.4%}",
    )
    return summary


@task(cache_policy=NO_CACHE)
def export_model(final_stage: dict, train_csv: str, split_path: str, run_dir: Path) -> dict:
    """model.keras plus its LiteRT exports (kept only when their predictions agree)."""
    exported = steps.export_model(final_stage, train_csv, split_path, run_dir)
    print(
        "LiteRT export: "
        + (
            "agrees with Keras on the validation split"
            if exported["litert_path"]
            else "disagreed with Keras, not kept (predict uses Keras)"
        )
    )
    print(
        f"LiteRT int8 export: same digit as Keras on {exported['int8_agreement']:.3%} of the "
        + ("validation split, kept" if exported["int8_path"] else "validation split, not kept")
    )
    return exported
