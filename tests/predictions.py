"""Tests' shorthand for the predictions alone of `read_inputs` (the library returns them with
the images the model saw, which most tests do not look at)."""

from __future__ import annotations

from digitrec.inference.prediction import Prediction, read_inputs


def predict_inputs(*args, **kwargs) -> list[Prediction]:
    """`read_inputs(...)`'s predictions."""
    return read_inputs(*args, **kwargs).predictions
