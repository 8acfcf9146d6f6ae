"""The `monitor` flow: the prediction log's recent window against the training data (input
drift, predicted classes, confidence, rejections, reviewed accuracy, and production accuracy
with a Wilson interval from the review's random checks); a crossed threshold raises
`digitrec.monitor.drift`, on which `train/retraining` runs (prefect.yaml's triggers)."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from digitrec.loop.monitor import MonitorReport, Thresholds, verdict
from digitrec.loop.monitor.window import MIN_WINDOW
from tasks.monitor import (
    advance_window,
    emit_drift_event,
    measure_log,
    publish_monitor_report,
    track_monitor_run,
)

Share = Annotated[float, Field(gt=0, le=1)]


@flow(name="monitor", log_prints=True)
def monitor(
    since: str | None = None,
    min_records: Annotated[int, Field(ge=0)] = MIN_WINDOW,
    data_dir: str | None = None,
    min_predictions: Annotated[int, Field(ge=1)] = verdict.MIN_PREDICTIONS,
    ks_p: Share = verdict.KS_P,
    ks_statistic: Share = verdict.KS_STATISTIC,
    psi: Annotated[float, Field(gt=0)] = verdict.PSI_LIMIT,
    rejection_rate: Share = verdict.REJECTION_LIMIT,
    low_confidence_rate: Share = verdict.LOW_CONFIDENCE_LIMIT,
    advance: bool = True,
) -> MonitorReport:
    """Monitor the prediction log; returns the report (status "drift", "ok" or "not enough
    data").

    Args:
        since: Start of the window (ISO time); empty means the last monitor run's time.
        min_records: The window holds at least this many of the newest log records.
        data_dir: The training data to compare with (a Kaggle folder); empty means
            $DIGITREC_DATA_DIR when set, else the embedded MNIST.
        min_predictions: Fewer answered predictions (or images, for a statistic) than this
            give "not enough data", never an alarm.
        ks_p: An image statistic drifted when its KS p-value is below this ...
        ks_statistic: ... and its KS distance D is above this.
        psi: Drift when the predicted digits' PSI against the training prior is above this.
        rejection_rate: Drift when more than this share of answers is "not a digit".
        low_confidence_rate: Drift when more than this share of answers is under 0.80.
        advance: Start the next default window at this run (off for a look back that should
            not move the daily window).
    """
    limits = Thresholds(
        min_predictions, ks_p, ks_statistic, psi, rejection_rate, low_confidence_rate
    )
    report = measure_log(since, min_records, limits, data_dir)
    publish_monitor_report(report)
    track_monitor_run(report)
    if report.drift:  # the retraining deployment's trigger listens for this event
        emit_drift_event(report)
    if advance:
        advance_window(report)
    return report
