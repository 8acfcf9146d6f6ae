"""Render a few real MNIST test digits as dark ink on light paper, for the README's examples.

    .venv/bin/python samples/make_samples.py

Writes seven.png, three.png, zero.png (one digit each) and 2026.png (four digits side by side).
The digits come from MNIST's 10,000 test images (index 60,000 on in `load_mnist_arrays()`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from digitrec.data.embedded import load_mnist_arrays  # noqa: E402

HERE = Path(__file__).resolve().parent
TEST_START = 60_000  # the first MNIST test image
SCALE = 4  # 28 px -> 112 px
MARGIN = 24  # paper around the ink, in pixels
SINGLES = {"seven": 7, "three": 3, "zero": 0}
NUMBER = "2026"


def first_test_digits(labels: np.ndarray, digit: int, count: int) -> list[int]:
    """Indices of the first `count` MNIST test images labelled `digit`."""
    found = np.flatnonzero(labels[TEST_START:] == digit)[:count]  # (count,)
    return [TEST_START + int(i) for i in found]


def on_paper(images: list[np.ndarray]) -> np.ndarray:
    """White-on-black 28x28 digits -> one dark-on-light image, digits side by side."""
    scaled = [
        cv2.resize(255 - im, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC)
        for im in images
    ]  # each (112, 112), ink now dark
    row = np.hstack(scaled)  # (112, 112 * len(images))
    return cv2.copyMakeBorder(row, MARGIN, MARGIN, MARGIN, MARGIN, cv2.BORDER_CONSTANT, value=255)


def main() -> None:
    images, labels = load_mnist_arrays()  # (70000, 28, 28) uint8, (70000,)
    for name, digit in SINGLES.items():
        (index,) = first_test_digits(labels, digit, 1)
        cv2.imwrite(str(HERE / f"{name}.png"), on_paper([images[index]]))
    used: dict[int, int] = {}
    picks = []
    for char in NUMBER:  # a different handwriting sample for each repeated digit
        digit = int(char)
        used[digit] = used.get(digit, 0) + 1
        picks.append(images[first_test_digits(labels, digit, used[digit])[-1]])
    cv2.imwrite(str(HERE / f"{NUMBER}.png"), on_paper(picks))
    print(f"wrote {', '.join(sorted(p.name for p in HERE.glob('*.png')))} in {HERE}")


if __name__ == "__main__":
    main()
