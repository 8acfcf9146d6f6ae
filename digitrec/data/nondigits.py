"""Synthetic non-digits for training and measuring "not a digit" rejection: letters that do not
read as digits, symbols, shapes and scribbles, drawn white on black with OpenCV at random
sizes, stroke widths and slants on a CANVAS-sized field. `digitrec.pipeline.rejection` makes
them MNIST-style with the same `to_mnist` as any input."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

CANVAS = 96  # pixels per side of the drawing, before to_mnist crops and scales it
# Letters that read as digits (O 0, I l 1, Z 2, S 5, b G 6, T 7, B 8, g q 9, D Q 0) are left out.
LETTERS = "ACEFHKMNPRUVWXYacdefhkmnprtuvwxy"
SYMBOLS = "+*#@%&?!=<>$~^"
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)

Drawer = Callable[[np.ndarray, np.random.Generator, int], None]  # canvas, rng, thickness


def glyph(text: str) -> Drawer:
    def draw(canvas: np.ndarray, rng: np.random.Generator, thickness: int) -> None:
        font = int(rng.choice(FONTS)) | (cv2.FONT_ITALIC if rng.random() < 0.3 else 0)
        scale = cv2.getFontScaleFromHeight(font, int(CANVAS * 0.6), thickness)
        (width, height), _ = cv2.getTextSize(text, font, scale, thickness)
        origin = ((CANVAS - width) // 2, (CANVAS + height) // 2)
        cv2.putText(canvas, text, origin, font, scale, 255, thickness, cv2.LINE_AA)

    return draw


def points(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.uniform(CANVAS * 0.15, CANVAS * 0.85, size=(count, 2)).astype(np.int32)  # (k, 2)


def scribble(canvas: np.ndarray, rng: np.random.Generator, thickness: int) -> None:
    """A random pen path of several strokes."""
    for _ in range(int(rng.integers(1, 4))):
        cv2.polylines(canvas, [points(rng, int(rng.integers(4, 9)))], False, 255, thickness)


def star(canvas: np.ndarray, rng: np.random.Generator, thickness: int) -> None:
    tips = int(rng.integers(5, 8))
    angles = np.arange(2 * tips) * np.pi / tips + rng.uniform(0, np.pi)
    radii = np.where(np.arange(2 * tips) % 2 == 0, CANVAS * 0.4, CANVAS * rng.uniform(0.12, 0.25))
    path = np.stack([CANVAS / 2 + radii * np.cos(angles), CANVAS / 2 + radii * np.sin(angles)], 1)
    cv2.polylines(canvas, [path.astype(np.int32)], True, 255, thickness)


def polygon(canvas: np.ndarray, rng: np.random.Generator, thickness: int) -> None:
    """Triangles, squares and other polygons, outlined or filled."""
    sides = int(rng.integers(3, 7))
    angles = np.sort(rng.uniform(0, 2 * np.pi, sides))
    radius = CANVAS * rng.uniform(0.25, 0.42)
    path = np.stack([CANVAS / 2 + radius * np.cos(angles), CANVAS / 2 + radius * np.sin(angles)], 1)
    if rng.random() < 0.25:
        cv2.fillPoly(canvas, [path.astype(np.int32)], 255)
    else:
        cv2.polylines(canvas, [path.astype(np.int32)], True, 255, thickness)


def crossing(canvas: np.ndarray, rng: np.random.Generator, thickness: int) -> None:
    """Hash marks, grids and crossed lines."""
    for _ in range(int(rng.integers(3, 7))):
        a, b = points(rng, 2)
        cv2.line(canvas, tuple(int(v) for v in a), tuple(int(v) for v in b), 255, thickness)


def face(canvas: np.ndarray, rng: np.random.Generator, thickness: int) -> None:
    """A smiley: a ring with eyes and a mouth (a bare ring would read as a zero)."""
    centre, radius = (CANVAS // 2, CANVAS // 2), int(CANVAS * 0.38)
    cv2.circle(canvas, centre, radius, 255, thickness)
    for dx in (-1, 1):
        cv2.circle(canvas, (CANVAS // 2 + dx * radius // 3, CANVAS // 2 - radius // 4), 3, 255, -1)
    cv2.ellipse(
        canvas,
        (CANVAS // 2, CANVAS // 2 + radius // 5),
        (radius // 2, radius // 3),
        0,
        20,
        160,
        255,
        thickness,
    )


def blob(canvas: np.ndarray, rng: np.random.Generator, thickness: int) -> None:
    """A filled ink blot or a thick smear."""
    cv2.ellipse(
        canvas,
        (CANVAS // 2, CANVAS // 2),
        (int(CANVAS * rng.uniform(0.15, 0.4)), int(CANVAS * rng.uniform(0.1, 0.35))),
        float(rng.uniform(0, 180)),
        0,
        360,
        255,
        -1,
    )


KINDS: dict[str, tuple[float, tuple[Drawer, ...]]] = {  # kind: (share, drawers)
    "letter": (0.35, tuple(glyph(c) for c in LETTERS)),
    "symbol": (0.15, tuple(glyph(c) for c in SYMBOLS)),
    "scribble": (0.2, (scribble,)),
    "shape": (0.3, (star, polygon, crossing, face, blob)),
}


def draw_one(rng: np.random.Generator) -> np.ndarray:
    """One random non-digit, white ink on black, (CANVAS, CANVAS) uint8, slanted at random."""
    names = list(KINDS)
    kind = names[rng.choice(len(names), p=[KINDS[n][0] for n in names])]
    drawers = KINDS[kind][1]
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    drawers[int(rng.integers(len(drawers)))](canvas, rng, int(rng.integers(2, 10)))
    return slant(canvas, rng)


def slant(canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotate by up to 20 degrees and shear, as a hand slants."""
    matrix = cv2.getRotationMatrix2D((CANVAS / 2, CANVAS / 2), float(rng.uniform(-20, 20)), 1.0)
    matrix[0, 1] += rng.uniform(-0.3, 0.3)
    return cv2.warpAffine(canvas, matrix, (CANVAS, CANVAS))


def redraw(digits: np.ndarray, seed: int) -> np.ndarray:
    """Digits (N, 28, 28) drawn again on the non-digits' canvas (N, CANVAS, CANVAS): enlarged,
    pen width changed, slanted, so that after `to_mnist` the gate cannot tell digits from
    non-digits by how they were made, only by what they show."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(digits), CANVAS, CANVAS), np.uint8)
    for i, digit in enumerate(digits):
        canvas = cv2.resize(digit, (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC)
        width = int(rng.integers(-1, 3))  # thinner, as is, or up to 2 px bolder per side
        if width:
            kernel = np.ones((3, 3) if width < 0 else (2 * width + 1,) * 2, np.uint8)
            canvas = (cv2.erode if width < 0 else cv2.dilate)(canvas, kernel)
        out[i] = slant(canvas, rng)
    return out


def draw_nondigits(count: int, seed: int) -> np.ndarray:
    """`count` random non-digits on the canvas (count, CANVAS, CANVAS) uint8."""
    rng = np.random.default_rng(seed)
    return np.stack([draw_one(rng) for _ in range(count)])
