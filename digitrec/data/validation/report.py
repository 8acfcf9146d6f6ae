"""What the data validation found: the bounds it enforced, each check's outcome, the report.

The suite (`suite.py`) reads the raw files leniently (`read.py`), summarises them into small
frames (`summarise.py`), validates those with Great Expectations and words each result back
into the file's columns, rows and values (`wording.py`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from digitrec.markdown import table

MIN_ROWS = 1
MAX_ROWS = 1_000_000
MIN_CLASS_RATIO = 0.5  # a digit's share of the labels, relative to the uniform share 1/10
MAX_CLASS_RATIO = 2.0
MAX_DUPLICATE_RATE = 0.01  # rows repeating an earlier row's image, over all rows of a file
MAX_OVERLAP_RATE = 0.01  # test rows whose image is also in the train file, over all test rows


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


DEFAULT_BOUNDS = ValidationBounds()


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
        rows = [
            {
                "result": "pass" if check.success else "**FAIL**",
                "target": check.target,
                "expectation": f"`{check.expectation}`",
                "observed": check.observed or "-",
                "where": check.where or "-",
            }
            for check in sorted(self.checks, key=lambda c: c.success)
        ]
        return (
            f"Data validation {verdict}: {len(self.checks)} Great Expectations checks on "
            f"{self.train_rows:,} train rows and {test} in {self.seconds:.2f} s.\n\n"
            + table(rows, columns=["result", "target", "expectation", "observed", "where"])
        )


class ValidationFailed(ValueError):
    """The data failed validation; `.report` holds every check."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        failures = report.failures()
        lines = [f"data validation failed: {len(failures)} of {len(report.checks)} checks"]
        lines += [f"- {c.target}: {c.observed}; where: {c.where}" for c in failures]
        super().__init__("\n".join(lines))


def require_valid(report: ValidationReport) -> None:
    """Raise ValidationFailed, naming each failed check and where, unless every check passed."""
    if not report.success:
        raise ValidationFailed(report)
