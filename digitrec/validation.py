"""Validate Kaggle digit CSVs with a Great Expectations suite; every failure names where.

The raw files are read leniently (ragged rows set aside, odd values kept) and summarised into
small frames that an in-memory Great Expectations context validates, about ten expectations per
file instead of 784 per-column ones:
- columns: one row per column position (name, expected name, kind, missing values, min, max);
- rows: one row per data row (field count, a hash of its pixels, the label or a train flag);
- classes: one row per digit (rows, share relative to uniform).
The unexpected items GE reports (column positions, row numbers, digits) are mapped back to the
file's columns, rows, lines (row + 1, after the header) and values.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from digitrec.constants import LABEL_COLUMN, NUM_CLASSES, PIXEL_COLUMNS, TRAIN_COLUMNS

MIN_ROWS = 1
MAX_ROWS = 1_000_000
MIN_CLASS_RATIO = 0.5  # a digit's share of the labels, relative to the uniform share 1/10
MAX_CLASS_RATIO = 2.0
MAX_DUPLICATE_RATE = 0.01  # rows repeating an earlier row's image, over all rows of a file
MAX_OVERLAP_RATE = 0.01  # test rows whose image is also in the train file, over all test rows
PIXEL_MIN, PIXEL_MAX = 0, 255
EXAMPLES = 5  # places named per failed check
VALUES_PER_COLUMN = 3  # offending rows named per column
BLOCK_SIZE = 16 << 20  # pyarrow CSV block size: fewer, larger chunks parse and summarise faster
HASH_SEED = 784
INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")

Outcome = tuple[str, str]  # (observed, where)


@dataclass(frozen=True)
class ValidationBounds:
    """The limits the suite enforces; the defaults fit Kaggle's Digit Recognizer files."""

    min_train_rows: int = MIN_ROWS
    max_train_rows: int = MAX_ROWS
    min_test_rows: int = MIN_ROWS
    max_test_rows: int = MAX_ROWS
    min_class_ratio: float = MIN_CLASS_RATIO
    max_class_ratio: float = MAX_CLASS_RATIO
    max_duplicate_rate: float = MAX_DUPLICATE_RATE
    max_overlap_rate: float = MAX_OVERLAP_RATE

    def __post_init__(self) -> None:
        pairs = [
            (self.min_train_rows, self.max_train_rows),
            (self.min_test_rows, self.max_test_rows),
            (self.min_class_ratio, self.max_class_ratio),
        ]
        for low, high in pairs:
            if not 0 <= low <= high:
                raise ValueError(f"bounds need 0 <= low <= high, got {low}..{high}")
        for rate in (self.max_duplicate_rate, self.max_overlap_rate):
            if not 0 <= rate <= 1:
                raise ValueError(f"a rate bound must lie in 0..1, got {rate}")


@dataclass(frozen=True)
class Check:
    """One expectation's outcome: what it checked, what it saw, and where it failed."""

    expectation: str  # the Great Expectations type, e.g. expect_column_values_to_be_between
    target: str  # the file and the part of it, e.g. "train.csv pixel maximum <= 255"
    success: bool
    observed: str
    where: str  # columns, rows (line = row + 1) and values; empty when the check passed


@dataclass(frozen=True)
class ValidationReport:
    """Every check on a train file (and optionally a test file)."""

    success: bool
    checks: tuple[Check, ...]
    seconds: float
    train_rows: int
    test_rows: int | None
    train_csv: str = ""
    test_csv: str | None = None

    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.success)

    def to_dict(self) -> dict:
        """A JSON-serialisable summary (plain bools, ints, floats and strings)."""
        return {
            "success": bool(self.success),
            "seconds": round(float(self.seconds), 3),
            "train_csv": self.train_csv,
            "test_csv": self.test_csv,
            "train_rows": int(self.train_rows),
            "test_rows": None if self.test_rows is None else int(self.test_rows),
            "failed": len(self.failures()),
            "checks": [asdict(check) for check in self.checks],
        }

    def to_markdown(self) -> str:
        """A markdown table of every check, failures first (for a Prefect artifact)."""
        verdict = "passed" if self.success else f"**failed** ({len(self.failures())} checks)"
        test = "no test file" if self.test_rows is None else f"{self.test_rows:,} test rows"
        lines = [
            f"Data validation {verdict}: {len(self.checks)} Great Expectations checks on "
            f"{self.train_rows:,} train rows and {test} in {self.seconds:.2f} s.",
            "",
            "| result | target | expectation | observed | where |",
            "| --- | --- | --- | --- | --- |",
        ]
        for check in sorted(self.checks, key=lambda c: c.success):
            result = "pass" if check.success else "**FAIL**"
            cells = [result, check.target, f"`{check.expectation}`", check.observed, check.where]
            lines.append("| " + " | ".join(markdown_cell(cell or "-") for cell in cells) + " |")
        return "\n".join(lines) + "\n"


class ValidationFailed(ValueError):
    """The data failed validation; `.report` holds every check."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        failures = report.failures()
        lines = [f"data validation failed: {len(failures)} of {len(report.checks)} checks"]
        lines += [f"- {c.target}: {c.observed}; where: {c.where}" for c in failures]
        super().__init__("\n".join(lines))


def markdown_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def require_valid(report: ValidationReport) -> None:
    """Raise ValidationFailed, naming each failed check and where, unless every check passed."""
    if not report.success:
        raise ValidationFailed(report)


# -- reading ------------------------------------------------------------------------------------


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


# -- summarising --------------------------------------------------------------------------------


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
    codes = keys[values & 255]  # (N,) uint64, exact for 0..255
    if values.min() < 0 or values.max() > 255:
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


# -- wording results ----------------------------------------------------------------------------


def at(row: int) -> str:
    return f"row {row} (line {row + 1})"


def shown(value: Any) -> str:
    """A value close to how the file spelled it."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "empty"
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    return repr(value) if isinstance(value, str) else str(value)


def and_more(parts: Sequence[str], total: int, unit: str) -> str:
    text = "; ".join(parts)
    return text + (f"; and {total - len(parts)} more {unit}" if total > len(parts) else "")


def unexpected_items(result: dict) -> list[dict]:
    return list(result.get("partial_unexpected_index_list") or [])


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def not_integer(value: Any) -> bool:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return False
    if isinstance(value, float):
        return not value.is_integer()
    return INTEGER_TEXT.fullmatch(str(value)) is None


def integer_text(value: Any) -> Any:
    """'7' -> 7 for a label column read as text; anything else stays as it was."""
    return int(value) if isinstance(value, str) and INTEGER_TEXT.fullmatch(value) else value


def outside(bound: int, below: bool) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        return value < bound if below else value > bound

    return test


def examples_in_column(summary: Summary, position: int, bad: Callable[[Any], bool]) -> str:
    """The first few rows of one column whose value is bad, as 'row r (line l) = v'."""
    found = []
    for index, value in enumerate(summary.column(position).to_pylist()):
        if bad(value):
            found.append(f"{at(int(summary.parsed.rows[index]))} = {shown(value)}")
            if len(found) == VALUES_PER_COLUMN:
                break
    return ", ".join(found)


class Describer:
    """Words one file's GE results as (observed, where), mapping items back to the file."""

    def __init__(self, summary: Summary) -> None:
        self.summary = summary

    def layout(self, result: dict) -> Outcome:
        columns = self.summary.columns
        found, expected = columns["name"].dropna().tolist(), columns["expected"].dropna().tolist()
        missing = [name for name in expected if name not in set(found)]
        extra = [name for name in found if name not in set(expected)]
        parts = [f"missing {', '.join(map(repr, missing[:EXAMPLES]))}"] if missing else []
        parts += [f"unexpected {', '.join(map(repr, extra[:EXAMPLES]))}"] if extra else []
        for item in unexpected_items(result):
            position = int(item["position"])
            got, want = columns["name"].iloc[position - 1], columns["expected"].iloc[position - 1]
            parts.append(f"column {position} is {shown(got)}, expected {shown(want)}")
        count = result.get("unexpected_count", 0)
        observed = f"{len(found)} columns, expected {len(expected)} ({expected[0]}..{expected[-1]})"
        shown_positions = len(unexpected_items(result))
        return observed, and_more(parts, len(parts) + count - shown_positions, "positions")

    def row_count(self, result: dict, low: int, high: int) -> Outcome:
        rows = result.get("observed_value")
        return f"{rows} data rows", f"{rows} data rows after the header; allowed {low}..{high}"

    def fields(self, result: dict) -> Outcome:
        expected = self.summary.parsed.table.num_columns
        count = result.get("unexpected_count", 0)
        items = unexpected_items(result)
        parts = [f"{at(int(item['row']))}: {item['fields']} fields" for item in items]
        observed = f"{plural(count, 'row')} without the header's {expected} fields"
        return observed, and_more(parts, count, "rows")

    def per_column(self, result: dict, bad: Callable[[Any], bool], what: str) -> Outcome:
        """Columns GE flagged, each with its first offending rows and values."""
        count = result.get("unexpected_count", 0)
        parts = []
        for item in unexpected_items(result):
            position = int(item["position"])
            examples = examples_in_column(self.summary, position, bad)
            parts.append(f"{self.summary.column_name(position)}: {examples or 'no values'}")
        return f"{plural(count, 'column')} with {what}", and_more(parts, count, "columns")

    def kinds(self, result: dict) -> Outcome:
        def odd(value: Any) -> bool:  # 3.0 in a float column: show it when nothing else is odd
            return not_integer(value) or isinstance(value, float)

        observed, where = self.per_column(result, not_integer, "values that are not integers")
        if " = " not in where:
            observed, where = self.per_column(result, odd, "values that are not integers")
        kinds = sorted(set(self.summary.columns["kind"].dropna()) - {"integer"})
        return (f"{observed} ({', '.join(kinds)})" if kinds else observed), where

    def nulls(self, result: dict) -> Outcome:
        _, where = self.per_column(result, lambda value: value is None, "missing values")
        total = int(self.summary.columns["nulls"].sum())
        count = result.get("unexpected_count", 0)
        return f"{plural(total, 'missing value')} in {plural(count, 'column')}", where

    def labels(self, result: dict) -> Outcome:
        count = result.get("unexpected_count", 0)
        items = unexpected_items(result)
        parts = [f"{at(int(item['row']))} = {shown(item['label'])}" for item in items]
        values = sorted({shown(v) for v in result.get("partial_unexpected_list") or []})
        observed = f"{plural(count, 'label')} not a digit 0..9"
        return observed + (f" (e.g. {', '.join(values)})" if values else ""), and_more(
            parts, count, "rows"
        )

    def balance(self, result: dict, classes: pd.DataFrame, low: float, high: float) -> Outcome:
        ratios = classes["ratio"]
        observed = f"digit shares {ratios.min():.2f}..{ratios.max():.2f} x uniform"
        parts = []
        for item in unexpected_items(result):
            digit = int(item["digit"])
            rows, ratio = int(classes["rows"].iloc[digit]), float(ratios.iloc[digit])
            parts.append(f"digit {digit}: {rows} rows, {ratio:.2f} x uniform")
        where = and_more(parts, result.get("unexpected_count", 0), "digits")
        return observed, f"{where} (allowed {low}..{high} x uniform)"

    def duplicates(self, hashes: pd.Series) -> Outcome:
        """Groups of rows that hold one image (hashes indexed by row number)."""
        known = hashes.dropna()
        repeats = int(known.duplicated().sum())
        rate = repeats / len(known) if len(known) else 0.0
        groups = list(known[known.duplicated(keep=False)].groupby(known).groups.values())
        parts = []
        for group in groups[:EXAMPLES]:
            rows = sorted(int(row) for row in group)[:EXAMPLES]
            lines = ", ".join(str(row + 1) for row in rows)
            parts.append(f"rows {', '.join(map(str, rows))} (lines {lines}) hold one image")
        observed = f"{plural(repeats, 'row')} repeating an earlier row's image ({rate:.2%})"
        if known.empty:
            return observed, "no complete rows to compare"
        return observed, and_more(parts, len(groups), "groups")

    def overlap(self, result: dict, train: Summary) -> Outcome:
        count = result.get("unexpected_count", 0)
        first_train_row = pd.Series(train.parsed.rows, index=train.hashes)
        first_train_row = first_train_row[~first_train_row.index.duplicated()]
        parts = []
        for item in unexpected_items(result):
            row = int(item["row"])
            image = self.summary.hashes[np.searchsorted(self.summary.parsed.rows, row)]
            parts.append(f"test {at(row)} = {train.name} {at(int(first_train_row[image]))}")
        percent = result.get("unexpected_percent") or 0.0
        observed = f"{plural(count, 'test row')} also in {train.name} ({percent:.2f}%)"
        return observed, and_more(parts, count, "rows")


# -- the suite ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One expectation on a summary frame, and how to word its result."""

    expectation: Any  # a great_expectations Expectation
    target: str
    describe: Callable[[dict], Outcome]


@dataclass
class Suite:
    """An in-memory Great Expectations context and the checks it has produced so far."""

    context: Any
    checks: list[Check] = field(default_factory=list)

    def run(self, name: str, frame: pd.DataFrame, rules: list[Rule], index: str) -> None:
        """Validate `frame` against the rules' expectations; record one Check per rule."""
        import great_expectations as gx

        batch = (
            self.context.data_sources.get("digitrec")
            .add_dataframe_asset(name)
            .add_batch_definition_whole_dataframe(name)
            .get_batch(batch_parameters={"dataframe": frame})
        )
        for number, rule in enumerate(rules):
            rule.expectation.meta = {"rule": number}  # GE may reorder results
        suite = gx.ExpectationSuite(name=name, expectations=[r.expectation for r in rules])
        result_format = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": EXAMPLES,
            "unexpected_index_column_names": [index],
        }
        results = batch.validate(suite, result_format=result_format).results
        by_rule = {int(r.expectation_config.meta["rule"]): r for r in results}
        self.checks.extend(to_check(rule, by_rule[number]) for number, rule in enumerate(rules))


def to_check(rule: Rule, result: Any) -> Check:
    """A GE result as a Check; an expectation that raised is a failed check saying why."""
    kind = result.expectation_config.type
    info = result.exception_info or {}
    if info.get("raised_exception"):
        message = str(info.get("exception_message") or "unknown error")
        return Check(kind, rule.target, False, f"the expectation raised: {message}", "")
    observed, where = rule.describe(result.result or {})
    return Check(kind, rule.target, bool(result.success), observed, "" if result.success else where)


def open_context() -> Any:
    """A quiet, in-memory Great Expectations context with one pandas data source."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )  # no Data Docs site: we render our own markdown
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.data_sources.add_pandas("digitrec")
    return context


def column_rules(summary: Summary) -> list[Rule]:
    """Layout, integer types, missing values and the pixel range: one row per column."""
    import great_expectations.expectations as gxe

    describe, name = Describer(summary), summary.name
    pixels = {"row_condition": f'name != "{LABEL_COLUMN}"', "condition_parser": "pandas"}
    return [
        Rule(
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="name", column_B="expected", ignore_row_if="both_values_are_missing"
            ),
            f"{name} columns",
            describe.layout,
        ),
        Rule(
            gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=["integer"]),
            f"{name} integer values",
            describe.kinds,
        ),
        Rule(
            gxe.ExpectColumnValuesToBeBetween(column="nulls", min_value=0, max_value=0),
            f"{name} missing values",
            describe.nulls,
        ),
        Rule(
            gxe.ExpectColumnValuesToBeBetween(column="min", min_value=PIXEL_MIN, **pixels),
            f"{name} pixel minimum >= {PIXEL_MIN}",
            lambda r: describe.per_column(r, outside(PIXEL_MIN, True), f"pixels < {PIXEL_MIN}"),
        ),
        Rule(
            gxe.ExpectColumnValuesToBeBetween(column="max", max_value=PIXEL_MAX, **pixels),
            f"{name} pixel maximum <= {PIXEL_MAX}",
            lambda r: describe.per_column(r, outside(PIXEL_MAX, False), f"pixels > {PIXEL_MAX}"),
        ),
    ]


def row_rules(summary: Summary, frame: pd.DataFrame, rows: tuple[int, int], max_dup: float):
    """Row count, field count per row and duplicate images: one row per data row."""
    import great_expectations.expectations as gxe

    describe, name = Describer(summary), summary.name
    width = summary.parsed.table.num_columns
    return [
        Rule(
            gxe.ExpectTableRowCountToBeBetween(min_value=rows[0], max_value=rows[1]),
            f"{name} row count",
            lambda r: describe.row_count(r, *rows),
        ),
        Rule(
            gxe.ExpectColumnValuesToBeBetween(column="fields", min_value=width, max_value=width),
            f"{name} fields per row",
            describe.fields,
        ),
        Rule(
            gxe.ExpectColumnProportionOfUniqueValuesToBeBetween(
                column="image_hash", min_value=1.0 - max_dup
            ),
            f"{name} duplicate images <= {max_dup:.2%}",
            lambda r: describe.duplicates(frame["image_hash"]),
        ),
    ]


def validate_train(suite: Suite, train: Summary, bounds: ValidationBounds) -> None:
    """Train-file checks: the common ones, labels 0..9 and class balance."""
    import great_expectations.expectations as gxe

    describe = Describer(train)
    suite.run(f"{train.name}-columns", train.columns, column_rules(train), "position")
    frame = row_frame(train)
    rows = (bounds.min_train_rows, bounds.max_train_rows)
    rules = row_rules(train, frame, rows, bounds.max_duplicate_rate)
    if train.labels is not None:
        digits = list(range(NUM_CLASSES))
        in_digits = gxe.ExpectColumnValuesToBeInSet(column="label", value_set=digits)
        rules.append(Rule(in_digits, f"{train.name} labels 0..9", describe.labels))
    suite.run(f"{train.name}-rows", frame, rules, "row")
    if train.labels is None:
        return  # the layout check already names the missing label column
    classes = class_frame(train.labels)
    low, high = bounds.min_class_ratio, bounds.max_class_ratio
    balanced = gxe.ExpectColumnValuesToBeBetween(column="ratio", min_value=low, max_value=high)
    rule = Rule(
        balanced,
        f"{train.name} class balance",
        lambda r: describe.balance(r, classes, low, high),
    )
    suite.run(f"{train.name}-classes", classes, [rule], "digit")


def validate_test(
    suite: Suite, test: Summary, train: Summary | None, bounds: ValidationBounds
) -> None:
    """Test-file checks: the common ones, and overlap with the train file's images."""
    import great_expectations.expectations as gxe

    suite.run(f"{test.name}-columns", test.columns, column_rules(test), "position")
    frame = row_frame(test)
    rows = (bounds.min_test_rows, bounds.max_test_rows)
    rules = row_rules(test, frame, rows, bounds.max_duplicate_rate)
    if train is not None:
        in_train = np.isin(test.hashes, train.hashes)  # (N,) bool
        frame["in_train"] = spread(in_train, test.parsed, "boolean")
        unseen = gxe.ExpectColumnValuesToBeInSet(
            column="in_train", value_set=[False], mostly=1.0 - bounds.max_overlap_rate
        )
        target = f"{test.name} overlap with {train.name} <= {bounds.max_overlap_rate:.2%}"
        rules.append(Rule(unseen, target, lambda r: Describer(test).overlap(r, train)))
    suite.run(f"{test.name}-rows", frame, rules, "row")


def inspect(suite: Suite, path: Path, expected: Sequence[str]) -> Summary | None:
    """Read and summarise one file; a file that is not readable CSV becomes one failed check."""
    try:
        return summarise(read_lenient(path), expected)
    except Unreadable as error:
        suite.checks.append(
            Check("file_is_readable_csv", f"{path.name} file", False, str(error), str(path))
        )
        return None


def validate_dataset(
    train_csv: Path | str,
    test_csv: Path | str | None = None,
    bounds: ValidationBounds = ValidationBounds(),
) -> ValidationReport:
    """Run the suite on a train CSV (and a test CSV); bad data gives success False, not errors."""
    started = time.perf_counter()
    suite = Suite(open_context())
    train = inspect(suite, Path(train_csv), TRAIN_COLUMNS)
    if train is not None:
        validate_train(suite, train, bounds)
    test = None if test_csv is None else inspect(suite, Path(test_csv), PIXEL_COLUMNS)
    if test is not None:
        validate_test(suite, test, train, bounds)
    checks = tuple(suite.checks)
    return ValidationReport(
        success=all(check.success for check in checks),
        checks=checks,
        seconds=time.perf_counter() - started,
        train_rows=train.parsed.total_rows if train else 0,
        test_rows=None if test_csv is None else (test.parsed.total_rows if test else 0),
        train_csv=str(train_csv),
        test_csv=None if test_csv is None else str(test_csv),
    )
