"""One pass over a leniently read file into the small frames the suite validates:
one row per column position, one row per data row, one row per digit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from digitrec.constants import LABEL_COLUMN, NUM_CLASSES, PIXEL_MAX
from digitrec.data.validation.read import Parsed

HASH_SEED = 784
INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")


@dataclass(frozen=True)
class Summary:
    """One file's summary frames' sources, and what maps GE's results back to the file."""

    name: str
    parsed: Parsed
    columns: pd.DataFrame  # one row per position: name, expected, kind, nulls, min, max
    hashes: np.ndarray  # (table rows,) uint64 hash of each row's pixel values
    labels: pd.Series | None  # (table rows,) the label column as read, when there is one

    def column(self, position: int) -> pa.ChunkedArray:
        return self.parsed.table.column(position - 1)

    def column_name(self, position: int) -> str:
        return f"column {position} {self.columns['name'].iloc[position - 1]!r}"


def summarise(parsed: Parsed, expected: Sequence[str]) -> Summary:
    """One pass over the columns: kind, missing values, range, and the running row hash."""
    table = parsed.table
    keys = np.random.default_rng(HASH_SEED).integers(
        0, 2**64, size=(max(table.num_columns, 1), 256), dtype=np.uint64
    )  # (C, 256) tabulation-hash keys, the same for every file
    hashes = np.zeros(table.num_rows, dtype=np.uint64)  # (N,)
    stats, pixel_index = [], 0
    named = zip(table.column_names, table.columns, strict=True)
    for position, (name, column) in enumerate(named, start=1):
        kind = column_kind(column)
        plain = kind == "integer" and column.null_count == 0 and len(column) > 0
        values = column.to_numpy() if plain else None  # (N,) int16 or int64
        low, high = value_range(column, kind, values)
        stats.append(
            {"position": position, "name": name, "kind": kind, "nulls": column.null_count}
            | {"min": low, "max": high}
        )
        if name != LABEL_COLUMN:
            hashes += pixel_codes(column, values, keys[pixel_index])
            pixel_index += 1
    labels = None
    if LABEL_COLUMN in table.column_names:
        first = table.column_names.index(LABEL_COLUMN)  # the first, should it repeat
        labels = table.column(first).to_pandas(types_mapper=nullable_integers)
    return Summary(parsed.path.name, parsed, layout_frame(stats, expected), hashes, labels)


def column_kind(column: pa.ChunkedArray) -> str:
    """integer, float, text, empty (every value missing) or the arrow type's name."""
    kind = column.type
    if pa.types.is_integer(kind) or (pa.types.is_null(kind) and len(column) == 0):
        return "integer"
    if pa.types.is_floating(kind):
        return "float"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    return "empty" if pa.types.is_null(kind) else str(kind)


def value_range(column: pa.ChunkedArray, kind: str, values: np.ndarray | None) -> tuple:
    """(min, max) of a numeric column, (None, None) for anything else."""
    if values is not None:
        return int(values.min()), int(values.max())
    if kind in ("integer", "float") and len(column) > column.null_count:
        extremes = pc.min_max(column)
        return extremes["min"].as_py(), extremes["max"].as_py()
    return None, None


def pixel_codes(column: pa.ChunkedArray, values: np.ndarray | None, keys: np.ndarray) -> np.ndarray:
    """Per-row codes whose sum over the pixel columns is the row hash (tabulation hashing)."""
    if values is None:  # missing, fractional or text values: hash whatever is there
        raw = column.to_pandas().to_numpy(dtype=object)
        return pd.util.hash_array(raw) * (keys[0] | np.uint64(1))
    codes = keys[values & PIXEL_MAX]  # (N,) uint64, exact for 0..255
    if values.min() < 0 or values.max() > PIXEL_MAX:
        codes += (values >> 8).astype(np.uint64) * (keys[1] | np.uint64(1))
    return codes


def nullable_integers(kind: pa.DataType) -> Any:
    return pd.Int64Dtype() if pa.types.is_integer(kind) else None


def layout_frame(stats: list[dict], expected: Sequence[str]) -> pd.DataFrame:
    """The column summary with the expected name at each position (missing past either end)."""
    frame = pd.DataFrame(stats, columns=["position", "name", "kind", "nulls", "min", "max"])
    width = max(len(stats), len(expected))
    frame = frame.set_index("position").reindex(np.arange(1, width + 1))
    frame["expected"] = [*expected, *[None] * (width - len(expected))]
    return frame.reset_index(names="position")


def spread(values: Any, parsed: Parsed, dtype: Any) -> pd.Series:
    """Per-table-row values placed at their 1-based data rows (NA for ragged rows)."""
    series = pd.Series(np.asarray(values), index=parsed.rows, dtype=dtype)
    return series.reindex(np.arange(1, parsed.total_rows + 1))


def row_frame(summary: Summary) -> pd.DataFrame:
    """One row per data row, indexed by row number: field count and image hash."""
    parsed = summary.parsed
    frame = pd.DataFrame({"fields": parsed.fields}, index=np.arange(1, parsed.total_rows + 1))
    frame["row"] = frame.index
    frame["image_hash"] = spread(summary.hashes, parsed, "UInt64")
    if summary.labels is not None:
        labels = summary.labels
        if pd.api.types.is_string_dtype(labels.dtype) or labels.dtype == object:
            labels = labels.astype(object).map(integer_text)
        frame["label"] = spread(labels, parsed, labels.dtype)
    return frame


def class_frame(labels: pd.Series) -> pd.DataFrame:
    """One row per digit: how many rows carry it, and its share relative to uniform (1/10)."""
    numbers = pd.to_numeric(labels, errors="coerce")
    digits = numbers[numbers.isin(range(NUM_CLASSES))].astype(np.int64).to_numpy()  # (N,)
    counts = np.bincount(digits, minlength=NUM_CLASSES)  # (10,)
    ratios = counts / counts.sum() * NUM_CLASSES if counts.sum() else np.zeros(NUM_CLASSES)
    return pd.DataFrame({"digit": np.arange(NUM_CLASSES), "rows": counts, "ratio": ratios})


def integer_text(value: Any) -> Any:
    """'7' -> 7 for a label column read as text; anything else stays as it was."""
    return int(value) if isinstance(value, str) and INTEGER_TEXT.fullmatch(value) else value
