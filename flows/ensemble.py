"""Ensemble members trained in parallel on a dask.distributed cluster through prefect-dask:
a `LocalCluster` sized to this machine's cores, or an existing cluster's scheduler address."""

from __future__ import annotations

import os
import time

from prefect import flow
from prefect_dask import DaskTaskRunner

from digitrec.modeling import ensemble
from digitrec.modeling.training import TrainConfig
from digitrec.pipeline.records import RunContext, StageResult
from tasks.ensemble import combine_members, train_member

ADDRESS_ENV = "DIGITREC_DASK_ADDRESS"


def dask_runner(members: int, address: str | None) -> tuple[DaskTaskRunner, int | None]:
    """(task runner, TensorFlow threads per member): an existing cluster, or a local one."""
    address = address or os.environ.get(ADDRESS_ENV) or None
    if address:
        return DaskTaskRunner(address=address), None  # its workers are sized by whoever runs them
    workers = ensemble.cluster_workers(members)
    # One single-threaded worker process per member up to the core count; each member's
    # TensorFlow gets the cores // workers threads, so the workers never oversubscribe.
    cluster = {"n_workers": workers, "threads_per_worker": 1, "processes": True}
    return DaskTaskRunner(cluster_kwargs=cluster), ensemble.threads_per_worker(workers)


@flow(name="train-ensemble-members", log_prints=True)
def train_ensemble_members(
    recipes: list[TrainConfig], run: RunContext, threads: int | None
) -> tuple[list[StageResult], float]:
    """Every member as its own task on the Dask workers; returns them with the wall time."""
    started = time.perf_counter()
    futures = [train_member.submit(i, recipe, run, threads) for i, recipe in enumerate(recipes)]
    trained = [future.result() for future in futures]
    return trained, time.perf_counter() - started


def train_ensemble(
    recipes: list[TrainConfig], run: RunContext, dask_address: str | None
) -> tuple[list[StageResult], StageResult]:
    """One member per recipe in parallel on Dask, then (here) the Keras model averaging them."""
    runner, threads = dask_runner(len(recipes), dask_address)
    members, wall_seconds = train_ensemble_members.with_options(task_runner=runner)(
        recipes, run, threads
    )
    return members, combine_members(members, run, wall_seconds)
