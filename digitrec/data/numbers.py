"""Written numbers made of MNIST digits, to test and benchmark reading a number: digits side by
side at a chosen spacing (apart, close or touching), jittered in scale, slant and baseline, and
rendered at 3x MNIST's scale as ink on paper, as a phone photo, or as drawing-pad strokes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from digitrec.data.photos import on_paper

SCALE = 3  # rendered at 3x MNIST's 28 px
# The closest approach of neighbouring digits' strokes along a row, px at MNIST's scale
# (negative: the strokes overlap by that much, so the digits touch).
SPACINGS: dict[str, tuple[float, float]] = {
    "apart": (4.0, 8.0),
    "close": (0.0, 3.0),
    "touching": (-4.0, -1.0),
}
RENDERS = ("paper", "photo", "canvas")  # on_paper; plus blur, tilt and uneven light; a pad
INK = 64  # a 0..255 white-on-black pixel at least this bright is stroke
SIZE_JITTER = (0.85, 1.15)  # each digit's size, relative
SLANT_JITTER = 0.15  # each digit's shear, x shift per px of height, either way
BASELINE_JITTER = 2.0  # each digit's vertical offset, px at MNIST's scale, either way
PAD_SIZE = (140, 280)  # the drawing page's image (H, W): its 560x280 pad sent at half size
PAD_STROKE = 9  # px: the pad's 18-px pen at half size
MNIST_STROKE = 2.5  # px: a typical MNIST stroke at 28 px


@dataclass(frozen=True)
class WrittenNumber:
    """A number as a reader receives it: a grayscale image and the digits written in it."""

    image: np.ndarray  # (H, W) uint8
    digits: str


def written_number(
    digits: np.ndarray, spacing: str, rng: np.random.Generator, render: str = "paper"
) -> np.ndarray:
    """MNIST digits (k, 28, 28) written left to right as one grayscale image (H, W) uint8."""
    if spacing not in SPACINGS:
        raise ValueError(f"unknown spacing {spacing!r}; choose {', '.join(SPACINGS)}")
    if render not in RENDERS:
        raise ValueError(f"unknown render {render!r}; choose {', '.join(RENDERS)}")
    strip = number_strip(digits, SPACINGS[spacing], rng)  # (h, w) white on black
    if render == "canvas":
        return on_pad(strip)
    margin = int(rng.integers(6, 16)) * SCALE
    ink = cv2.copyMakeBorder(strip, *(margin,) * 4, cv2.BORDER_CONSTANT, value=0)  # (H, W)
    return on_paper(photographed(ink, rng) if render == "photo" else ink, rng)


def number_strip(
    digits: np.ndarray, gaps: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """Jittered digits (k, 28, 28) placed left to right, white on black (h, w) float32."""
    pieces = [jittered(digit, rng) for digit in digits]
    height = max(piece.shape[0] for piece in pieces) + 2 * round(BASELINE_JITTER * SCALE) + 2
    strip = np.zeros((height, 0), np.float32)
    for piece in pieces:
        shift = round(rng.uniform(-BASELINE_JITTER, BASELINE_JITTER) * SCALE)
        top = min(max((height - piece.shape[0]) // 2 + shift, 0), height - piece.shape[0])
        column = np.zeros((height, piece.shape[1]), np.float32)  # (h, w_piece)
        column[top : top + piece.shape[0]] = piece
        strip = append(strip, column, round(rng.uniform(*gaps) * SCALE))
    return strip


def jittered(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST digit at SCALE, resized, slanted and cropped to its ink: (h, w) float32."""
    size = SCALE * rng.uniform(*SIZE_JITTER)
    big = cv2.resize(digit, None, fx=size, fy=size, interpolation=cv2.INTER_CUBIC)  # (h, w)
    slant = rng.uniform(-SLANT_JITTER, SLANT_JITTER)
    height, width = big.shape
    pad = int(np.ceil(abs(slant) * height / 2)) + 1
    shear = np.float32([[1, slant, pad - slant * height / 2], [0, 1, 0]])
    sheared = cv2.warpAffine(big, shear, (width + 2 * pad, height), flags=cv2.INTER_LINEAR)
    rows, cols = np.flatnonzero(sheared.max(1) >= INK), np.flatnonzero(sheared.max(0) >= INK)
    return sheared[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)


def append(strip: np.ndarray, column: np.ndarray, gap: int) -> np.ndarray:
    """The strip with a digit's column placed `gap` px right of it at their closest row."""
    if strip.shape[1] == 0:
        return column
    right = last_ink(strip)  # (h,) the strip's rightmost stroke per row, -1 where none
    left = first_ink(column)  # (h,) the digit's leftmost stroke per row, its width where none
    both = (right >= 0) & (left < column.shape[1])
    reach = int((right - left)[both].max()) if both.any() else strip.shape[1] - 1
    start = max(reach + 1 + gap, 0)  # where the digit's column begins in the strip
    width = max(strip.shape[1], start + column.shape[1])
    out = np.zeros((strip.shape[0], width), np.float32)  # (h, w')
    out[:, : strip.shape[1]] = strip
    out[:, start : start + column.shape[1]] = np.maximum(
        out[:, start : start + column.shape[1]], column
    )
    return out


def last_ink(strip: np.ndarray) -> np.ndarray:
    """Per row, the rightmost column holding stroke, -1 where the row has none: (h,)."""
    ink = strip >= INK  # (h, w)
    last = strip.shape[1] - 1 - ink[:, ::-1].argmax(1)
    return np.where(ink.any(1), last, -1)


def first_ink(column: np.ndarray) -> np.ndarray:
    """Per row, the leftmost column holding stroke, the width where the row has none: (h,)."""
    ink = column >= INK  # (h, w)
    return np.where(ink.any(1), ink.argmax(1), column.shape[1])


def photographed(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White-on-black ink as a camera sees it: slightly turned and blurred, unevenly lit."""
    height, width = ink.shape
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-3, 3), 1.0)
    ink = cv2.warpAffine(ink.astype(np.float32), turn, (width, height))
    ink = cv2.GaussianBlur(ink, (0, 0), rng.uniform(0.5, 1.5))
    light = np.linspace(rng.uniform(-30, 0), rng.uniform(0, 30), width)[None, :]  # (1, W)
    return np.clip(ink - light, 0, 255)


def on_pad(strip: np.ndarray) -> np.ndarray:
    """Strokes as the drawing page sends them: solid black pen lines on white, PNG-clean."""
    scale = min(1.0, 0.8 * PAD_SIZE[0] / strip.shape[0], 0.9 * PAD_SIZE[1] / strip.shape[1])
    small = cv2.resize(strip, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    solid = (small >= 2 * INK).astype(np.uint8)  # (h, w) the pen's path
    grow = round((PAD_STROKE - MNIST_STROKE * SCALE * scale) / 2)  # a pen wider than MNIST's
    if grow > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        solid = cv2.dilate(solid, kernel)
    stroke = cv2.GaussianBlur(solid.astype(np.float32) * 255, (0, 0), 0.6)  # anti-aliased
    pad = np.full(PAD_SIZE, 255.0, np.float32)  # (140, 280) white
    top, left = (PAD_SIZE[0] - stroke.shape[0]) // 2, (PAD_SIZE[1] - stroke.shape[1]) // 2
    pad[top : top + stroke.shape[0], left : left + stroke.shape[1]] -= stroke
    return np.clip(pad, 0, 255).astype(np.uint8)


def sample_numbers(
    images: np.ndarray,
    labels: np.ndarray,
    count: int,
    lengths: tuple[int, int],
    spacing: str,
    render: str = "paper",
    seed: int = 0,
) -> Iterator[WrittenNumber]:
    """`count` numbers of lengths[0]..lengths[1] digits drawn from MNIST images (N, 28, 28)."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        chosen = rng.choice(len(images), size=int(rng.integers(lengths[0], lengths[1] + 1)))
        image = written_number(images[chosen], spacing, rng, render)
        yield WrittenNumber(image, "".join(str(int(label)) for label in labels[chosen]))
