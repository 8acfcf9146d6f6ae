"""How good is a model: accuracy with honest intervals, per-digit metrics and where it errs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from digitrec.arrays import first_non_digit
from digitrec.constants import DIGITS, LABEL_NAMES, NUM_CLASSES

# Resamples drawn per batch in bootstrap_interval: bounds memory to ~chunk * N indices.
BOOTSTRAP_CHUNK_CELLS = 4_000_000


class EvaluationError(ValueError):
    """Inputs to an evaluation do not fit together (shapes, label range, counts)."""


@dataclass(frozen=True)
class AccuracySummary:
    """Holdout accuracy with Wilson and bootstrap 95% intervals, and log loss."""

    accuracy: float
    n: int
    correct: int
    wilson_low: float
    wilson_high: float
    bootstrap_low: float
    bootstrap_high: float
    log_loss: float


@dataclass(frozen=True)
class FoldSummary:
    """Mean k-fold accuracy with its spread and a Student-t 95% interval."""

    mean: float
    std: float
    min: float
    max: float
    folds: int
    ci_low: float
    ci_high: float


def as_labels(values, name: str = "labels") -> np.ndarray:
    """Digit labels as int64 (N,); refuses other shapes and values outside 0..9."""
    labels = np.asarray(values)
    if labels.ndim != 1:
        raise EvaluationError(f"{name}: expected a 1-D array, got shape {labels.shape}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise EvaluationError(f"{name}: expected integer labels, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    bad = first_non_digit(labels)
    if bad is not None:
        raise EvaluationError(f"{name}[{bad}] = {labels[bad]} is not a digit 0..9")
    return labels


def paired_labels(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Two non-empty label arrays of the same length."""
    truth, pred = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    if truth.shape != pred.shape:
        raise EvaluationError(f"y_true has {truth.size} labels but y_pred has {pred.size}")
    if truth.size == 0:
        raise EvaluationError("no labels to evaluate")
    return truth, pred


def as_probs(y_true, probs) -> tuple[np.ndarray, np.ndarray]:
    """Labels (N,) and class probabilities (N, 10) that belong together."""
    truth = as_labels(y_true, "y_true")
    p = np.asarray(probs, dtype=np.float64)  # (N, 10)
    if p.ndim != 2 or p.shape[1] != NUM_CLASSES:
        raise EvaluationError(f"probs: expected shape (N, {NUM_CLASSES}), got {p.shape}")
    if p.shape[0] != truth.size:
        raise EvaluationError(f"y_true has {truth.size} labels but probs has {p.shape[0]} rows")
    if truth.size == 0:
        raise EvaluationError("no labels to evaluate")
    return truth, p


def wilson_interval(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion: stays inside [0, 1] even at 0/n and n/n."""
    if total <= 0:
        raise EvaluationError(f"total must be positive, got {total}")
    if not 0 <= correct <= total:
        raise EvaluationError(f"correct must be within 0..{total}, got {correct}")
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_interval(
    y_true, y_pred, n_resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of accuracy: makes no normality assumption."""
    truth, pred = paired_labels(y_true, y_pred)
    if n_resamples < 1:
        raise EvaluationError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < level < 1:
        raise EvaluationError(f"level must be between 0 and 1, got {level}")
    hits = (truth == pred).astype(np.float64)  # (N,)
    rng = np.random.default_rng(seed)
    chunk = max(1, BOOTSTRAP_CHUNK_CELLS // hits.size)
    accuracies = np.empty(n_resamples)  # (R,)
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        rows = rng.integers(0, hits.size, size=(stop - start, hits.size))  # (r, N)
        accuracies[start:stop] = hits[rows].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(accuracies, [tail, 1 - tail])
    return float(low), float(high)


def confusion(y_true, y_pred) -> np.ndarray:
    """Confusion counts (10, 10) int64: rows are the true digit, columns the prediction."""
    truth, pred = paired_labels(y_true, y_pred)
    cells = np.bincount(truth * NUM_CLASSES + pred, minlength=NUM_CLASSES * NUM_CLASSES)
    return cells.reshape(NUM_CLASSES, NUM_CLASSES)  # (10, 10)


def classification_table(y_true, y_pred) -> list[dict]:
    """Precision, recall, F1 and support per digit, then macro and weighted averages.

    Average rows carry their name ('macro avg', 'weighted avg') in `digit` and an empty `name`.
    """
    from sklearn.metrics import precision_recall_fscore_support

    truth, pred = paired_labels(y_true, y_pred)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, pred, labels=list(DIGITS), zero_division=0
    )
    rows = [
        metric_row(
            digit, LABEL_NAMES[digit], precision[digit], recall[digit], f1[digit], support[digit]
        )
        for digit in DIGITS
    ]
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            truth, pred, labels=list(DIGITS), average=average, zero_division=0
        )
        rows.append(metric_row(f"{average} avg", "", p, r, f, support.sum()))
    return rows


def metric_row(digit: int | str, name: str, precision, recall, f1, support) -> dict:
    """One JSON-ready row of the classification table."""
    return {
        "digit": digit,
        "name": name,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "support": int(support),
    }


def most_confused_pairs(cm, k: int = 5) -> list[dict]:
    """The k largest off-diagonal cells: which digit is most often read as which."""
    counts = np.asarray(cm)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise EvaluationError(f"confusion matrix must be square, got shape {counts.shape}")
    if k < 0:
        raise EvaluationError(f"k must not be negative, got {k}")
    row_totals = counts.sum(axis=1)  # (C,)
    off = counts.astype(np.int64).copy()
    np.fill_diagonal(off, 0)
    flat = off.ravel()  # (C * C,)
    order = np.lexsort((np.arange(flat.size), -flat))  # count desc, then (true, predicted) asc
    pairs = []
    for cell in order[:k]:
        if flat[cell] == 0:
            break
        true, predicted = divmod(int(cell), counts.shape[1])
        pairs.append(
            {
                "true": true,
                "predicted": predicted,
                "count": int(flat[cell]),
                "share_of_true": float(flat[cell] / row_totals[true]),
            }
        )
    return pairs


def misclassified_indices(y_true, probs, limit: int = 36) -> np.ndarray:
    """Indices of wrong predictions, most confident mistakes first (ties keep input order)."""
    truth, p = as_probs(y_true, probs)
    pred = p.argmax(axis=1)  # (N,)
    wrong = np.flatnonzero(pred != truth)  # (W,)
    confidence = p[wrong, pred[wrong]]  # (W,)
    order = np.argsort(-confidence, kind="stable")
    return wrong[order][: max(limit, 0)]


def log_loss(truth: np.ndarray, p: np.ndarray, eps: float = 1e-15) -> float:
    """Mean negative log probability of the true digit (rows renormalised, as float32 drifts)."""
    true_prob = p[np.arange(truth.size), truth] / p.sum(axis=1)  # (N,)
    return float(-np.mean(np.log(np.clip(true_prob, eps, 1.0))))


def accuracy_summary(y_true, probs, seed: int = 0, resamples: int = 1000) -> AccuracySummary:
    """Holdout accuracy with Wilson and bootstrap 95% intervals and log loss."""
    truth, p = as_probs(y_true, probs)
    pred = p.argmax(axis=1)  # (N,)
    correct = int(np.sum(pred == truth))
    wilson_low, wilson_high = wilson_interval(correct, truth.size)
    boot_low, boot_high = bootstrap_interval(truth, pred, n_resamples=resamples, seed=seed)
    return AccuracySummary(
        accuracy=correct / truth.size,
        n=int(truth.size),
        correct=correct,
        wilson_low=wilson_low,
        wilson_high=wilson_high,
        bootstrap_low=boot_low,
        bootstrap_high=boot_high,
        log_loss=log_loss(truth, p),
    )


def cv_summary(fold_accuracies: list[float]) -> FoldSummary:
    """Mean fold accuracy with a Student-t 95% interval (few folds: t, not normal)."""
    from scipy.stats import t

    scores = np.asarray(fold_accuracies, dtype=np.float64)  # (K,)
    if scores.ndim != 1 or scores.size < 2:
        raise EvaluationError(f"need at least 2 fold accuracies, got {scores.size}")
    mean, std = float(scores.mean()), float(scores.std(ddof=1))
    half = float(t.ppf(0.975, df=scores.size - 1)) * std / math.sqrt(scores.size)
    return FoldSummary(
        mean=mean,
        std=std,
        min=float(scores.min()),
        max=float(scores.max()),
        folds=int(scores.size),
        ci_low=max(0.0, mean - half),  # accuracies: the interval cannot leave [0, 1]
        ci_high=min(1.0, mean + half),
    )
