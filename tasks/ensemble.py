"""Ensemble tasks: train one member (on whichever Dask worker runs it), combine the members."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec import ensemble
from digitrec.training import TrainConfig
from tasks.artifacts import publish_table
from tasks.training import print_epoch


def member_run_name() -> str:
    """Task runs are named like the member's stage (1-based), e.g. train-member-1."""
    from prefect.runtime import task_run

    return f"train-member-{task_run.parameters['index'] + 1}"


@task(cache_policy=NO_CACHE, task_run_name=member_run_name)
def train_member(
    index: int,
    recipe: TrainConfig,
    train_csv: str,
    split_path: str,
    run_dir: Path,
    threads: int | None,
) -> dict:
    """Train ensemble member `index` and score it on the run's validation split."""
    stage = f"member-{index + 1}"
    summary = ensemble.train_member(
        index, recipe, train_csv, split_path, run_dir, threads, on_epoch=print_epoch(stage)
    )
    worker = summary["worker"]
    print(
        f"{stage}: validation accuracy {summary['val_accuracy']:.4%} in "
        f"{summary['train_seconds']:.0f}s on {worker['host']} pid {worker['pid']} "
        f"({worker['tf_threads'] or 'default'} TensorFlow threads)"
    )
    return summary


@task(cache_policy=NO_CACHE)
def combine_members(
    members: list[dict], train_csv: str, split_path: str, run_dir: Path, wall_seconds: float
) -> dict:
    """One Keras model that averages the members; publish every member's score beside it."""
    summary = ensemble.combine_members(members, train_csv, split_path, run_dir, wall_seconds)
    rows = [
        {
            "model": m["stage"],
            "architecture": m["architecture"],
            "seed": m["config"]["seed"],
            "train_seconds": m["train_seconds"],
            "worker": f"{m['worker']['host']}:{m['worker']['pid']}",
            "val_accuracy": m["val_accuracy"],
        }
        for m in members
    ]
    rows.append(
        {
            "model": "ensemble",
            "architecture": summary["architecture"],
            "seed": None,
            "train_seconds": summary["train_seconds"],
            "worker": f"{len(summary['workers'])} workers",
            "val_accuracy": summary["val_accuracy"],
        }
    )
    publish_table(
        "ensemble-members",
        rows,
        f"{len(members)} members and their average on the run's validation split "
        f"(members trained in {summary['train_seconds']:.0f}s wall time)",
    )
    print(f"ensemble: validation accuracy {summary['val_accuracy']:.4%}")
    return summary
