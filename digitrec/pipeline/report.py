"""Report step: the run's headline metrics, every stage's curve, and the report: one
self-contained markdown document (figures embedded as data URIs), used both as the run folder's
report.md and as the `train-report` Prefect artifact."""

from __future__ import annotations

from pathlib import Path

from digitrec import markdown as md
from digitrec.pipeline.records import RunSummary, TrainingRun, plain
from digitrec.storage import write_json_atomic, write_text_atomic


def write_run_summary(run_dir: Path, outcome: TrainingRun) -> dict:
    """metrics.json (the run's headline numbers) and history.json (every stage's epochs)."""
    write_json_atomic(run_dir / "history.json", {s.stage: s.history for s in outcome.stages})
    cv = outcome.cross_validation
    summary = {
        "run_id": run_dir.name,
        "profile": outcome.profile,
        "holdout": plain(outcome.evaluation.holdout),
        "hidden_test_accuracy": outcome.submission.hidden_test_accuracy,
        "cross_validation": plain(cv) if cv else None,
        "models": outcome.evaluation.comparison,
        "calibration": plain(outcome.calibration),
        "rejection": plain(outcome.rejection),
        "numbers": plain(outcome.numbers) if outcome.numbers else None,
        "champion": outcome.registration.promoted,
        "champion_reason": outcome.registration.reason,
        "precision": plain(outcome.precision),
    }
    write_json_atomic(run_dir / "metrics.json", summary)
    return summary


def write_report(run_dir: Path, outcome: TrainingRun) -> tuple[Path, str]:
    """metrics.json, history.json and report.md; returns the report's path and text."""
    write_run_summary(run_dir, outcome)
    report = build_report(run_dir, outcome)
    return write_text_atomic(run_dir / "report.md", report), report


FIGURE_TITLES = {
    "samples": "Samples per digit",
    "class_balance": "Class balance",
    "mean_images": "Mean image per digit",
    "pixel_histogram": "Pixel intensities",
    "training_curves": "Training curves",
    "model_comparison": "Model comparison",
    "confusion_matrix": "Confusion matrix",
    "misclassified": "Misclassified validation digits (most confident first)",
    "reliability": "Reliability before and after temperature scaling",
    "rejection_roc": "Not-a-digit rejection ROC",
    "number_reader": "Written numbers whose digits touch, as the number reader read them",
}


def figure(run_dir: Path, name: str) -> str:
    path = run_dir / "figures" / f"{name}.png"
    return md.image(path.read_bytes(), FIGURE_TITLES[name]) if path.exists() else ""


def accuracy_rows(outcome: TrainingRun) -> list[dict]:
    """Every accuracy estimate, one row each, with its interval where it has one."""
    holdout, cv = outcome.evaluation.holdout, outcome.cross_validation
    rows = [
        row(
            "holdout (Wilson 95%)",
            holdout.accuracy,
            holdout.wilson_low,
            holdout.wilson_high,
            holdout.n,
        ),
        row(
            "holdout (bootstrap 95%)",
            holdout.accuracy,
            holdout.bootstrap_low,
            holdout.bootstrap_high,
            holdout.n,
        ),
    ]
    if cv:
        rows.append(row(f"{cv.folds}-fold CV (t 95%)", cv.mean, cv.ci_low, cv.ci_high, cv.folds))
    hidden = outcome.submission.hidden_test_accuracy
    if hidden is not None:
        rows.append(
            row("hidden test (held-back answers)", hidden, None, None, outcome.submission.rows)
        )
    reviewed = outcome.evaluation.feedback_accuracy
    if reviewed is not None:
        n = outcome.evaluation.feedback_rows
        rows.append(row("reviewed production digits (feedback holdout)", reviewed, None, None, n))
    return rows


def row(method: str, accuracy: float, low: float | None, high: float | None, n: int) -> dict:
    return {"method": method, "accuracy": accuracy, "low": low, "high": high, "n": n}


def build_report(run_dir: Path, outcome: TrainingRun) -> str:
    """The whole report, written from the run's records."""
    evaluation, submission = outcome.evaluation, outcome.submission
    registration = outcome.registration
    hidden = submission.hidden_test_accuracy
    head = (
        f"# digitrec training run `{run_dir.name}`\n\n"
        f"Profile **{outcome.profile}**, data `{outcome.data.data_dir}`, "
        f"final model **{registration.architecture}**: validation accuracy "
        f"**{evaluation.holdout.accuracy:.4%}**"
        + (f", hidden-test accuracy **{hidden:.4%}**" if hidden is not None else "")
        + f". Champion: **{'yes' if registration.promoted else 'no'}** "
        f"({registration.reason}).\n\n"
        f"Trained in **{outcome.precision.precision}** ({outcome.precision.reason}; "
        f"setting `{outcome.precision.setting}`) on {outcome.precision.cpu.describe()}.\n"
    )
    data_figures = ("samples", "class_balance", "mean_images", "pixel_histogram")
    parts = [
        head,
        md.section("Data validation", outcome.validation.markdown),
        md.section("Data", "\n".join(figure(run_dir, n) for n in data_figures)),
        md.section(
            "Models: baseline, optimized, final",
            md.table(evaluation.comparison)
            + "\n"
            + figure(run_dir, "model_comparison")
            + "\n"
            + figure(run_dir, "training_curves"),
        ),
        md.section(
            "Accuracy estimates", md.table(accuracy_rows(outcome)) + "\n" + outcome.cv_note + "\n"
        ),
        md.section("Calibration", calibration_section(run_dir, outcome)),
        md.section("Not a digit", rejection_section(run_dir, outcome)),
        md.section("Written numbers", numbers_section(run_dir, outcome)),
        md.section("Confusion matrix", figure(run_dir, "confusion_matrix")),
        md.section("Classification report", md.table(evaluation.classification_report)),
        md.section("Most confused pairs", md.table(evaluation.most_confused)),
        md.section("Misclassified digits", figure(run_dir, "misclassified")),
        md.section("Submission", md.table([plain(submission)])),
        md.section("Champion gate", gate_section(registration)),
        md.section("Check these labels", audit_section(evaluation)),
        md.section("Run folder", file_listing(run_dir)),
    ]
    return "\n".join(parts)


def audit_section(evaluation) -> str:
    """Corrections the model still strongly contradicts (never dropped: a person decides)."""
    if not evaluation.label_audit:
        return "No reviewed training row is strongly contradicted by the model.\n"
    note = (
        f"{len(evaluation.label_audit)} reviewed rows the model still reads as another digit "
        "with high confidence; they were trained on as labelled. Relabel them with "
        "`digitrec label` or in the review flow if the label is wrong.\n\n"
    )
    return note + md.table(list(evaluation.label_audit)) + "\n"


def gate_section(registration) -> str:
    """The champion-vs-challenger decision table, slice by slice."""
    if not registration.gate:
        return "No gate was run (promotion was not asked for).\n"
    verdict = "promoted" if registration.promoted else "kept the champion"
    rows = [v.row() for v in registration.gate]
    return f"Decision: **{verdict}** ({registration.reason}).\n\n" + md.table(rows) + "\n"


def calibration_section(run_dir: Path, outcome: TrainingRun) -> str:
    """ECE (15 bins) before and after temperature scaling, on validation and the hidden test."""
    c, submission = outcome.calibration, outcome.submission
    rows = [
        {
            "rows": f"validation ({c.rows:,}, fitted on)",
            "ECE before": c.ece_before,
            "ECE after": c.ece_after,
            "mean confidence after": c.mean_confidence_after,
            "accuracy": c.accuracy,
        },
    ]
    if submission.hidden_test_ece is not None:
        rows.append(
            {
                "rows": f"hidden test ({submission.rows:,})",
                "ECE before": submission.hidden_test_ece_raw,
                "ECE after": submission.hidden_test_ece,
                "accuracy": submission.hidden_test_accuracy,
            }
        )
    text = (
        f"Temperature {c.temperature:.4f} (below 1 sharpens), fitted on the validation split.\n\n"
    )
    return text + md.table(rows) + "\n" + figure(run_dir, "reliability")


def rejection_section(run_dir: Path, outcome: TrainingRun) -> str:
    """The gate's threshold and what it rejects of held-out digits and non-digits."""
    r = outcome.rejection
    text = (
        f"A gate CNN trained on {r.digits:,} training digits and {r.nondigits:,} synthetic "
        f"non-digits (letters, symbols, shapes, scribbles) in {r.train_seconds:.0f} s. An "
        f"input's score is the gate's probability plus the digit model's doubt (1 - its "
        f"confidence). The threshold {r.threshold:.4f} rejects {r.digits_rejected:.2%} of the "
        f"validation digits "
        f"and {r.nondigits_rejected:.2%} of held-out synthetic non-digits (AUC {r.auc:.4f}).\n\n"
    )
    return text + figure(run_dir, "rejection_roc")


def numbers_section(run_dir: Path, outcome: TrainingRun) -> str:
    """How the number reader reads validation digits written as numbers, by spacing."""
    n = outcome.numbers
    if n is None:
        return "No number reader: DIGITREC_READER_STEPS=0 and the champion has none.\n"
    origin = (
        f"Trained here in {n.seconds:.0f} s on {n.lines:,} synthetic numbers of training digits."
        if n.trained
        else "The champion's reader, carried over unchanged."
    )
    rows = [
        {
            "spacing": s,
            "read exactly": f"{n.exact[s]:.1%}",
            "digit count right": f"{n.count[s]:.1%}",
        }
        for s in n.exact
    ]
    text = f"{origin} Measured on numbers of 2-10 validation digits.\n\n"
    return text + md.table(rows) + "\n" + figure(run_dir, "number_reader")


def file_listing(run_dir: Path) -> str:
    """Every file in the run folder with its size; report.md is written after this listing."""
    rows = [
        {"file": str(p.relative_to(run_dir)), "bytes": p.stat().st_size}
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and p.name != "report.md"
    ]
    return md.table([*rows, {"file": "report.md", "bytes": None}])


def run_summary(run_dir: Path, report: str, outcome: TrainingRun) -> RunSummary:
    """The headline numbers of a finished run, and where its files are."""
    return RunSummary(
        run_dir=str(run_dir),
        report=report,
        model=outcome.registration.model_path,
        submission=outcome.submission.path,
        val_accuracy=outcome.evaluation.holdout.accuracy,
        hidden_test_accuracy=outcome.submission.hidden_test_accuracy,
        champion=outcome.registration.promoted,
        champion_reason=outcome.registration.reason,
    )
