"""Data tasks: prepare, validate (Great Expectations), visualize."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec import markdown as md
from digitrec.data.sources import DataPaths
from digitrec.pipeline import data
from digitrec.pipeline.feedback import gather_feedback
from digitrec.pipeline.records import DataCheck, FeedbackData
from tasks.artifacts import publish_markdown


@task(retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def prepare_data(data_dir: str | None) -> DataPaths:
    """Locate (or build, for the embedded default) train.csv, test.csv and the answers."""
    return data.prepare_data(data_dir)


@task(cache_policy=NO_CACHE)
def validate_data(paths: DataPaths, run_dir: Path) -> DataCheck:
    """Great Expectations suite; the run stops here, with a table of what failed, on bad data."""
    from digitrec.data.validation import ValidationFailed

    try:
        result = data.validate_data(paths, run_dir)
    except ValidationFailed as failed:
        publish_markdown("data-validation", failed.report.to_markdown(), "Failed data checks")
        raise
    publish_markdown("data-validation", result.markdown, "Great Expectations checks")
    return result


@task(cache_policy=NO_CACHE)
def visualize_data(paths: DataPaths, run_dir: Path) -> dict[str, str]:
    """Sample grid, class balance, mean digits and pixel histogram, as figures and an artifact."""
    figures = data.visualize_data(paths, run_dir)
    body = "\n".join(md.image(Path(p).read_bytes(), name) for name, p in figures.items())
    publish_markdown("data-figures", "# Training data\n\n" + body, "Data visualization")
    return figures


@task(cache_policy=NO_CACHE)
def use_feedback(run_dir: Path, use: bool | None) -> FeedbackData:
    """The feedback store's reviewed digits for this run, checked (rows that fail are
    quarantined, never used) and split into training rows and a fixed held-out part."""
    result = gather_feedback(run_dir, use)
    lines = [
        "# Feedback",
        "",
        f"Used: **{'yes' if result.used else 'no'}** ({result.reason}).",
        "",
        md.table(
            [
                {
                    "rows in the store": result.rows,
                    "training": result.train_rows,
                    "held out": result.holdout_rows,
                    "not a digit (gate)": result.not_a_digit,
                    "quarantined": result.quarantined,
                },
            ]
        ),  # fmt: skip
    ]
    if result.quarantined:
        lines += ["", f"Quarantined rows and reasons: `{run_dir / 'feedback_quarantine.json'}`."]
    if result.validation:
        lines += ["", result.validation]
    publish_markdown("feedback", "\n".join(lines), "Feedback rows used by this run")
    print(f"feedback: {result.reason}; used: {result.used}")
    return result
