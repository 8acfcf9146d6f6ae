"""A coarse scan's digits for the gate, read back as MNIST."""

from __future__ import annotations

import numpy as np

from digitrec.data.pens import coarse_scan
from digitrec.inference.preprocess import to_mnist


def ink(image: np.ndarray) -> int:
    return int((image >= 128).sum())


def test_a_coarse_scan_keeps_the_digit_but_not_its_detail(mnist_arrays):
    images, _ = mnist_arrays
    rng = np.random.default_rng(0)
    for digit in images[:20]:
        read = to_mnist(coarse_scan(digit, rng))  # (28, 28): still read as ink on black
        assert read.shape == (28, 28) and read.max() == 255
        same = np.corrcoef(read.ravel(), to_mnist(digit).ravel())[0, 1]
        assert 0.5 < same < 0.99  # the same digit, its detail blurred away
