"""Synthetic number lines for the reader's training: digits and targets agree, and the lines
made on a pool of processes are the very lines made in one."""

from __future__ import annotations

import numpy as np
import pytest

from digitrec.pipeline import number_lines
from digitrec.pipeline.number_lines import in_children, many_lines, number_strings, synthetic_lines


def test_lines_hold_their_numbers(mnist_arrays):
    images, labels = mnist_arrays
    lines, targets, spacings = synthetic_lines(images[:300], labels[:300], 12, seed=3)
    assert lines.shape == (12, 28, 256) and lines.dtype == np.uint8
    assert all(line.max() > 100 for line in lines)  # each holds ink
    numbers = number_strings(targets)
    assert all(1 <= len(n) <= number_lines.MAX_DIGITS for n in numbers)
    assert set(spacings) <= {"apart", "close", "touching"}


def test_many_lines_are_the_same_on_any_number_of_cores(mnist_arrays, monkeypatch):
    images, labels = mnist_arrays
    monkeypatch.setattr(number_lines, "PIECE", 10)  # 25 lines: three pieces
    pooled = many_lines(images[:300], labels[:300], 25, seed=1)
    monkeypatch.setattr(number_lines.os, "cpu_count", lambda: 1)
    alone = many_lines(images[:300], labels[:300], 25, seed=1)
    assert pooled[0].shape == (25, 28, 256)
    np.testing.assert_array_equal(pooled[0], alone[0])
    np.testing.assert_array_equal(pooled[1], alone[1])
    assert pooled[2] == alone[2]
    assert many_lines(images[:300], labels[:300], 0)[0].shape == (0, 28, 256)


def test_a_failing_child_fails_the_lines_with_its_error(mnist_arrays):
    images, _ = mnist_arrays
    with pytest.raises(RuntimeError, match="(?s)making lines failed.*NoneType"):
        in_children(images[:50], None, [([3], [0])])  # no labels: the child's error comes back
