"""Reading "not a digit": the run's gate (`model.gate.tflite`, its threshold in
`model.gate.json`, both beside `model.keras`) scores each 28x28 image the model saw; a score at
or over the threshold rejects the input with a reason. The score is the gate's probability that
the image is not a digit plus the digit model's doubt (1 - its calibrated top probability): the
two see different things, and together they reject more non-digits at the same share of
rejected digits (bench/RESULTS.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec.arrays import model_input


def gate_path(keras_path: Path | str) -> Path:
    return Path(keras_path).with_suffix(".gate.tflite")


def gate_settings_path(keras_path: Path | str) -> Path:
    return Path(keras_path).with_suffix(".gate.json")


DOUBT_WEIGHT = 1.0  # chosen on the training run's held-out synthetic non-digits


def combined_score(not_a_digit: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """The rejection score (N,): P(not a digit) from the gate plus the digit model's doubt."""
    return np.asarray(not_a_digit) + DOUBT_WEIGHT * (1.0 - np.asarray(confidence))


@dataclass(frozen=True)
class Gate:
    """Scores images (N, 28, 28), given the digit model's top probabilities (N,), and rejects
    those at or over `threshold`."""

    not_a_digit: Callable[[np.ndarray], np.ndarray]  # images -> the gate's probabilities (N,)
    threshold: float

    def score(self, images: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        if not len(images):
            return np.zeros(0, np.float32)
        return combined_score(self.not_a_digit(images), confidence)

    def rejects(self, images: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores (N,), rejected (N,) bool)."""
        scores = self.score(images, confidence)
        return scores, scores >= self.threshold


def load_gate(keras_path: Path | str) -> Gate | None:
    """The model's gate, or None for a model trained before the gate existed."""
    from digitrec.inference.runtimes import litert_predictor

    path, settings = gate_path(keras_path), gate_settings_path(keras_path)
    if not (path.is_file() and settings.is_file()):
        return None
    try:
        threshold = float(json.loads(settings.read_text())["threshold"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{settings}: unreadable gate settings ({error}); retrain") from error
    predictor = litert_predictor(path)
    return Gate(lambda images: predictor(model_input(images))[:, 0], threshold)


def verdict(scores: np.ndarray, threshold: float, is_row: bool) -> tuple[bool, str | None]:
    """(rejected, reason) for one input's pieces: any piece at or over the threshold decides.
    Kaggle CSV rows are digits by contract, so they are only flagged, never rejected."""
    worst = int(np.argmax(scores))
    score = float(scores[worst])
    if score < threshold:
        return False, None
    where = f"digit {worst + 1} of {len(scores)}" if len(scores) > 1 else "the image"
    what = f"{where} does not look like a digit (score {score:.2f} >= {threshold:.2f})"
    return (False, f"flagged: {what}") if is_row else (True, f"not a digit: {what}")
