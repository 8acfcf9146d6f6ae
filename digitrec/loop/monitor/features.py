"""Cheap per-image statistics of 28x28 digit images, the inputs' side of drift monitoring: a shift
in how people write (thicker pens, inverted photos, off-centre crops) moves them before it
shows up in accuracy. All vectorised over a stack of images; no per-image Python loop."""

from __future__ import annotations

import numpy as np

from digitrec.constants import IMAGE_SIZE, PIXEL_MAX

INK = 128  # a pixel at or above this is ink (MNIST strokes are near 255, paper is 0)
FEATURES = ("ink_mass", "bbox_aspect", "stroke_width", "center_row", "center_col")
FEATURE_HELP = {
    "ink_mass": "mean intensity, 0 (blank) to 1 (all ink)",
    "bbox_aspect": "height / width of the ink's bounding box",
    "stroke_width": "2 x ink area / ink boundary length, in pixels",
    "center_row": "intensity-weighted centre of mass, row (0 = top)",
    "center_col": "intensity-weighted centre of mass, column (0 = left)",
}


def as_stack(images: np.ndarray) -> np.ndarray:
    """Images as a uint8 (N, 28, 28) stack; a ValueError names any other shape or type."""
    stack = np.asarray(images)
    if stack.ndim == 2:
        stack = stack[None]  # (1, 28, 28)
    if stack.ndim != 3 or stack.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected 28x28 images as (N, 28, 28), got shape {stack.shape}")
    if stack.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels 0..255, got {stack.dtype}")
    return stack


def image_features(images: np.ndarray) -> dict[str, np.ndarray]:
    """Each statistic of FEATURES for every image, float64 (N,); NaN where a blank image has
    no ink to measure (callers drop NaNs before testing)."""
    stack = as_stack(images)  # (N, 28, 28)
    values = stack.astype(np.float64) / PIXEL_MAX  # (N, 28, 28) in 0..1
    ink = stack >= INK  # (N, 28, 28) bool
    area = ink.sum(axis=(1, 2)).astype(np.float64)  # (N,)
    has_ink = area > 0
    return {
        "ink_mass": values.mean(axis=(1, 2)),
        "bbox_aspect": bbox_aspect(ink, has_ink),
        "stroke_width": stroke_width(ink, area, has_ink),
        **centre_of_mass(values),
    }


def bbox_aspect(ink: np.ndarray, has_ink: np.ndarray) -> np.ndarray:
    """Height over width of each image's ink bounding box (a "1" is tall, a "-" flat)."""
    rows, cols = ink.any(axis=2), ink.any(axis=1)  # (N, 28) each
    height = extent(rows)
    width = extent(cols)
    return np.where(has_ink, height / np.maximum(width, 1), np.nan)


def extent(occupied: np.ndarray) -> np.ndarray:
    """Span in pixels from the first to the last occupied index of each row vector (N, 28)."""
    size = occupied.shape[1]
    first = occupied.argmax(axis=1)  # (N,)
    last = size - 1 - occupied[:, ::-1].argmax(axis=1)  # (N,)
    return (last - first + 1).astype(np.float64)


def stroke_width(ink: np.ndarray, area: np.ndarray, has_ink: np.ndarray) -> np.ndarray:
    """Mean stroke width: a straight stroke of width w and length L has area w*L and 2*(L + w)
    pixel edges between ink and paper, so 2 * area / edges = w * L / (L + w), close to w for
    long strokes (and up to ~1.4x low for diagonal ones: fine for comparing distributions)."""
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))  # (N, 30, 30): ink at the border has edges
    vertical = np.abs(np.diff(padded.astype(np.int8), axis=1)).sum(axis=(1, 2))  # (N,)
    horizontal = np.abs(np.diff(padded.astype(np.int8), axis=2)).sum(axis=(1, 2))  # (N,)
    edges = (vertical + horizontal).astype(np.float64)
    return np.where(has_ink, 2 * area / np.maximum(edges, 1), np.nan)


def centre_of_mass(values: np.ndarray) -> dict[str, np.ndarray]:
    """Intensity-weighted centre of each image (MNIST centres digits by it: a shift shows here)."""
    total = values.sum(axis=(1, 2))  # (N,)
    index = np.arange(IMAGE_SIZE, dtype=np.float64)
    row = (values.sum(axis=2) * index).sum(axis=1)  # (N,)
    col = (values.sum(axis=1) * index).sum(axis=1)  # (N,)
    blank = total == 0
    safe = np.where(blank, 1, total)
    return {
        "center_row": np.where(blank, np.nan, row / safe),
        "center_col": np.where(blank, np.nan, col / safe),
    }
