"""Cut a written number into its digits, left to right, for `to_mnist` one by one, or read every
digit of an image straight to 28x28 (`read_digits`, one ink pass for a single digit)."""

from __future__ import annotations

import cv2
import numpy as np

from digitrec.inference.files import MIN_SIDE
from digitrec.inference.preprocess import centre_digit, ink_layer, mask_near, to_mnist

MERGE_OVERLAP = 0.5  # components overlapping horizontally by this share of the narrower merge
MIN_HEIGHT_SHARE = 0.5  # a separate digit is at least this share of the tallest one's height
MIN_GAP_SHARE = 0.05  # a gap narrower than this share of the tallest (about half a stroke) is a
# skip of the pen inside one digit, not the space between two digits


def split_digits(gray: np.ndarray) -> list[np.ndarray]:
    """Cut a written number into digits, left to right: white-on-black crops for `to_mnist`."""
    ink, mask = ink_layer(gray)  # (H, W) uint8, (H, W) bool
    return [crop_piece(ink, group, gray.shape) for group in digit_groups(mask)]


def read_digits(gray: np.ndarray) -> list[np.ndarray]:
    """Each digit in an image as an MNIST-style (28, 28) uint8, left to right.

    The same images as `to_mnist` over `split_digits`' pieces (or over the whole image when it
    holds one digit), but the ink layer found for splitting is reused for a single digit rather
    than found again: the common case (one drawn digit) costs one ink pass, not two."""
    ink, mask = ink_layer(gray)  # (H, W) uint8, (H, W) bool
    return read_groups(ink, mask, digit_groups(mask), gray.shape)


def read_groups(
    ink: np.ndarray, mask: np.ndarray, groups: list[np.ndarray], shape: tuple[int, ...]
) -> list[np.ndarray]:
    """Each ink group as an MNIST-style (28, 28) uint8; one group: the whole ink, as `to_mnist`."""
    if len(groups) <= 1:
        return [centre_digit(ink * mask_near(mask, shape))]
    return [to_mnist(crop_piece(ink, group, shape)) for group in groups]


def digit_groups(mask: np.ndarray) -> list[np.ndarray]:
    """Ink components grouped into digits, left to right, as (H, W) bool masks."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    groups = sorted((component_box(stats[i], [i]) for i in range(1, count)), key=lambda b: b[0])
    while True:
        merged = merge_short(merge_overlapping(groups))
        if len(merged) == len(groups):
            break
        groups = merged
    return [np.isin(labels, members) for *_, members in groups]


def component_box(stat: np.ndarray, members: list[int]) -> tuple[int, int, int, int, list[int]]:
    """(x0, y0, x1, y1, member labels) with exclusive ends."""
    x, y, width, height = (int(v) for v in stat[:4])
    return x, y, x + width, y + height, members


def join(a: tuple, b: tuple) -> tuple[int, int, int, int, list[int]]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]), a[4] + b[4]


def merge_overlapping(boxes: list[tuple]) -> list[tuple]:
    """Merge components that overlap or nearly touch horizontally (a 5's hat, a two-stroke 4)."""
    tallest = max((box[3] - box[1] for box in boxes), default=0)
    merged: list[tuple] = []
    for box in sorted(boxes, key=lambda b: b[0]):
        if merged:
            last = merged[-1]
            overlap = min(last[2], box[2]) - max(last[0], box[0])  # negative: the gap
            narrower = min(last[2] - last[0], box[2] - box[0])
            if overlap >= MERGE_OVERLAP * narrower or -overlap < MIN_GAP_SHARE * tallest:
                merged[-1] = join(last, box)
                continue
        merged.append(box)
    return merged


def merge_short(groups: list[tuple]) -> list[tuple]:
    """Fold groups much shorter than the tallest into their nearest neighbour (fragments)."""
    groups = list(groups)
    while len(groups) > 1:
        tallest = max(g[3] - g[1] for g in groups)
        short = [i for i, g in enumerate(groups) if g[3] - g[1] < MIN_HEIGHT_SHARE * tallest]
        if not short:
            break
        i = short[0]
        j = nearest_neighbour(groups, i)
        keep, drop = min(i, j), max(i, j)
        groups[keep] = join(groups[keep], groups[drop])
        del groups[drop]
    return groups


def nearest_neighbour(groups: list[tuple], i: int) -> int:
    """Index of the group left or right of group i with the smaller horizontal gap."""
    left = groups[i][0] - groups[i - 1][2] if i > 0 else None
    right = groups[i + 1][0] - groups[i][2] if i + 1 < len(groups) else None
    if right is None or (left is not None and left <= right):
        return i - 1
    return i + 1


def crop_piece(ink: np.ndarray, group: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """One digit's ink alone on black, cropped to it with a margin of a tenth of its height."""
    piece = ink * mask_near(group, shape)  # (H, W)
    rows, cols = np.flatnonzero(group.any(axis=1)), np.flatnonzero(group.any(axis=0))
    margin = max(MIN_SIDE, (rows[-1] - rows[0] + 1) // 10)
    top, left = max(rows[0] - margin, 0), max(cols[0] - margin, 0)
    crop = piece[top : rows[-1] + 1 + margin, left : cols[-1] + 1 + margin]  # (h, w)
    return cv2.copyMakeBorder(crop, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
