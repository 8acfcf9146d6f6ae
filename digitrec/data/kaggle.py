"""Load Kaggle-format digit CSVs fast, and refuse bad ones with an error that names the place."""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from digitrec.arrays import first_non_digit
from digitrec.constants import IMAGE_SIZE, LABEL_COLUMN, NUM_CLASSES, PIXEL_COLUMNS, TRAIN_COLUMNS
from digitrec.storage import cache_dir, write_with

Kind = Literal["train", "test", "auto"]
CACHE_VERSION = "1"
EXCERPT_CHARS = 20  # the most of a file's text an error message repeats


class DataError(ValueError):
    """A data file is unusable; the message names the file and the place."""


@dataclass(frozen=True)
class Digits:
    """Images as uint8 (N, 28, 28) and, for train files, uint8 labels (N,)."""

    images: np.ndarray
    labels: np.ndarray | None
    source: str

    def __len__(self) -> int:
        return len(self.images)


def excerpt(value: str) -> str:
    """A file's text as an error message may repeat it: at most 20 printable characters, so a
    hostile or binary file cannot flood a log or a UI."""
    clipped = "".join(c if c.isprintable() else "?" for c in value[:EXCERPT_CHARS])
    return clipped + ("..." if len(value) > EXCERPT_CHARS else "")


def read_header(path: Path) -> list[str]:
    """The header's column names; raises DataError for a missing or empty file."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    if not first.strip():
        raise DataError(f"{path}: empty file (expected a header line)")
    return [name.strip().strip('"') for name in first.rstrip("\r\n").split(",")]


def expected_columns(path: Path, header: list[str], kind: Kind) -> tuple[str, ...]:
    """Check the header against the Kaggle layout; return the expected columns."""
    if kind == "auto":
        kind = "train" if header and header[0] == LABEL_COLUMN else "test"
    expected = TRAIN_COLUMNS if kind == "train" else PIXEL_COLUMNS
    for i, (got, want) in enumerate(zip(header, expected, strict=False)):
        if got != want:
            raise DataError(
                f"{path}: column {i + 1} is '{excerpt(got)}', expected {want!r} ({kind} layout)"
            )
    if len(header) != len(expected):
        extra_or_missing = "extra column" if len(header) > len(expected) else "missing columns"
        raise DataError(
            f"{path}: {len(header)} columns, expected {len(expected)} ({extra_or_missing}; "
            f"{kind} layout is {expected[0]}..{expected[-1]})"
        )
    return expected


def cache_file(path: Path, kind: str) -> Path:
    """Cache location keyed on the file's identity: path, size and modification time."""
    stat = path.stat()
    key = f"{CACHE_VERSION}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{kind}"
    return cache_dir() / "csv" / f"{hashlib.sha1(key.encode()).hexdigest()}.npz"


def load_csv(path: Path | str, kind: Kind = "auto", cache: bool = True) -> Digits:
    """Load a Kaggle train (label + 784 pixels) or test (784 pixels) CSV."""
    path = Path(path)
    header = read_header(path)
    columns = expected_columns(path, header, kind)
    has_labels = columns[0] == LABEL_COLUMN
    cached = cache_file(path, "train" if has_labels else "test") if cache else None
    if cached is not None and cached.exists():
        try:
            with np.load(cached) as stored:
                labels = stored["labels"] if has_labels else None
                return Digits(stored["images"], labels, str(path))
        except (OSError, ValueError, KeyError):
            pass  # an unreadable cache is rebuilt below
    matrix = parse_matrix(path, columns)  # (N, 785) or (N, 784) uint8
    labels = matrix[:, 0].copy() if has_labels else None
    if labels is not None:
        check_labels(path, labels)
    pixels = matrix[:, 1:] if has_labels else matrix
    images = np.ascontiguousarray(pixels).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)  # (N, 28, 28)
    if cached is not None:
        arrays = {"images": images} | ({"labels": labels} if has_labels else {})
        write_with(cached, lambda tmp: np.savez(tmp, **arrays))
    return Digits(images, labels, str(path))


def parse_matrix(path: Path, columns: tuple[str, ...]) -> np.ndarray:
    """Parse all rows as uint8 with pyarrow (multi-threaded); diagnose failures precisely."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {name: pa.uint8() for name in columns}
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        diagnose_rows(path, columns)  # raises a precise DataError when it finds the row
        raise DataError(f"{path}: could not parse: {error}") from error
    if table.num_rows == 0:
        raise DataError(f"{path}: no data rows after the header")
    by_column = np.empty((len(columns), table.num_rows), dtype=np.uint8)  # (C, N)
    for i, name in enumerate(columns):
        column = table.column(name)
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0]) + 1
            raise DataError(f"{path}: row {row} (line {row + 1}), column {name!r}: missing value")
        by_column[i] = column.to_numpy()
    return np.ascontiguousarray(by_column.T)  # (N, C)


def diagnose_rows(path: Path, columns: tuple[str, ...]) -> None:
    """Slow path, only after a parse failure: find the first bad field count or value."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row_number, row in enumerate(reader, start=1):
            where = f"{path}: row {row_number} (line {row_number + 1})"
            if len(row) != len(columns):
                raise DataError(f"{where}: {len(row)} fields, expected {len(columns)}")
            for name, value in zip(columns, row, strict=True):
                text = value.strip()
                if not text:
                    raise DataError(f"{where}, column {name!r}: missing value")
                if not text.lstrip("+-").isdigit():
                    raise DataError(
                        f"{where}, column {name!r}: '{excerpt(value)}' is not an integer"
                    )
                if name == LABEL_COLUMN and not 0 <= int(text) < NUM_CLASSES:
                    raise DataError(f"{where}, column 'label': {excerpt(text)} is not a digit 0..9")
                if not 0 <= int(text) <= 255:
                    raise DataError(
                        f"{where}, column {name!r}: pixel value {excerpt(text)} is outside 0..255"
                    )


def check_labels(path: Path, labels: np.ndarray) -> None:
    """Labels must be digits 0..9 (uint8 parsing already bounds pixels to 0..255)."""
    bad = first_non_digit(labels)
    if bad is not None:
        row = bad + 1
        raise DataError(
            f"{path}: row {row} (line {row + 1}), column 'label': {int(labels[bad])} "
            "is not a digit 0..9"
        )


def load_answers(path: Path | str) -> np.ndarray | None:
    """Held-back test labels (ImageId,Label) in ImageId order, or None when absent."""
    path = Path(path)
    if not path.exists():
        return None
    import pandas as pd

    frame = pd.read_csv(path, engine="pyarrow")
    if list(frame.columns) != ["ImageId", "Label"]:
        columns = excerpt(",".join(map(str, frame.columns)))
        raise DataError(f"{path}: columns '{columns}', expected 'ImageId,Label'")
    return frame.sort_values("ImageId")["Label"].to_numpy(dtype=np.uint8)


def file_fingerprint(path: Path | str) -> str:
    """A cheap identity for a data file (size + mtime + name), used in the model registry."""
    stat = os.stat(path)
    return hashlib.sha1(f"{Path(path).name}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
