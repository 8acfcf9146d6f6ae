"""digitrec.inference.levels gives exactly NumPy's percentiles and medians of uint8 images."""

from __future__ import annotations

import numpy as np
import pytest

from digitrec.data.photos import photo_like
from digitrec.inference import levels

QS = [0, 1, 2, 10, 33.3, 50, 90, 98, 99, 100]


def samples(mnist_arrays) -> list[np.ndarray]:
    """Odd and even sizes, flat, two-valued, skewed and noisy data, and real photo renders."""
    rng = np.random.default_rng(7)
    images, _ = mnist_arrays
    made = [rng.integers(0, 256, size, dtype=np.uint8) for size in (1, 2, 3, 4, 5, 999, 1000)]
    made += [np.full(17, 200, np.uint8), np.r_[np.zeros(10, np.uint8), np.full(11, 255, np.uint8)]]
    made += [rng.binomial(255, p, 4097).astype(np.uint8) for p in (0.02, 0.5, 0.97)]
    made += [images[i] for i in range(20)]  # mostly zeros
    made += [photo_like(images[i], rng) for i in range(20)]  # (H, W) photos with noise
    return made


def test_percentiles_equal_numpys(mnist_arrays):
    for values in samples(mnist_arrays):
        assert np.array_equal(levels.percentile(values, QS), np.percentile(values, QS))
        for q in (1, 90, 99):
            ours = levels.percentile(values, q)
            assert isinstance(ours, float) and ours == float(np.percentile(values, q))


def test_medians_equal_numpys(mnist_arrays):
    for values in samples(mnist_arrays):
        centre = float(np.median(values))
        assert levels.median(values) == centre
        expected = float(np.median(np.abs(values.astype(np.float32) - centre)))
        assert levels.median_deviation(values, centre) == expected
        assert levels.median_deviation(values, centre + 0.5) == float(
            np.median(np.abs(values.astype(np.float32) - (centre + 0.5)))
        )


def test_refuses_other_dtypes_and_empty_data():
    with pytest.raises(ValueError, match="uint8"):
        levels.percentile(np.zeros(4, np.float32), 50)
    with pytest.raises(ValueError, match="no values"):
        levels.median(np.zeros(0, np.uint8))
