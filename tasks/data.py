"""Data tasks: prepare, validate (Great Expectations), visualize."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from digitrec import markdown as md
from digitrec.data.sources import DataPaths
from digitrec.pipeline import data
from digitrec.pipeline.records import DataCheck
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
