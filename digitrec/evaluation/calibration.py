"""How well confidence matches accuracy: the reliability table and the expected calibration
error (ECE) over equal-width confidence bins."""

from __future__ import annotations

import numpy as np

ECE_BINS = 15


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Per confidence bin: rows, mean confidence and accuracy (equal-width bins on (0, 1])."""
    confidence = probabilities.max(axis=1)  # (N,)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)  # (N,)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)  # (N,)
    rows = []
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        rows.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "rows": count,
                "confidence": float(confidence[members].mean()) if count else None,
                "accuracy": float(correct[members].mean()) if count else None,
            }
        )
    return rows


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Row-weighted mean |accuracy - confidence| over the confidence bins."""
    table = reliability(probabilities, labels, bins)
    total = sum(row["rows"] for row in table)
    return float(
        sum(row["rows"] * abs(row["accuracy"] - row["confidence"]) for row in table if row["rows"])
        / total
    )
