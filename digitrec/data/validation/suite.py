"""The Great Expectations suite over the summary frames, about ten expectations per file
instead of 784 per-column ones; bad data gives a failed report, not an exception."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from digitrec.constants import LABEL_COLUMN, NUM_CLASSES, PIXEL_COLUMNS, PIXEL_MAX, TRAIN_COLUMNS
from digitrec.data.validation.read import Unreadable, read_lenient
from digitrec.data.validation.report import (
    DEFAULT_BOUNDS,
    Check,
    ValidationBounds,
    ValidationReport,
)
from digitrec.data.validation.summarise import Summary, class_frame, row_frame, spread, summarise
from digitrec.data.validation.wording import EXAMPLES, Describer, Outcome, outside

PIXEL_MIN = 0


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
    bounds: ValidationBounds = DEFAULT_BOUNDS,
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
