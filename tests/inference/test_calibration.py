"""Temperature scaling and the expected calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from digitrec.evaluation.calibration import expected_calibration_error, reliability
from digitrec.inference.calibration import (
    apply_temperature,
    calibration_path,
    fit_temperature,
    load_temperature,
    save_temperature,
)


def underconfident(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows that are right 98% of the time but only ~70% confident (like label smoothing)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    predicted = np.where(rng.random(n) < 0.98, labels, (labels + 1) % 10)
    probs = np.full((n, 10), 0.3 / 9)
    probs[np.arange(n), predicted] = 0.7
    return probs, labels


def test_temperature_changes_no_digit_and_keeps_rows_normalised():
    probs, _ = underconfident(500)
    for t in (0.1, 0.5, 2.0):
        scaled = apply_temperature(probs, t)
        assert np.array_equal(scaled.argmax(1), probs.argmax(1))
        np.testing.assert_allclose(scaled.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(apply_temperature(probs, 1.0), probs, atol=1e-6)


def test_fitting_repairs_an_underconfident_model():
    probs, labels = underconfident()
    before = expected_calibration_error(probs, labels)
    temperature = fit_temperature(probs, labels)
    after = expected_calibration_error(apply_temperature(probs, temperature), labels)
    assert temperature < 1  # it sharpens
    assert before == pytest.approx(0.28, abs=0.01)  # 98% right at 70% confidence
    assert after < 0.01 < before


def test_ece_is_zero_when_confidence_equals_accuracy_and_bins_add_up():
    probs = np.tile(np.r_[0.8, np.full(9, 0.2 / 9)], (100, 1))  # all 80% confident in 0
    labels = np.r_[np.zeros(80, int), np.ones(20, int)]  # and right 80% of the time
    assert expected_calibration_error(probs, labels) == pytest.approx(0.0, abs=1e-9)
    table = reliability(probs, labels)
    assert sum(row["rows"] for row in table) == 100 and len(table) == 15


def test_stored_temperature_round_trips_and_bad_files_are_named(tmp_path):
    model = tmp_path / "model.keras"
    assert load_temperature(model) is None  # a model from before calibration
    save_temperature(model, 0.42, ece_before=0.09)
    assert calibration_path(model).name == "model.calibration.json"
    assert load_temperature(model) == 0.42
    calibration_path(model).write_text('{"temperature": "hot"}')
    with pytest.raises(ValueError, match=r"model\.calibration\.json: unreadable calibration"):
        load_temperature(model)
    calibration_path(model).write_text('{"temperature": 500}')
    with pytest.raises(ValueError, match="outside"):
        load_temperature(model)
