"""Synthetic written numbers as number-reader lines: training split digits written apart, close
or touching, rendered on paper, as a photo or on the drawing pad, then read back to a line by
the very code that serves (`inference.line.read_line`), so training sees what serving sees."""

from __future__ import annotations

import numpy as np

from digitrec.data.numbers import RENDERS, written_number
from digitrec.inference.files import ImageError
from digitrec.inference.line import LINE_HEIGHT, LINE_WIDTH, read_line

MAX_DIGITS = 10
SPACING_SHARE = {"apart": 0.3, "close": 0.3, "touching": 0.4}  # touching is the hard case


def synthetic_lines(
    images: np.ndarray,
    labels: np.ndarray,
    count: int,
    seed: int = 0,
    lengths: tuple[int, int] = (1, MAX_DIGITS),
    shares: dict[str, float] = SPACING_SHARE,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`count` numbers of MNIST digits (N, 28, 28) as lines (count, 28, 256) uint8, their
    digits as targets (count, MAX_DIGITS) padded with -1, and each number's spacing (drawn
    with these `shares`)."""
    rng = np.random.default_rng(seed)
    lines = np.zeros((count, LINE_HEIGHT, LINE_WIDTH), np.uint8)
    targets = np.full((count, MAX_DIGITS), -1, np.int32)
    spacings = list(rng.choice(list(shares), size=count, p=list(shares.values())))
    made = 0
    while made < count:
        chosen = rng.choice(len(images), size=int(rng.integers(lengths[0], lengths[1] + 1)))
        render = RENDERS[int(rng.integers(len(RENDERS)))]
        try:
            line = read_line(written_number(images[chosen], spacings[made], rng, render))
        except ImageError:
            continue  # a render too faint to find: draw another
        lines[made] = line.pixels
        targets[made, : len(chosen)] = labels[chosen]
        made += 1
    return lines, targets, [str(s) for s in spacings]


def number_strings(targets: np.ndarray) -> list[str]:
    """Each target row (N, MAX_DIGITS), padded with -1, as its digit string."""
    return ["".join(str(int(d)) for d in row if d >= 0) for row in targets]
