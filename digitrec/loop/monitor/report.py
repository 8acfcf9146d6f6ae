"""One monitor run over a window of the prediction log: every number, the verdict, and the
files (report.json, figures) a run folder keeps. Tasks pass the small `MonitorReport` on;
the arrays stay here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from digitrec.loop import feedback
from digitrec.loop.monitor.accuracy import RandomChecks, images_per_prediction, random_checks
from digitrec.loop.monitor.features import FEATURES, image_features
from digitrec.loop.monitor.figures import inputs_figure, outputs_figure
from digitrec.loop.monitor.reference import Reference, load_reference
from digitrec.loop.monitor.stats import (
    ClassShift,
    FeatureShift,
    class_shift,
    feature_shift,
    rate,
    rounded,
)
from digitrec.loop.monitor.stats import (
    confidence_histogram as confidence_counts,
)
from digitrec.loop.monitor.verdict import Measured, Thresholds, Verdict, judge
from digitrec.loop.monitor.window import MIN_WINDOW, Window, contents, reviewed, select
from digitrec.loop.store import utc_now
from digitrec.storage import write_bytes_atomic, write_json_atomic


@dataclass(frozen=True)
class MonitorReport:
    """What a monitor run found, small enough for a task result, an event and MLflow."""

    time: str  # when the run read the log (the next window starts here)
    since: str | None  # the window's lower bound (the last run), if any
    window_start: str | None  # first and last record times in the window
    window_end: str | None
    records: int  # log records in the window (a CSV batch is one record)
    new_records: int  # records since `since`
    predictions: int  # inputs and CSV rows
    errors: int
    answered: int
    images: int  # 28x28 images the model saw (a number has one per digit)
    rejection_rate: float | None
    low_confidence_rate: float | None
    classes: ClassShift
    prior: tuple[float, ...]
    features: tuple[FeatureShift, ...]
    confidence_histogram: tuple[int, ...]  # CONFIDENCE_BINS bins over [0, 1]
    reviewed: int  # window records a person labelled
    reviewed_accuracy: float | None  # of the reviewed ones: mostly doubtful, so biased low
    random_checks: RandomChecks  # production accuracy, unbiased: the review's random share
    reference_fingerprint: str
    thresholds: Thresholds
    verdict: Verdict
    files: dict[str, str] = field(default_factory=dict)  # name -> path in the run folder

    @property
    def drift(self) -> bool:
        return self.verdict.drift

    def to_dict(self) -> dict:
        data = asdict(self)
        data["status"] = self.verdict.status
        return data

    def metrics(self) -> dict[str, float]:
        """The numbers as flat MLflow metrics (absent values left out)."""
        values: dict[str, float | None] = {
            "records": self.records,
            "predictions": self.predictions,
            "answered": self.answered,
            "images": self.images,
            "rejection_rate": self.rejection_rate,
            "low_confidence_rate": self.low_confidence_rate,
            "class_psi": self.classes.psi,
            "class_chi_square": self.classes.chi_square,
            "class_chi_square_p": self.classes.chi_square_p,
            "reviewed": self.reviewed,
            "reviewed_accuracy": self.reviewed_accuracy,
            **self.random_check_metrics(),
            "drift": float(self.drift),
        }
        for shift in self.features:
            values[f"{shift.feature}.ks_statistic"] = shift.ks_statistic
            values[f"{shift.feature}.ks_p"] = shift.ks_p
            values[f"{shift.feature}.mean"] = shift.window_mean
        return {k: float(v) for k, v in values.items() if v is not None}

    def random_check_metrics(self) -> dict[str, float | None]:
        """The random checks' estimate; `random_checks_in_window` 0 means it counts the checks
        of any time, the window holding none."""
        checks = self.random_checks
        return {
            "random_checks": checks.checked,
            "random_check_accuracy": checks.accuracy,
            "random_check_accuracy_low": checks.low,
            "random_check_accuracy_high": checks.high,
            "random_checks_in_window": None if checks.scope == "none" else checks.scope == "window",
        }

    def payload(self) -> dict:
        """The event payload: the verdict and its numbers, JSON-safe and small."""
        return {
            "status": self.verdict.status,
            "reasons": list(self.verdict.reasons),
            "window_start": self.window_start,
            "window_end": self.window_end,
            "predictions": self.predictions,
            "random_checks_scope": self.random_checks.scope,
            **{k: rounded(v) for k, v in self.metrics().items()},
        }


def run_monitor(
    since: str | None = None,
    min_records: int = MIN_WINDOW,
    thresholds: Thresholds | None = None,
    data_dir: str | None = None,
    out_dir: Path | None = None,
    reference: Reference | None = None,
) -> MonitorReport:
    """Monitor the log window (see window.select) against the training data in `data_dir`;
    with `out_dir`, also write report.json and the figures there."""
    now = utc_now()  # before reading: records logged during this run fall in the next window
    window = select(since, min_records)
    reference = reference or load_reference(data_dir)
    report, window_features = measure(window, reference, thresholds or Thresholds(), now)
    if out_dir is None:
        return report
    return write_files(report, window_features, reference, Path(out_dir))


def measure(
    window: Window, reference: Reference, limits: Thresholds, now: str
) -> tuple[MonitorReport, dict[str, np.ndarray]]:
    """Every statistic of one window; also returns the window's image statistics (for figures)."""
    seen = contents(window.records)
    values = image_features(seen.images)  # name -> (m,)
    shifts = tuple(feature_shift(n, values[n], reference.features[n]) for n in FEATURES)
    classes = class_shift(seen.class_counts, reference.prior)
    labels = {r.prediction_id: r.label for r in feedback.latest_labels() if r.prediction_id}
    n_reviewed, right = reviewed(window.records, labels)
    measured = Measured(
        answered=seen.answered,
        rejection_rate=rate(seen.rejected, seen.answered),
        low_confidence_rate=rate(seen.low_confidence, seen.answered),
        psi=classes.psi,
        features=tuple((s.feature, s.ks_statistic, s.ks_p, s.samples) for s in shifts),
    )
    report = MonitorReport(
        time=now,
        since=window.since,
        window_start=window.start,
        window_end=window.end,
        records=len(window.records),
        new_records=window.new,
        predictions=seen.predictions,
        errors=seen.errors,
        answered=seen.answered,
        images=len(seen.images),
        rejection_rate=measured.rejection_rate,
        low_confidence_rate=measured.low_confidence_rate,
        classes=classes,
        prior=tuple(float(p) for p in reference.prior),
        features=shifts,
        confidence_histogram=tuple(confidence_counts(seen.confidences)),
        reviewed=n_reviewed,
        reviewed_accuracy=rate(right, n_reviewed),
        random_checks=random_checks(feedback.read(), images_per_prediction(window.records)),
        reference_fingerprint=reference.fingerprint,
        thresholds=limits,
        verdict=judge(measured, limits),
    )
    return report, values


def write_files(
    report: MonitorReport,
    window_features: dict[str, np.ndarray],
    reference: Reference,
    out_dir: Path,
) -> MonitorReport:
    """report.json and the figures in `out_dir`, each written atomically."""
    files = {
        "inputs_figure": write_bytes_atomic(
            out_dir / "inputs.png", inputs_figure(window_features, reference.features)
        ),
        "outputs_figure": write_bytes_atomic(
            out_dir / "outputs.png",
            outputs_figure(report.classes, report.prior, report.confidence_histogram),
        ),
    }
    files["report"] = out_dir / "report.json"
    done = replace(report, files={name: str(path) for name, path in files.items()})
    write_json_atomic(out_dir / "report.json", done.to_dict())
    return done
