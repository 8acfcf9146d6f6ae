"""A written number as the number reader sees it: one line of white ink on black, LINE_HEIGHT px
tall with its ink LINE_INK px tall (MNIST's 20-px box), left-aligned in LINE_WIDTH columns.

The same ink layer as a single digit (`preprocess.ink_layer`), so a photo, a scan and a drawing
pad give the line the reader was trained on; a number wider than the line is squeezed to fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitrec.inference.files import ImageError
from digitrec.inference.preprocess import (
    DIGIT_BOX,
    ink_layer,
    mask_near,
    match_strokes,
    resized,
)

LINE_HEIGHT = 28
LINE_INK = DIGIT_BOX  # the number's ink is scaled to this height, as MNIST scales a digit
LINE_WIDTH = 256  # room for 10 digits written apart at MNIST's scale
LINE_MARGIN = 4  # px of black left of the ink (and above and below it)


@dataclass(frozen=True)
class Line:
    """A number's line image and where its columns came from in the original image."""

    pixels: np.ndarray  # (LINE_HEIGHT, LINE_WIDTH) uint8, white ink on black
    left: int  # the ink's first column in the original image
    scale: float  # line columns per original column (after any squeeze)


def read_line(gray: np.ndarray) -> Line:
    """The ink of a grayscale image (H, W) uint8 as one line for the number reader."""
    ink, mask = ink_layer(gray)  # (H, W) uint8, (H, W) bool
    return ink_line(ink * mask_near(mask, gray.shape))


def ink_line(ink: np.ndarray) -> Line:
    """White-on-black ink (H, W) cropped to its box and laid out as a `Line`."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise ImageError("blank: no ink found")
    cropped = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # (h, w)
    box = match_strokes(cropped, side=cropped.shape[0])  # strokes as MNIST's, for its height
    grown = (box.shape[1] - cropped.shape[1]) // 2  # a thickened pen's border, each side
    height, width = box.shape
    scale = LINE_INK / height
    room = LINE_WIDTH - 2 * LINE_MARGIN
    new_width = max(1, min(round(width * scale), room))
    line = np.zeros((LINE_HEIGHT, LINE_WIDTH), np.uint8)
    top = (LINE_HEIGHT - LINE_INK) // 2
    line[top : top + LINE_INK, LINE_MARGIN : LINE_MARGIN + new_width] = resized(
        box, (new_width, LINE_INK)
    )
    return Line(line, int(cols[0]) - grown, new_width / width)
