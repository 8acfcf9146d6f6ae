"""Evaluation metrics: intervals against known values, tables against sklearn, orderings."""

import json
import time
from dataclasses import asdict

import numpy as np
import pytest
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.metrics import log_loss as sklearn_log_loss

from digitrec.data.split import SplitError, stratified_folds
from digitrec.evaluation.metrics import (
    EvaluationError,
    accuracy_summary,
    bootstrap_interval,
    classification_table,
    confusion,
    cv_summary,
    misclassified_indices,
    most_confused_pairs,
    wilson_interval,
)


def noisy_predictions(n: int, error_rate: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels (n,) and predictions with exactly round(n * error_rate) wrong."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 10, n)
    pred = truth.copy()
    wrong = rng.choice(n, size=round(n * error_rate), replace=False)
    pred[wrong] = (truth[wrong] + rng.integers(1, 10, wrong.size)) % 10
    return truth, pred


def softmax_like(truth: np.ndarray, pred: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Probabilities (N, 10) whose argmax is `pred` with the given top probability."""
    probs = np.tile(((1 - confidence) / 9)[:, None], (1, 10))  # (N, 10)
    probs[np.arange(len(pred)), pred] = confidence
    return probs


def test_wilson_matches_known_value():
    low, high = wilson_interval(95, 100)
    assert low == pytest.approx(0.8882, abs=1e-4)
    assert high == pytest.approx(0.9785, abs=1e-4)


@pytest.mark.parametrize("total", [1, 10, 4200])
def test_wilson_edges_stay_inside_unit_interval(total):
    none_low, none_high = wilson_interval(0, total)
    all_low, all_high = wilson_interval(total, total)
    assert none_low == 0.0 and 0 < none_high < 1
    assert all_high == 1.0 and 0 < all_low < 1
    # 0/n has the closed form upper bound z^2 / (n + z^2).
    assert none_high == pytest.approx(1.96**2 / (total + 1.96**2))


def test_wilson_narrows_with_more_data_and_rejects_bad_counts():
    small, large = wilson_interval(90, 100), wilson_interval(9000, 10000)
    assert large[1] - large[0] < (small[1] - small[0]) / 5
    with pytest.raises(EvaluationError, match="total"):
        wilson_interval(0, 0)
    with pytest.raises(EvaluationError, match="correct"):
        wilson_interval(11, 10)


def test_bootstrap_contains_accuracy_narrows_and_agrees_with_wilson():
    small_truth, small_pred = noisy_predictions(200, 0.1)
    truth, pred = noisy_predictions(4200, 0.1)
    small = bootstrap_interval(small_truth, small_pred)
    low, high = bootstrap_interval(truth, pred)
    assert low <= 0.9 <= high and small[0] <= 0.9 <= small[1]
    assert high - low < (small[1] - small[0]) / 2
    wilson_low, wilson_high = wilson_interval(int(np.sum(truth == pred)), truth.size)
    assert high - low == pytest.approx(wilson_high - wilson_low, rel=0.15)


def test_bootstrap_is_seeded_level_aware_and_vectorised():
    truth, pred = noisy_predictions(4200, 0.02)
    started = time.perf_counter()
    first = bootstrap_interval(truth, pred, n_resamples=1000, seed=3)
    elapsed = time.perf_counter() - started
    assert first == bootstrap_interval(truth, pred, n_resamples=1000, seed=3)
    assert first != bootstrap_interval(truth, pred, n_resamples=1000, seed=4)
    narrow = bootstrap_interval(truth, pred, level=0.5, seed=3)
    assert first[0] < narrow[0] < narrow[1] < first[1]
    assert elapsed < 1.0, f"bootstrap took {elapsed:.2f}s for 4200 x 1000"
    assert bootstrap_interval(truth, truth) == (1.0, 1.0)


def test_bootstrap_rejects_mismatched_or_bad_input():
    with pytest.raises(EvaluationError, match="y_true has 3 labels but y_pred has 2"):
        bootstrap_interval([1, 2, 3], [1, 2])
    with pytest.raises(EvaluationError, match="level"):
        bootstrap_interval([1, 2], [1, 2], level=1.5)
    with pytest.raises(EvaluationError, match=r"y_pred\[1\] = 10 is not a digit"):
        bootstrap_interval([1, 2], [1, 10])


def test_confusion_counts_match_sklearn_and_margins():
    truth, pred = noisy_predictions(500, 0.2, seed=1)
    cm = confusion(truth, pred)
    assert cm.shape == (10, 10) and np.issubdtype(cm.dtype, np.integer)
    assert cm.sum() == 500
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(truth, minlength=10))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(pred, minlength=10))
    np.testing.assert_array_equal(cm, confusion_matrix(truth, pred, labels=range(10)))
    assert np.trace(cm) == np.sum(truth == pred)


def test_classification_table_equals_sklearn_report():
    truth, pred = noisy_predictions(400, 0.15, seed=2)
    pred[pred == 7] = 1  # digit 7 is never predicted: precision 0 by zero_division
    table = classification_table(truth, pred)
    report = classification_report(
        truth, pred, labels=list(range(10)), output_dict=True, zero_division=0
    )
    assert [row["digit"] for row in table] == [*range(10), "macro avg", "weighted avg"]
    names = "zero one two three four five six seven eight nine".split()
    assert [row["name"] for row in table[:10]] == names
    for row in table:
        expected = report[str(row["digit"])]
        assert row["precision"] == pytest.approx(expected["precision"])
        assert row["recall"] == pytest.approx(expected["recall"])
        assert row["f1"] == pytest.approx(expected["f1-score"])
        assert row["support"] == expected["support"]
    assert table[7]["precision"] == 0.0
    json.dumps(table)


def test_most_confused_pairs_are_off_diagonal_largest_first():
    cm = np.diag(np.full(10, 100))
    cm[4, 9] = 12
    cm[7, 1] = 12
    cm[3, 5] = 30
    cm[8, 3] = 2
    pairs = most_confused_pairs(cm, k=3)
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [
        (3, 5, 30),
        (4, 9, 12),  # ties: lower true digit first
        (7, 1, 12),
    ]
    assert pairs[0]["share_of_true"] == pytest.approx(30 / 130)
    assert len(most_confused_pairs(cm, k=10)) == 4  # zero cells never appear
    assert most_confused_pairs(np.diag(np.full(10, 5))) == []
    with pytest.raises(EvaluationError, match="square"):
        most_confused_pairs(np.zeros((10, 9)))


def test_misclassified_indices_most_confident_first():
    truth = np.array([0, 1, 2, 3, 4, 5])
    pred = np.array([0, 7, 2, 8, 9, 5])
    probs = softmax_like(truth, pred, np.array([0.9, 0.6, 0.8, 0.99, 0.7, 0.5]))
    np.testing.assert_array_equal(misclassified_indices(truth, probs), [3, 4, 1])
    np.testing.assert_array_equal(misclassified_indices(truth, probs, limit=2), [3, 4])
    assert misclassified_indices(pred, probs).size == 0
    with pytest.raises(EvaluationError, match="probs has 5 rows"):
        misclassified_indices(truth, probs[:5])


def test_accuracy_summary_is_consistent_and_json_ready():
    truth, pred = noisy_predictions(1000, 0.05, seed=5)
    confidence = np.random.default_rng(0).uniform(0.3, 0.99, truth.size)
    probs = softmax_like(truth, pred, confidence).astype(np.float32)
    summary = accuracy_summary(truth, probs)
    assert json.loads(json.dumps(asdict(summary))) == asdict(summary)
    assert summary.n == 1000 and summary.correct == 950
    assert summary.accuracy == 0.95
    assert summary.wilson_low < 0.95 < summary.wilson_high
    assert summary.bootstrap_low <= 0.95 <= summary.bootstrap_high
    wide = probs.astype(np.float64)  # float32 rows drift from summing to 1
    normalised = wide / wide.sum(axis=1, keepdims=True)
    expected = sklearn_log_loss(truth, normalised, labels=list(range(10)))
    assert summary.log_loss == pytest.approx(expected, rel=1e-5)


def test_stratified_folds_partition_and_keep_class_shares(mnist_arrays):
    labels = mnist_arrays[1][:1000]
    folds = stratified_folds(labels, folds=5, seed=0)
    assert len(folds) == 5
    validation = np.concatenate([val for _, val in folds])
    np.testing.assert_array_equal(np.sort(validation), np.arange(1000))
    expected = np.bincount(labels, minlength=10) / 5
    for train, val in folds:
        assert np.intersect1d(train, val).size == 0 and train.size + val.size == 1000
        assert np.all(np.abs(np.bincount(labels[val], minlength=10) - expected) <= 1)
    again = stratified_folds(labels, folds=5, seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    other = stratified_folds(labels, folds=5, seed=1)
    assert not np.array_equal(folds[0][1], other[0][1])


def test_stratified_folds_refuse_too_few_examples():
    with pytest.raises(SplitError, match="at least 3 images"):
        stratified_folds(np.array([0, 0, 0, 1, 1]), folds=3, seed=0)
    with pytest.raises(SplitError, match="at least 2"):
        stratified_folds(np.arange(10), folds=1, seed=0)


def test_cv_summary_uses_student_t():
    summary = cv_summary([0.990, 0.992, 0.994])
    assert summary.mean == pytest.approx(0.992)
    assert summary.std == pytest.approx(0.002)
    assert (summary.min, summary.max, summary.folds) == (0.990, 0.994, 3)
    half = 4.302653 * 0.002 / np.sqrt(3)  # t(0.975, df=2)
    assert summary.ci_low == pytest.approx(0.992 - half, abs=1e-6)
    assert summary.ci_high == pytest.approx(0.992 + half, abs=1e-6)
    assert json.loads(json.dumps(asdict(summary))) == asdict(summary)
    assert cv_summary([0.999, 1.0]).ci_high == 1.0
    with pytest.raises(EvaluationError, match="at least 2"):
        cv_summary([0.99])
