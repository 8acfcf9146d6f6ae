"""Synthetic written numbers as number-reader lines: training split digits written apart, close
or touching, rendered on paper, as a photo or on the drawing pad, then read back to a line by
the very code that serves (`inference.line.read_line`), so training sees what serving sees."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from digitrec.data.numbers import RENDERS, written_number
from digitrec.inference.files import ImageError
from digitrec.inference.line import LINE_HEIGHT, LINE_WIDTH, read_line

MAX_DIGITS = 10
PIECE = 4000  # lines per piece of `many_lines`: its pieces and their seeds fix the lines made
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


def many_lines(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`synthetic_lines` for a reader's training: `count` lines made in pieces of PIECE, each
    with a seed of its own, on every core (the rendering is single-threaded OpenCV and Python).
    The pieces, not the cores, fix the lines: any machine makes the same ones."""
    sizes = [min(PIECE, count - start) for start in range(0, count, PIECE)]
    seeds = [seed * 1_000 + i for i in range(len(sizes))]
    workers = min(len(sizes), os.cpu_count() or 1)
    if workers <= 1:
        pieces = [synthetic_lines(images, labels, n, s) for n, s in zip(sizes, seeds, strict=True)]
    else:
        shares = [(sizes[w::workers], seeds[w::workers]) for w in range(workers)]
        made = in_children(images, labels, shares)  # worker w made pieces w, w + workers, ...
        pieces = [made[i % workers][i // workers] for i in range(len(sizes))]
    if not pieces:
        return synthetic_lines(images, labels, 0, seed)
    lines, targets, spacings = zip(*pieces, strict=True)
    return np.concatenate(lines), np.concatenate(targets), [s for part in spacings for s in part]


def in_children(images: np.ndarray, labels: np.ndarray, shares: list[tuple[list, list]]) -> list:
    """Each share of (sizes, seeds) made by a Python process of its own (`python -m
    digitrec.pipeline.line_child`, not multiprocessing: that re-imports the caller's __main__,
    which hangs a script without a main guard); per share, its pieces in order."""
    command = [sys.executable, "-m", "digitrec.pipeline.line_child"]
    with tempfile.TemporaryDirectory(prefix="digitrec-lines-") as folder:
        outputs = [Path(folder) / f"{w}.pkl" for w in range(len(shares))]
        children = []
        for (sizes, seeds), out in zip(shares, outputs, strict=True):
            with out.with_suffix(".err").open("wb") as errors:
                child = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=errors)
            child.stdin.write(pickle.dumps((images, labels, sizes, seeds, out)))
            child.stdin.close()
            children.append(child)
        for child, out in zip(children, outputs, strict=True):
            if child.wait() != 0:
                error = out.with_suffix(".err").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"making lines failed (exit {child.returncode}):\n{error}")
        return [pickle.loads(out.read_bytes()) for out in outputs]
