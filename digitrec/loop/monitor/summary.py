"""A monitor report as people read it: table rows and the markdown of the run's artifact."""

from __future__ import annotations

from pathlib import Path

from digitrec import markdown as md
from digitrec.constants import DIGITS
from digitrec.loop.monitor.accuracy import sentence
from digitrec.loop.monitor.features import FEATURE_HELP
from digitrec.loop.monitor.report import MonitorReport
from digitrec.loop.monitor.stats import rounded


def headline_row(report: MonitorReport) -> dict:
    """The window's volume, rates and the verdict, one row."""
    return {
        "status": report.verdict.status,
        "window": f"{report.window_start} .. {report.window_end}",
        "records": report.records,
        "new since last run": report.new_records,
        "predictions": report.predictions,
        "errors": report.errors,
        "rejection rate": rounded(report.rejection_rate, 4),
        "low-confidence rate": rounded(report.low_confidence_rate, 4),
        "class PSI": rounded(report.classes.psi, 4),
        "class chi-square p": rounded(report.classes.chi_square_p, 4),
        "reviewed": report.reviewed,
        "reviewed accuracy": rounded(report.reviewed_accuracy, 4),
    }


def random_check_row(report: MonitorReport) -> dict:
    """Production accuracy on the review's random checks, with its Wilson 95% interval."""
    checks = report.random_checks
    return {
        "checks": checks.scope,
        "predictions checked": checks.checked,
        "right": checks.right,
        "accuracy": rounded(checks.accuracy, 4),
        "Wilson 95% low": rounded(checks.low, 4),
        "Wilson 95% high": rounded(checks.high, 4),
    }


def feature_rows(report: MonitorReport) -> list[dict]:
    """One row per image statistic: window against training, KS D and p."""
    return [
        {
            "statistic": shift.feature,
            "meaning": FEATURE_HELP[shift.feature],
            "window mean": rounded(shift.window_mean, 4),
            "training mean": rounded(shift.reference_mean, 4),
            "KS D": rounded(shift.ks_statistic, 4),
            "KS p": None if shift.ks_p is None else float(f"{shift.ks_p:.3g}"),
            "images": shift.samples,
        }
        for shift in report.features
    ]


def class_rows(report: MonitorReport) -> list[dict]:
    """One row per digit: predicted count and share against the training prior."""
    total = sum(report.classes.counts) or 1
    return [
        {
            "digit": str(d),
            "predicted": report.classes.counts[d],
            "share": rounded(report.classes.counts[d] / total, 4),
            "training prior": rounded(report.prior[d], 4),
        }
        for d in DIGITS
    ]


def markdown(report: MonitorReport) -> str:
    """The verdict with its reasons, the tables and the figures."""
    reasons = "\n".join(f"- {reason}" for reason in report.verdict.reasons) or "- none"
    limits = ", ".join(f"{k} {v}" for k, v in vars(report.thresholds).items())
    parts = [
        md.section(f"Monitor: {report.verdict.status}", f"{reasons}\n\nThresholds: {limits}."),
        md.table([headline_row(report)]),
        md.section(
            "Production accuracy: the review's random checks",
            f"{sentence(report.random_checks)} Random checks are drawn uniformly from the "
            "unreviewed predictions, so unlike the reviewed accuracy above (mostly the most "
            "doubtful ones) they estimate accuracy on everything served.\n",
            3,
        ),
        md.table([random_check_row(report)]),
        md.section("Inputs: image statistics against the training images", "", 3),
        md.table(feature_rows(report)),
        md.section("Outputs: predicted digits and confidence", "", 3),
        md.table(class_rows(report)),
    ]
    for name in ("inputs_figure", "outputs_figure"):
        if name in report.files:
            parts.append(md.image(Path(report.files[name]).read_bytes(), name.replace("_", " ")))
    return "\n".join(parts)
