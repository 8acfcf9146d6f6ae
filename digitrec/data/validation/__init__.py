"""Data validation with a Great Expectations suite: every failure names its file, column, row
and value. `validate_dataset` runs it; `require_valid` turns a failed report into an error."""

from digitrec.data.validation.report import (
    Check,
    ValidationBounds,
    ValidationFailed,
    ValidationReport,
    require_valid,
)
from digitrec.data.validation.suite import validate_dataset

__all__ = [
    "Check",
    "ValidationBounds",
    "ValidationFailed",
    "ValidationReport",
    "require_valid",
    "validate_dataset",
]
