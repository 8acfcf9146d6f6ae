"""Report task: the self-contained run report, as report.md and the `train-report` artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.pipeline.records import TrainingRun
from digitrec.pipeline.report import write_report
from tasks.artifacts import publish_markdown


@task(cache_policy=NO_CACHE)
def publish_report(run_dir: Path, outcome: TrainingRun) -> str:
    """Write metrics.json, history.json and report.md; publish the report as `train-report`."""
    path, report = write_report(run_dir, outcome)
    publish_markdown("train-report", report, f"Training run {run_dir.name}")
    return str(path)
