"""Data steps: find the data, validate it with Great Expectations, draw its figures."""

from __future__ import annotations

from pathlib import Path

from digitrec.data.kaggle import load_csv
from digitrec.data.sources import DataPaths, locate_data
from digitrec.evaluation import figures
from digitrec.pipeline.records import DataCheck
from digitrec.storage import write_bytes_atomic, write_json_atomic


def prepare_data(data_dir: str | None) -> DataPaths:
    """train.csv, test.csv and (when present) the held-back answers of the run's data."""
    return locate_data(data_dir)


def validate_data(data: DataPaths, run_dir: Path) -> DataCheck:
    """Run the Great Expectations suite; store its results; raise when any check failed."""
    from digitrec.data.validation import require_valid, validate_dataset

    report = validate_dataset(data.train_csv, data.test_csv)
    write_json_atomic(run_dir / "validation.json", report.to_dict())
    write_bytes_atomic(run_dir / "validation.md", report.to_markdown().encode())
    require_valid(report)
    return DataCheck(len(report.checks), report.seconds, report.to_markdown())


def visualize_data(data: DataPaths, run_dir: Path) -> dict[str, str]:
    """Data figures: samples per digit, class balance, mean digits, pixel intensities."""
    train = load_csv(data.train_csv, kind="train")
    drawn = {
        "samples": figures.sample_grid(train.images, train.labels),
        "class_balance": figures.class_balance(train.labels),
        "mean_images": figures.mean_images(train.images, train.labels),
        "pixel_histogram": figures.pixel_histogram(train.images),
    }
    return save_figures(run_dir, drawn)


def save_figures(run_dir: Path, drawn: dict[str, bytes]) -> dict[str, str]:
    """Write each PNG as figures/<name>.png; returns {name: path}."""
    return {
        name: str(write_bytes_atomic(run_dir / "figures" / f"{name}.png", png))
        for name, png in drawn.items()
    }
