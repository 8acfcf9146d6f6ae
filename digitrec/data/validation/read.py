"""Reading a CSV without trusting it: ragged rows set aside and numbered, odd values kept."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from digitrec.constants import TRAIN_COLUMNS

BLOCK_SIZE = 16 << 20  # pyarrow CSV block size: fewer, larger chunks parse and summarise faster


class Unreadable(ValueError):
    """The file cannot be read as CSV at all (missing, empty, undecodable)."""


@dataclass(frozen=True)
class Parsed:
    """A CSV read leniently: the well-formed rows, and where each sits in the file."""

    path: Path
    table: pa.Table  # the rows with as many fields as the header, in file order
    rows: np.ndarray  # (table rows,) 1-based data row number of each table row
    fields: np.ndarray  # (data rows,) field count of every data row, ragged ones included

    @property
    def total_rows(self) -> int:
        return len(self.fields)


def read_lenient(path: Path) -> Parsed:
    """Read without trusting the file: ragged rows are set aside, odd values kept as they are.

    Known columns are parsed as int16 first (about half the work of type inference); a value
    that is not a small integer falls back to inferred types, so floats and text reach the suite.
    """
    if not path.is_file():
        raise Unreadable(f"{path}: file not found")
    integers = pacsv.ConvertOptions(column_types={name: pa.int16() for name in TRAIN_COLUMNS})
    try:
        return read_rows(path, integers)
    except pa.ArrowInvalid:
        pass  # a value that is not a small integer: infer every column's type instead
    try:
        return read_rows(path, pacsv.ConvertOptions())
    except (pa.ArrowException, OSError) as error:
        raise Unreadable(f"{path}: not readable as CSV: {error}") from error


def read_rows(path: Path, convert: pacsv.ConvertOptions) -> Parsed:
    """One pyarrow read; rows whose field count differs from the header's are numbered."""
    ragged: list[tuple[int | None, int]] = []

    def set_aside(row: Any) -> str:
        ragged.append((row.number, row.actual_columns))
        return "skip"

    parse = pacsv.ParseOptions(invalid_row_handler=set_aside, ignore_empty_lines=False)
    options = {"parse_options": parse, "convert_options": convert}
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE), **options)
    if any(number is None for number, _ in ragged):
        ragged.clear()  # parallel parsing does not number rows: re-read in one thread
        read = pacsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=False)
        table = pacsv.read_csv(path, read_options=read, **options)
    fields = np.full(table.num_rows + len(ragged), table.num_columns, dtype=np.int64)  # (rows,)
    bad_rows = np.array([number - 1 for number, _ in ragged], dtype=np.int64)  # line -> row
    fields[bad_rows - 1] = [count for _, count in ragged]
    rows = np.setdiff1d(np.arange(1, len(fields) + 1), bad_rows)
    return Parsed(path, table, rows, fields)
