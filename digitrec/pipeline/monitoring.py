"""Monitor runs in MLflow: each one a run in the `digitrec` experiment, tagged as a monitor run
(`digitrec.kind=monitor`), so its numbers chart over time beside the training runs."""

from __future__ import annotations

import time

from digitrec.loop.monitor import MonitorReport
from digitrec.registry import backend

KIND_TAG = "digitrec.kind"
KIND = "monitor"


def track_monitor(report: MonitorReport, tags: dict[str, str] | None = None) -> str:
    """Log a monitor report's numbers as metrics and its verdict as tags; returns the run id."""
    from mlflow.entities import Metric, Param

    client = backend.client()
    all_tags = {
        KIND_TAG: KIND,
        "monitor.status": report.verdict.status,
        "monitor.reasons": "; ".join(report.verdict.reasons)[:5000] or "-",
        "monitor.window": f"{report.window_start} .. {report.window_end}",
        "data_fingerprint": report.reference_fingerprint,
        **(tags or {}),
    }
    name = f"monitor-{report.time}"
    run = client.create_run(backend.experiment_id(client), run_name=name, tags=all_tags)
    now = int(time.time() * 1000)
    metrics = [Metric(key, value, now, 0) for key, value in report.metrics().items()]
    params = [Param(f"threshold.{k}", str(v)) for k, v in vars(report.thresholds).items()]
    client.log_batch(run.info.run_id, metrics=metrics, params=params)
    for path in report.files.values():  # report.json and the figures
        client.log_artifact(run.info.run_id, path)
    client.set_terminated(run.info.run_id)
    return run.info.run_id
