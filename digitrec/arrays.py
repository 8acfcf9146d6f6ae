"""Array helpers every stage shares: the model's input layout, accuracy, label checks."""

from __future__ import annotations

import numpy as np

from digitrec.constants import IMAGE_SIZE, NUM_CLASSES


def model_input(images: np.ndarray) -> np.ndarray:
    """Pixels 0..255 as the models take them: float32 (N, 28, 28, 1) from (N, 28, 28[, 1])."""
    return np.asarray(images).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1).astype(np.float32)


def accuracy(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Share of rows whose most probable class (N, 10) is the label (N,)."""
    return float((np.asarray(probabilities).argmax(1) == np.asarray(labels)).mean())


def first_non_digit(labels: np.ndarray) -> int | None:
    """Index of the first label outside 0..9 (None when all are digits), for error messages
    that name the row in each caller's own terms (file line, ImageId, array index)."""
    values = np.asarray(labels)
    bad = np.flatnonzero((values < 0) | (values >= NUM_CLASSES))
    return int(bad[0]) if bad.size else None
