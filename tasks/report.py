"""Report task: the self-contained run report, as report.md and the `train-report` artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec.report import build_report
from digitrec.steps import write_run_summary
from digitrec.storage import write_text_atomic
from tasks.artifacts import publish_markdown


@task(cache_policy=NO_CACHE)
def publish_report(run_dir: Path, context: dict) -> str:
    """Write metrics.json, history.json and report.md; publish the report as `train-report`."""
    write_run_summary(run_dir, context)
    report = build_report(run_dir, context)
    path = write_text_atomic(run_dir / "report.md", report)
    publish_markdown("train-report", report, f"Training run {run_dir.name}")
    return str(path)
