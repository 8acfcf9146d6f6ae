"""Digits (or non-digits) as a coarse scanner makes them. The "not a digit" gate trains on
these beside MNIST's own strokes, so that a blurred low-resolution digit is not taken for
something else.

These are not `digitrec.data.styles`' renderings (their held-out sets stay unseen): other
sizes, other interpolations, no paper, no JPEG."""

from __future__ import annotations

import cv2
import numpy as np

COARSE_SIDES = (5, 12)  # px: the scan's resolution, before it is enlarged again


def coarse_scan(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A (28, 28) digit scanned at 5-12 px and enlarged back, smoothly: white ink on black."""
    side = int(rng.integers(COARSE_SIDES[0], COARSE_SIDES[1] + 1))
    small = cv2.resize(digit, (side, side), interpolation=cv2.INTER_AREA)
    size = int(rng.integers(24, 65))
    method = (cv2.INTER_LINEAR, cv2.INTER_CUBIC)[int(rng.integers(2))]
    big = np.clip(cv2.resize(small.astype(np.float32), (size, size), interpolation=method), 0, 255)
    pad = size // 4
    return cv2.copyMakeBorder(big.astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_CONSTANT)
