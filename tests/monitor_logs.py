"""Prediction logs for monitoring tests and the benchmark: real MNIST images (or altered ones)
logged through digitrec.loop.log exactly as predict logs them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from digitrec.inference.prediction import Prediction
from digitrec.loop import log


def log_images(
    images: np.ndarray,
    digits: Sequence[int],
    confidence: float = 0.99,
    rejected: bool = False,
    source: str = "cli",
) -> list[log.LoggedPrediction]:
    """Log one prediction per 28x28 image (answered `digits`), as one batch; returns the records."""
    served = [
        Prediction(
            f"image{i}.png",
            int(d),
            confidence=confidence,
            low_confidence=confidence < 0.8,
            rejected=rejected,
            reason="not a digit" if rejected else None,
        )
        for i, d in enumerate(digits)
    ]
    records = log.records_from(served, [[image] for image in images], source, "model.keras")
    log.append(records)
    return records


def thicken(images: np.ndarray) -> np.ndarray:
    """Strokes two pixels thicker: each pixel the max of its 3x3 neighbourhood. (N, 28, 28)"""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    shifts = [padded[:, r : r + 28, c : c + 28] for r in range(3) for c in range(3)]
    return np.max(shifts, axis=0)


def invert(images: np.ndarray) -> np.ndarray:
    """White paper, dark ink: a photo the preprocessing did not flip."""
    return 255 - images
