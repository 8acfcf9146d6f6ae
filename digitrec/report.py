"""The run report: one self-contained markdown document (figures embedded as data URIs), used
both as the run folder's report.md and as the `train-report` Prefect artifact."""

from __future__ import annotations

from pathlib import Path

from digitrec import markdown as md

FIGURE_TITLES = {
    "samples": "Samples per digit",
    "class_balance": "Class balance",
    "mean_images": "Mean image per digit",
    "pixel_histogram": "Pixel intensities",
    "training_curves": "Training curves",
    "model_comparison": "Model comparison",
    "confusion_matrix": "Confusion matrix",
    "misclassified": "Misclassified validation digits (most confident first)",
}


def figure(run_dir: Path, name: str) -> str:
    path = run_dir / "figures" / f"{name}.png"
    return md.image(path.read_bytes(), FIGURE_TITLES[name]) if path.exists() else ""


def accuracy_rows(metrics: dict, cv: dict | None, submission: dict) -> list[dict]:
    """Every accuracy estimate, one row each, with its interval where it has one."""
    holdout = metrics["holdout"]
    rows = [
        {
            "method": "holdout (Wilson 95%)",
            "accuracy": holdout["accuracy"],
            "low": holdout["wilson_low"],
            "high": holdout["wilson_high"],
            "n": holdout["n"],
        },
        {
            "method": "holdout (bootstrap 95%)",
            "accuracy": holdout["accuracy"],
            "low": holdout["bootstrap_low"],
            "high": holdout["bootstrap_high"],
            "n": holdout["n"],
        },
    ]
    if cv:
        rows.append(
            {
                "method": f"{cv['folds']}-fold CV (t 95%)",
                "accuracy": cv["mean"],
                "low": cv["ci_low"],
                "high": cv["ci_high"],
                "n": cv["folds"],
            }
        )
    if submission.get("hidden_test_accuracy") is not None:
        rows.append(
            {
                "method": "hidden test (held-back answers)",
                "accuracy": submission["hidden_test_accuracy"],
                "low": None,
                "high": None,
                "n": submission["rows"],
            }
        )
    return rows


def build_report(run_dir: Path, context: dict) -> str:
    """The whole report; `context` holds the step results the flow gathered."""
    metrics = context["evaluation"]
    submission, registration = context["submission"], context["registration"]
    cv = context.get("cross_validation")
    head = (
        f"# digitrec training run `{run_dir.name}`\n\n"
        f"Profile **{context['profile']}**, data `{context['data']['data_dir']}`, "
        f"final model **{registration['architecture']}**: validation accuracy "
        f"**{metrics['holdout']['accuracy']:.4%}**"
        + (
            f", hidden-test accuracy **{submission['hidden_test_accuracy']:.4%}**"
            if submission.get("hidden_test_accuracy") is not None
            else ""
        )
        + f". Champion: **{'yes' if registration['promoted'] else 'no'}** "
        f"({registration['reason']}).\n"
    )
    parts = [
        head,
        md.section("Data validation", context["validation"]["markdown"]),
        md.section(
            "Data",
            "\n".join(
                figure(run_dir, n)
                for n in ("samples", "class_balance", "mean_images", "pixel_histogram")
            ),
        ),
        md.section(
            "Models: baseline, optimized, final",
            md.table(metrics["comparison"])
            + "\n"
            + figure(run_dir, "model_comparison")
            + "\n"
            + figure(run_dir, "training_curves"),
        ),
        md.section(
            "Accuracy estimates",
            md.table(accuracy_rows(metrics, cv, submission))
            + ("\n" + context["cv_note"] + "\n" if context.get("cv_note") else ""),
        ),
        md.section("Confusion matrix", figure(run_dir, "confusion_matrix")),
        md.section("Classification report", md.table(metrics["classification_report"])),
        md.section("Most confused pairs", md.table(metrics["most_confused"])),
        md.section("Misclassified digits", figure(run_dir, "misclassified")),
        md.section("Submission", md.table([{k: v for k, v in submission.items()}])),
        md.section("Run folder", file_listing(run_dir)),
    ]
    return "\n".join(parts)


def file_listing(run_dir: Path) -> str:
    """Every file in the run folder with its size; report.md is written after this listing."""
    rows = [
        {"file": str(p.relative_to(run_dir)), "bytes": p.stat().st_size}
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and p.name != "report.md"
    ]
    return md.table([*rows, {"file": "report.md", "bytes": None}])
