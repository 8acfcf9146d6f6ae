"""Confidence that means what it says: temperature scaling, fitted on held-out rows after
training and stored beside the model (`model.calibration.json`). The temperature divides the
log-probabilities, so it changes no predicted digit, and it applies alike to every runtime's and
every ensemble's output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from digitrec.storage import write_json_atomic

EPSILON = 1e-12  # probabilities of exactly 0 (int8 outputs) stay finite in log space
T_RANGE = (0.05, 20.0)


def calibration_path(keras_path: Path | str) -> Path:
    return Path(keras_path).with_suffix(".calibration.json")


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """(N, 10) probabilities re-softmaxed from log p / T; T < 1 sharpens, T > 1 softens."""
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), EPSILON, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(picked, EPSILON, 1.0))))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of `labels` (N,)."""
    from scipy.optimize import minimize_scalar

    if len(labels) == 0:
        raise ValueError("temperature scaling needs at least one labelled row")
    labels = np.asarray(labels, np.int64)

    def loss(log_t: float) -> float:
        return negative_log_likelihood(apply_temperature(probabilities, np.exp(log_t)), labels)

    bounds = tuple(np.log(T_RANGE))
    return float(np.exp(minimize_scalar(loss, bounds=bounds, method="bounded").x))


def save_temperature(keras_path: Path | str, temperature: float, **facts: float) -> Path:
    """Store the temperature (and what it was fitted on) beside the model."""
    return write_json_atomic(calibration_path(keras_path), {"temperature": temperature, **facts})


def load_temperature(keras_path: Path | str) -> float | None:
    """The model's temperature, or None for a model trained before calibration existed."""
    path = calibration_path(keras_path)
    if not path.is_file():
        return None
    try:
        temperature = float(json.loads(path.read_text())["temperature"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{path}: unreadable calibration ({error}); retrain or delete it"
        ) from error
    if not T_RANGE[0] <= temperature <= T_RANGE[1]:
        raise ValueError(f"{path}: temperature {temperature} outside {T_RANGE}")
    return temperature
