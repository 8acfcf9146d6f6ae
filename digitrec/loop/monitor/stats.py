"""The tests monitoring runs: predicted classes against the training prior (chi-square, PSI),
each image statistic against the training images (two-sample KS), and the confidence
histogram. Plain functions of counts and samples, so each one is testable on its own."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

PSI_FLOOR = 1e-4  # a share of 0 would make PSI infinite; floor both sides at this
CONFIDENCE_BINS = 10  # equal-width bins over 0..1


@dataclass(frozen=True)
class ClassShift:
    """Predicted-class counts against the training prior."""

    counts: tuple[int, ...]  # per digit 0..9, in the window
    expected: tuple[float, ...]  # per digit, the prior scaled to the window's total
    chi_square: float | None
    chi_square_p: float | None
    psi: float | None


@dataclass(frozen=True)
class FeatureShift:
    """One image statistic in the window against the reference sample."""

    feature: str
    window_mean: float | None
    reference_mean: float
    ks_statistic: float | None
    ks_p: float | None
    samples: int  # window images with a value (blank images have none)


def psi(observed: np.ndarray, expected: np.ndarray) -> float:
    """Population stability index of two distributions over the same bins (counts or shares):
    sum((p - q) * ln(p / q)); 0.1 is a small shift, above 0.2 a large one by convention."""
    p = shares(observed)
    q = shares(expected)
    return float(np.sum((p - q) * np.log(p / q)))


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts as shares, floored at PSI_FLOOR and renormalised; ValueError for no counts."""
    values = np.asarray(counts, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or np.any(values < 0) or values.sum() <= 0:
        raise ValueError(f"expected non-negative counts with a positive total, got {values}")
    floored = np.maximum(values / values.sum(), PSI_FLOOR)
    return floored / floored.sum()


def class_shift(counts: np.ndarray, prior: np.ndarray) -> ClassShift:
    """Chi-square goodness of fit and PSI of the window's predicted classes against the prior."""
    observed = np.asarray(counts, dtype=np.int64)  # (10,)
    if observed.shape != np.shape(prior):
        raise ValueError(f"counts {observed.shape} and prior {np.shape(prior)} differ in shape")
    total = int(observed.sum())
    expected = shares(prior) * total  # (10,)
    if total == 0:
        return ClassShift(tuple(observed.tolist()), tuple(expected.tolist()), None, None, None)
    chi = stats.chisquare(observed, f_exp=expected)
    return ClassShift(
        counts=tuple(int(c) for c in observed),
        expected=tuple(float(e) for e in expected),
        chi_square=float(chi.statistic),
        chi_square_p=float(chi.pvalue),
        psi=psi(observed, prior),
    )


def feature_shift(name: str, window: np.ndarray, reference: np.ndarray) -> FeatureShift:
    """Two-sample KS test of one statistic (NaNs, from blank images, left out on both sides)."""
    ours = finite(window)
    theirs = finite(reference)
    if theirs.size == 0:
        raise ValueError(f"reference sample of {name!r} has no finite values")
    if ours.size == 0:
        return FeatureShift(name, None, float(theirs.mean()), None, None, 0)
    test = stats.ks_2samp(ours, theirs)
    return FeatureShift(
        feature=name,
        window_mean=float(ours.mean()),
        reference_mean=float(theirs.mean()),
        ks_statistic=float(test.statistic),
        ks_p=float(test.pvalue),
        samples=int(ours.size),
    )


def finite(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[np.isfinite(array)]


def confidence_histogram(confidences: np.ndarray) -> list[int]:
    """Counts of confidences in CONFIDENCE_BINS equal bins over [0, 1] (1.0 in the last)."""
    values = finite(confidences)
    if np.any((values < 0) | (values > 1)):
        raise ValueError("confidences must lie in [0, 1]")
    counts, _ = np.histogram(values, bins=CONFIDENCE_BINS, range=(0.0, 1.0))
    return [int(c) for c in counts]


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide."""
    return part / whole if whole else None


def rounded(value: float | None, digits: int = 6) -> float | None:
    """For tables and JSON: None stays None, NaN becomes None."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)
