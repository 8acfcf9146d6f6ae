"""Run tasks: the run folder, and the split every later step shares."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.data.sources import DataPaths
from digitrec.pipeline import run
from digitrec.pipeline.records import FeedbackData, RunContext


@task(cache_policy=NO_CACHE)
def start_run(profile: str) -> Path:
    """A new, empty run folder under DIGITREC_HOME/runs."""
    run_dir = run.new_run_dir(profile)
    print(f"run folder: {run_dir}")
    return run_dir


@task(cache_policy=NO_CACHE)
def split_data(
    data: DataPaths, run_dir: Path, fraction: float, seed: int, feedback: FeedbackData
) -> RunContext:
    """The content-hash train/validation split every stage shares, plus the feedback's rows."""
    path = Path(feedback.path) if feedback.used and feedback.path else None
    return run.split_data(data, run_dir, fraction, seed, path)
