"""Monitoring tasks: measure the log window, publish it, track it in MLflow, raise the drift
event that the retraining deployment's trigger listens for, and move the window on."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.runtime import flow_run

from digitrec.loop.monitor import MonitorReport, Thresholds, run_monitor, save_last_run, summary
from digitrec.loop.monitor.accuracy import sentence
from digitrec.pipeline.monitoring import track_monitor
from digitrec.storage import monitor_dir, new_stamped_dir
from tasks.artifacts import publish_markdown, publish_table

DRIFT_EVENT = "digitrec.monitor.drift"  # prefect.yaml's retraining trigger expects this
RESOURCE = {"prefect.resource.id": "digitrec.monitor", "prefect.resource.name": "monitor"}


@task(cache_policy=NO_CACHE)
def measure_log(
    since: str | None, min_records: int, limits: Thresholds, data_dir: str | None
) -> MonitorReport:
    """Every statistic of the log window, written to a new folder under DIGITREC_HOME/monitor."""
    report = run_monitor(since, min_records, limits, data_dir, new_stamped_dir(monitor_dir()))
    print(f"monitor: {report.verdict.status}; {report.predictions} predictions in the window")
    for reason in report.verdict.reasons:
        print(f"  {reason}")
    print(f"production accuracy: {sentence(report.random_checks)}")
    return report


@task(cache_policy=NO_CACHE)
def publish_monitor_report(report: MonitorReport) -> None:
    """The verdict, tables and figures as one markdown artifact, plus two table artifacts."""
    publish_markdown(
        "monitor-report", summary.markdown(report), f"monitor: {report.verdict.status}"
    )
    publish_table("monitor-inputs", summary.feature_rows(report), "image statistics, KS tests")
    publish_table("monitor-outputs", summary.class_rows(report), "predicted digits vs prior")


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def track_monitor_run(report: MonitorReport) -> str:
    """The numbers as metrics of a monitor-tagged MLflow run; returns its id."""
    tags = {"prefect.flow_run_id": str(flow_run.id), "prefect.flow_run_name": str(flow_run.name)}
    return track_monitor(report, tags)


@task(cache_policy=NO_CACHE)
def emit_drift_event(report: MonitorReport) -> str | None:
    """`digitrec.monitor.drift` with the numbers; returns the event id (None if not sent)."""
    event = emit_event(event=DRIFT_EVENT, resource=RESOURCE, payload=report.payload())
    return None if event is None else str(event.id)


@task(cache_policy=NO_CACHE)
def advance_window(report: MonitorReport) -> None:
    """The next default window starts when this run read the log."""
    save_last_run(report.time)
