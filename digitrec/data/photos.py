"""Digits (or anything drawn MNIST-style) rendered as phone photos: dark ink on light paper,
enlarged, off-centre, noisy, through JPEG. The not-a-digit gate trains on such renders, and the
tests and benchmarks use them as photo-like inputs."""

from __future__ import annotations

import cv2
import numpy as np


def photo_like(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit as a phone photo: dark ink on light paper, 4-8x bigger, off-centre, noisy."""
    scale = int(rng.integers(4, 9))
    big = cv2.resize(digit, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)  # (h, w)
    height, width = big.shape
    canvas = np.zeros((height + int(rng.integers(20, 120)), width + int(rng.integers(20, 120))))
    top = int(rng.integers(0, canvas.shape[0] - height + 1))
    left = int(rng.integers(0, canvas.shape[1] - width + 1))
    canvas[top : top + height, left : left + width] = big
    return on_paper(canvas, rng)


def on_paper(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White-on-black ink (0..255) as dark ink on light paper with noise, through JPEG."""
    paper, pen = rng.uniform(190, 245), rng.uniform(10, 70)
    image = paper - (paper - pen) * ink / 255.0 + rng.normal(0, 8, ink.shape)  # (H, W)
    ok, buffer = cv2.imencode(".jpg", np.clip(image, 0, 255).astype(np.uint8))
    return cv2.imdecode(buffer, cv2.IMREAD_GRAYSCALE)
