"""Great Expectations results worded back into the file: columns, rows, lines and values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from digitrec.data.validation.summarise import INTEGER_TEXT, Summary

EXAMPLES = 5  # places named per failed check
VALUES_PER_COLUMN = 3  # offending rows named per column

Outcome = tuple[str, str]  # (observed, where)


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
