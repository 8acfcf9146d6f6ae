"""Ensemble steps: train one member on whichever worker process runs it, then combine the
members into one averaging model scored like any stage.

Honest validation: every member fits the run's training rows on a fixed schedule and only
reports its per-epoch curve on the validation rows; no epoch or checkpoint is chosen by them,
and no member ever trains on them."""

from __future__ import annotations

import os
import socket

from digitrec.arrays import accuracy
from digitrec.modeling.ensemble import build_ensemble, describe_members, limit_tensorflow_threads
from digitrec.modeling.training import EpochCallback, TrainConfig
from digitrec.pipeline.records import RunContext, StageResult, Worker, plain
from digitrec.pipeline.run import probabilities, validation_rows
from digitrec.pipeline.training import train_stage
from digitrec.storage import write_json_atomic


def member_stage(index: int) -> str:
    """Member `index` (0-based) is stage member-<index + 1>."""
    return f"member-{index + 1}"


def train_member(
    index: int,
    recipe: TrainConfig,
    run: RunContext,
    threads: int | None = None,
    on_epoch: EpochCallback | None = None,
) -> StageResult:
    """Train one member with its own recipe, recording which worker process trained it."""
    in_force = limit_tensorflow_threads(threads) if threads else None
    worker = Worker(host=socket.gethostname(), pid=os.getpid(), tf_threads=in_force)
    return train_stage(member_stage(index), recipe, run, on_epoch=on_epoch, worker=worker)


def combine_members(
    members: list[StageResult], run: RunContext, wall_seconds: float
) -> StageResult:
    """The ensemble as a stage: models/ensemble.keras, scored on the run's validation rows."""
    model_path = build_ensemble(
        [m.model_path for m in members], run.run_dir / "models" / "ensemble.keras"
    )
    x_val, y_val = validation_rows(run)
    trained_images = sum(m.images_per_second * m.train_seconds for m in members)
    summary = StageResult(
        stage="ensemble",
        architecture=describe_members([m.architecture for m in members]),
        recipe=None,
        model_path=str(model_path),
        parameters=sum(m.parameters for m in members),
        epochs=members[0].epochs,
        augmented=members[0].augmented,
        train_seconds=round(wall_seconds, 2),
        images_per_second=round(trained_images / wall_seconds, 1),
        val_accuracy=accuracy(y_val, probabilities(model_path, x_val)),
        member_val_accuracies=tuple(m.val_accuracy for m in members),
        workers=tuple(sorted({f"{m.worker.host}:{m.worker.pid}" for m in members if m.worker})),
    )
    write_json_atomic(run.run_dir / "stages" / "ensemble.json", plain(summary))
    return summary
