"""The three layouts `digitrec feedback import` reads, each into labelled 28x28 images: a folder
of class folders (Keras' image_dataset_from_directory, torchvision's ImageFolder), a CSV of
file,label, and a Kaggle train CSV. An image file becomes exactly the 28x28 `digitrec predict`
sees for one digit; a Kaggle row is its own 784 pixels. A bad file or row is quarantined with a
reason that names it; nothing about it stops the others.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from digitrec.constants import DIGITS, IMAGE_SIZE, LABEL_COLUMN, PIXEL_MAX, TRAIN_COLUMNS
from digitrec.data.kaggle import DataError, excerpt, expected_columns, read_header
from digitrec.inference.files import ImageError, read_image
from digitrec.inference.preprocess import to_mnist
from digitrec.loop.feedback import NOT_A_DIGIT

NOT_A_DIGIT_NAMES = ("not-a-digit", "not_a_digit")
CLASS_FOLDERS = {
    **{str(d): str(d) for d in DIGITS},
    **dict.fromkeys(NOT_A_DIGIT_NAMES, NOT_A_DIGIT),
}
LABEL_TEXTS = {**CLASS_FOLDERS, NOT_A_DIGIT: NOT_A_DIGIT}
LISTING_COLUMNS = ("file", "label")
MAX_NAMED = 5  # unknown subfolders an error names one by one
EXPECTED = (
    "a folder with one subfolder per class (0/ .. 9/ and not-a-digit/), a CSV with columns "
    "file,label, or a Kaggle train CSV (label,pixel0..pixel783)"
)


class LayoutError(ValueError):
    """PATH is missing or none of the layouts; the message names PATH and what was expected."""


@dataclass(frozen=True)
class Labelled:
    """One image to import: where it came from, its label and the 28x28 the model sees."""

    item: str  # a file's path, "labels.csv line 4" or "train.csv row 3 (line 4)"
    label: str  # "0".."9" or "not a digit"
    pixels: np.ndarray = field(repr=False)  # (28, 28) uint8, white ink on black


@dataclass(frozen=True)
class Found:
    """What PATH holds: its layout, the usable images, and [{item, reason}] of the bad ones."""

    layout: str  # "class folders" | "file,label CSV" | "Kaggle CSV"
    labelled: list[Labelled]
    quarantined: list[dict]


def read_layout(path: Path) -> Found:
    """Read PATH in whichever of the three layouts it is; LayoutError when it is none."""
    if not path.exists():
        raise LayoutError(f"{path}: not found; expected {EXPECTED}")
    if path.is_dir():
        return read_folders(path)
    try:
        header = [name.strip().lstrip("\ufeff").lower() for name in read_header(path)]
    except (DataError, OSError) as error:
        raise LayoutError(f"{path}: {error}; expected {EXPECTED}") from error
    if set(LISTING_COLUMNS) <= set(header):
        return read_listing(path, header)
    if header[:1] == [LABEL_COLUMN] and len(header) > 2:
        try:
            expected_columns(path, header, "train")
        except DataError as error:
            raise LayoutError(f"{error}; expected {EXPECTED}") from error
        return read_kaggle(path)
    columns = excerpt(",".join(header))
    raise LayoutError(f"{path}: columns '{columns}' are none of the layouts; expected {EXPECTED}")


def read_folders(root: Path) -> Found:
    """Class folders: each file under `0/`..`9/` or `not-a-digit/` (nested too) is one image."""
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    unknown = [p.name for p in entries if p.is_dir() and p.name not in CLASS_FOLDERS]
    if unknown:
        names = ", ".join(f"'{excerpt(name)}/'" for name in unknown[:MAX_NAMED])
        names += f" and {len(unknown) - MAX_NAMED} more" if len(unknown) > MAX_NAMED else ""
        raise LayoutError(
            f"{root}: unknown subfolder {names}; expected one subfolder per class: "
            f"0/ .. 9/ and not-a-digit/ (or not_a_digit/)"
        )
    classes = [p for p in entries if p.is_dir()]
    if not classes:
        raise LayoutError(f"{root}: no class folders; expected {EXPECTED}")
    labelled, quarantined = [], []
    for path in (p for p in entries if not p.is_dir()):
        quarantined.append(bad(str(path), "not inside a class folder, so it has no label"))
    for folder in classes:
        for path in class_files(folder):
            take(str(path), path, CLASS_FOLDERS[folder.name], labelled, quarantined)
    return Found("class folders", labelled, quarantined)


def class_files(folder: Path) -> list[Path]:
    """A class folder's files at any depth, sorted; hidden files and folders left out."""
    files = (p for p in folder.rglob("*") if p.is_file())
    return sorted(
        p for p in files if not any(s.startswith(".") for s in p.relative_to(folder).parts)
    )


def take(item: str, path: Path, label: str, labelled: list, quarantined: list) -> None:
    """Read one labelled image file into `labelled`, or say in `quarantined` why it is bad."""
    try:
        labelled.append(Labelled(item, label, image_pixels(path)))
    except (ImageError, OSError, cv2.error) as error:
        quarantined.append(bad(item, str(error)))


def image_pixels(path: Path) -> np.ndarray:
    """The 28x28 `digitrec predict` sees in an image file of one digit."""
    return to_mnist(read_image(path))  # (28, 28) uint8


def bad(item: str, reason: str) -> dict:
    """A quarantine entry whose reason names the item."""
    return {"item": item, "reason": reason if reason.startswith(item) else f"{item}: {reason}"}


def read_listing(path: Path, header: list[str]) -> Found:
    """A file,label CSV: paths absolute or relative to the CSV's folder, one image per line."""
    labelled, quarantined = [], []
    for line, fields in csv_lines(path):
        item = f"{path} line {line}"
        try:
            label, file = listing_entry(path, header, fields)
        except ValueError as error:
            quarantined.append(bad(item, str(error)))
            continue
        take(item, file, label, labelled, quarantined)
    return Found("file,label CSV", labelled, quarantined)


def listing_entry(path: Path, header: list[str], fields: list[str]) -> tuple[str, Path]:
    """(label, image path) of one file,label line; ValueError saying what is wrong with it."""
    if len(fields) != len(header):
        raise ValueError(f"{len(fields)} fields, expected {len(header)} ({','.join(header)})")
    text, raw = fields[header.index("file")].strip(), fields[header.index("label")]
    label = LABEL_TEXTS.get(raw.strip().lower())
    if label is None:
        choices = f"a digit 0..9, '{NOT_A_DIGIT}' or 'not-a-digit'"
        raise ValueError(f"label '{excerpt(raw)}' is not {choices}")
    if not text:
        raise ValueError("the file column is empty")
    file = Path(text).expanduser()
    return label, file if file.is_absolute() else path.parent / file


def csv_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank data line after the header."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for fields in reader:
            if any(value.strip() for value in fields):
                yield reader.line_num, fields


def read_kaggle(path: Path) -> Found:
    """A Kaggle train CSV, each row checked on its own: one bad row quarantines only itself."""
    labelled, quarantined = [], []
    for item, values in kaggle_rows(path):
        try:
            label, image = kaggle_row(values)
        except ValueError as error:
            quarantined.append(bad(item, str(error)))
            continue
        labelled.append(Labelled(item, label, image))
    return Found("Kaggle CSV", labelled, quarantined)


def kaggle_rows(path: Path) -> Iterator[tuple[str, np.ndarray | list[str]]]:
    """Each row's name ("train.csv row 3 (line 4)") and values: parsed at once by pyarrow when
    it can, else as text fields line by line."""
    matrix = integer_matrix(path)  # (N, 785) int64, or None
    if matrix is not None:
        for row, values in enumerate(matrix, 1):
            yield f"{path} row {row} (line {row + 1})", values
        return
    for row, (line, fields) in enumerate(csv_lines(path), 1):
        yield f"{path} row {row} (line {line})", fields


def integer_matrix(path: Path) -> np.ndarray | None:
    """Every field as int64 (N, 785) in one pyarrow pass; None when a field is missing or not
    an integer, or a row has the wrong number of fields (the line-by-line path names it)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {name: pa.int64() for name in TRAIN_COLUMNS}
    options = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
    try:
        table = pacsv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.column_names != list(TRAIN_COLUMNS) or any(c.null_count for c in table.columns):
        return None
    return np.column_stack([column.to_numpy() for column in table.columns])  # (N, 785)


def kaggle_row(fields: list[str] | np.ndarray) -> tuple[str, np.ndarray]:
    """(label, (28, 28) uint8 pixels) of one row; ValueError naming the column and value."""
    if len(fields) != len(TRAIN_COLUMNS):
        raise ValueError(
            f"{len(fields)} fields, expected {len(TRAIN_COLUMNS)} (label + 784 pixels)"
        )
    values = fields if isinstance(fields, np.ndarray) else integers(fields)  # (785,)
    if not 0 <= values[0] <= max(DIGITS):
        raise ValueError(f"column 'label': {values[0]} is not a digit 0..9")
    if (outside := np.flatnonzero((values[1:] < 0) | (values[1:] > PIXEL_MAX))).size:
        column = TRAIN_COLUMNS[outside[0] + 1]
        value = values[outside[0] + 1]
        raise ValueError(f"column {column!r}: pixel value {value} is outside 0..{PIXEL_MAX}")
    if not values[1:].any():
        raise ValueError("blank: every pixel is 0")
    return str(values[0]), values[1:].astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)


def integers(fields: list[str]) -> np.ndarray:
    """A row's fields as int64; ValueError naming the first column that is not an integer."""
    try:
        return np.array([int(text) for text in fields], dtype=np.int64)  # (785,)
    except (ValueError, OverflowError):
        pass
    for name, text in zip(TRAIN_COLUMNS, fields, strict=True):
        if not text.strip().removeprefix("-").removeprefix("+").isdecimal():
            raise ValueError(f"column {name!r}: '{excerpt(text)}' is not an integer")
        if abs(int(text)) >= 2**63:
            raise ValueError(f"column {name!r}: '{excerpt(text.strip())}' is out of range")
    raise ValueError("a value is not an integer")  # not reached: every field was checked
