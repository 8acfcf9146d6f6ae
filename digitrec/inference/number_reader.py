"""Serve the number reader (`digitrec.modeling.number_reader`): find it beside a digit model,
load it (LiteRT, else Keras), read a line, and cut the line into the digits it read, so every
digit still has a 28x28 image for the "not a digit" gate, the prediction log and review."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec.inference.ctc import Reading, greedy
from digitrec.inference.files import ImageError
from digitrec.inference.line import LINE_HEIGHT, LINE_MARGIN, LINE_WIDTH, Line, ink_line
from digitrec.inference.preprocess import centre_digit

READER_SUFFIX = ".number_reader.keras"  # model.number_reader.keras beside model.keras: one of
# its sidecars, so it is registered, cached and promoted with the digit model
STEP = 4  # line columns per reader step
LinePredictor = Callable[[np.ndarray], np.ndarray]  # (N, 28, 256, 1) -> (N, STEPS, 11)


@dataclass(frozen=True)
class NumberRead:
    """A number the reader read: a 28x28 image and a (10,) probability row per digit."""

    images: list[np.ndarray]
    probabilities: np.ndarray | None  # (k, 10); None: the digit model reads the images


def reader_path(model_path: Path | str) -> Path:
    """Where a digit model's number reader lives: beside it, named after it."""
    path = Path(model_path)
    return path.with_name(path.name.removesuffix(".keras") + READER_SUFFIX)


def reader_litert_path(model_path: Path | str) -> Path:
    return reader_path(model_path).with_suffix(".tflite")


def load_line_predictor(model_path: Path | str) -> LinePredictor | None:
    """The run's number reader as a function of line batches: its LiteRT export when current
    (no TensorFlow import), else the .keras file; None when the run has no reader."""
    from digitrec.inference.runtimes import is_fresh, keras_predictor, litert_predictor

    keras_file, litert_file = reader_path(model_path), reader_litert_path(model_path)
    if not keras_file.is_file():
        return None
    if is_fresh(litert_file, keras_file):
        return litert_predictor(litert_file)
    return keras_predictor(keras_file, (LINE_HEIGHT, LINE_WIDTH, 1))


def read_lines(predictor: LinePredictor, lines: list[Line]) -> list[Reading]:
    """Each line's reading, one batched call."""
    if not lines:
        return []
    batch = np.stack([line.pixels for line in lines])[..., None].astype(np.float32)
    probabilities = predictor(batch)  # (N, STEPS, 11)
    return [greedy(row) for row in probabilities]


def digit_images(ink: np.ndarray, line: Line, reading: Reading) -> list[np.ndarray]:
    """The ink (H, W) of each digit read, as an MNIST-style 28x28: the columns between the
    midpoints of neighbouring digits' steps, mapped back from the line to the image."""
    if reading.steps.size == 0:
        return []
    centres = reading.steps * STEP + STEP / 2  # (k,) line columns
    bounds = (centres[:-1] + centres[1:]) / 2  # (k - 1,)
    columns = line.left + (bounds - LINE_MARGIN) / line.scale  # in the image
    edges = [0, *np.rint(columns).astype(int).tolist(), ink.shape[1]]
    images = []
    for start, end in zip(edges[:-1], edges[1:], strict=True):
        try:
            images.append(centre_digit(ink[:, max(start, 0) : max(end, start + 1)]))
        except ImageError:
            images.append(np.zeros((28, 28), np.uint8))  # read from a neighbour's edge
    return images


def read_ink(ink: np.ndarray, predictor: LinePredictor) -> NumberRead:
    """A number from its white-on-black ink (H, W): the reader's digits, their images."""
    line = ink_line(ink)
    reading = read_lines(predictor, [line])[0]
    return NumberRead(digit_images(ink, line, reading), reading.probabilities)
