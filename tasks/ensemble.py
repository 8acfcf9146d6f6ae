"""Ensemble tasks: train one member (on whichever Dask worker runs it), combine the members."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.modeling.training import TrainConfig
from digitrec.pipeline import ensemble
from digitrec.pipeline.records import RunContext, StageResult
from tasks.artifacts import publish_table
from tasks.training import print_epoch, print_stage


def member_run_name() -> str:
    """Task runs are named like the member's stage, e.g. train-member-1."""
    from prefect.runtime import task_run

    return f"train-{ensemble.member_stage(task_run.parameters['index'])}"


@task(cache_policy=NO_CACHE, task_run_name=member_run_name)
def train_member(
    index: int, recipe: TrainConfig, run: RunContext, threads: int | None
) -> StageResult:
    """Train ensemble member `index` and score it on the run's validation split."""
    stage = ensemble.member_stage(index)
    summary = ensemble.train_member(index, recipe, run, threads, on_epoch=print_epoch(stage))
    worker = summary.worker
    print_stage(
        summary,
        f" on {worker.host} pid {worker.pid} ({worker.tf_threads or 'default'} TensorFlow threads)",
    )
    return summary


@task(cache_policy=NO_CACHE)
def combine_members(
    members: list[StageResult], run: RunContext, wall_seconds: float
) -> StageResult:
    """One Keras model that averages the members; publish every member's score beside it."""
    summary = ensemble.combine_members(members, run, wall_seconds)
    rows = [
        {
            "model": m.stage,
            "architecture": m.architecture,
            "seed": m.recipe.seed if m.recipe else None,
            "train_seconds": m.train_seconds,
            "worker": f"{m.worker.host}:{m.worker.pid}" if m.worker else None,
            "val_accuracy": m.val_accuracy,
        }
        for m in [*members, summary]
    ]
    rows[-1]["worker"] = f"{len(summary.workers)} workers"
    publish_table(
        "ensemble-members",
        rows,
        f"{len(members)} members and their average on the run's validation split "
        f"(members trained in {summary.train_seconds:.0f}s wall time)",
    )
    print(f"ensemble: validation accuracy {summary.val_accuracy:.4%}")
    return summary
