"""Predict digits for image files, folders and Kaggle-format CSVs with a saved Keras model.

Every input yields one `Prediction`; a bad input yields one with `error` set and never stops the
others. An image holding a written number is read as a string (`digitrec.inference.numbers`):
`digits` is e.g. "2026", `digit_confidences` the per-digit confidences, `confidence` their
product, `digit`/`name` None and `top_k` empty. A single digit fills `digit`, `name`,
`confidence` and `top_k`, with `digits` and `digit_confidences` None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from digitrec.arrays import model_input
from digitrec.constants import LABEL_NAMES, NUM_CLASSES
from digitrec.inference.files import ImageError, decode_image, encode_png, read_image
from digitrec.inference.inputs import InputItem, expand_inputs
from digitrec.inference.number_reader import LinePredictor, load_line_predictor, reader_path
from digitrec.inference.numbers import Predictor, read_written
from digitrec.inference.preprocess import to_mnist
from digitrec.inference.rejection import Gate, load_gate, verdict
from digitrec.storage import write_bytes_atomic

LOW_CONFIDENCE = 0.80  # a prediction (or a whole digit string) below this is flagged for review
DEFAULT_TOP_K = 3
PROGRESS_CHUNK = 1024  # inputs per batched model call when a caller follows the progress
Progress = Callable[[int, int], None]  # (inputs done, inputs in all)
# An input's images, read as a number?, error, the number reader's (k, 10) rows (None: none)
Prepared = tuple[list[np.ndarray], bool, str | None, np.ndarray | None]


@dataclass(frozen=True)
class Prediction:
    """What the model read in one input, or why the input could not be read."""

    input: str
    digit: int | None = None
    name: str | None = None
    confidence: float | None = None
    top_k: list[dict] = field(default_factory=list)  # [{digit, name, probability}], best first
    low_confidence: bool = False
    digits: str | None = None
    digit_confidences: list[float] | None = None
    rejected: bool = False  # "not a digit": the gate's verdict on an image file
    reason: str | None = None  # why it was rejected (or, for a CSV row, flagged)
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Readings:
    """Every input's prediction, and the 28x28 uint8 images the model saw for it (none on error),
    which the prediction log keeps."""

    predictions: list[Prediction]
    seen: list[list[np.ndarray]]


def read_inputs(
    model_path: Path | str,
    inputs: Sequence[str | Path] | str | Path,
    top_k: int = DEFAULT_TOP_K,
    save_preprocessed_to: Path | str | None = None,
    multi_digit: bool | None = None,
    runtime: str = "auto",
    roots: Sequence[Path] | None = None,
    on_progress: Progress | None = None,
) -> Readings:
    """Predict every input with one model load and one batched model call (one per
    PROGRESS_CHUNK inputs when `on_progress` follows the batch).

    `roots`: read files only under these folders (the flow's allowed input roots); None reads
    whatever the caller can (the local CLI).
    `multi_digit`: None reads an image as a number when it splits into several digits, False
    always reads one digit, True always reports a digit string (even of one digit).
    `save_preprocessed_to`: a folder for the 28x28 PNGs the model saw from image files (CSV rows
    are already 28x28 and are not written).
    `on_progress(done, total)`: called with 0 once the inputs are expanded, then after each
    chunk of inputs, the last time with done == total.
    """
    if not 1 <= top_k <= NUM_CLASSES:
        raise ValueError(f"top_k must be 1..{NUM_CLASSES}, got {top_k}")
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: model file not found")
    items = expand_inputs(inputs, roots)
    save_dir = Path(save_preprocessed_to) if save_preprocessed_to is not None else None
    reader = Reader(model_path, runtime)
    step = PROGRESS_CHUNK if on_progress is not None else max(len(items), 1)  # else one chunk
    report = on_progress or (lambda done, total: None)
    predictions: list[Prediction] = []
    seen: list[list[np.ndarray]] = []
    report(0, len(items))
    for start in range(0, len(items), step):
        chunk = items[start : start + step]
        prepared = [  # the model scores where touching digits may be cut (loaded if needed)
            prepare(
                item,
                i + start,
                multi_digit,
                save_dir,
                lambda x: reader.predictor(x),
                reader.numbers,
            )
            for i, item in enumerate(chunk)
        ]
        predictions += reader.read(chunk, prepared, top_k)
        seen += [images for images, *_ in prepared]
        report(start + len(chunk), len(items))
    return Readings(predictions, seen)


@dataclass
class Reader:
    """A model and its gate, each loaded on first use and kept for every chunk of a batch."""

    model_path: Path
    runtime: str

    @cached_property
    def predictor(self) -> Callable[[np.ndarray], np.ndarray]:
        from digitrec.inference.runtimes import load_predictor

        return load_predictor(self.model_path, self.runtime)[0]

    @cached_property
    def numbers(self) -> LinePredictor | None:
        """The run's number reader, loaded at its first line (None: none, numbers are cut)."""
        if not reader_path(self.model_path).is_file():
            return None
        return lambda lines: self.line_reader(lines)

    @cached_property
    def line_reader(self) -> LinePredictor:
        return load_line_predictor(self.model_path)  # type: ignore[return-value]

    @cached_property
    def gate(self) -> Gate | None:
        return load_gate(self.model_path) if self.model_path.suffix == ".keras" else None

    def read(
        self, items: list[InputItem], prepared: list[Prepared], top_k: int
    ) -> list[Prediction]:
        """One batched model (and gate) call for these inputs' images; a prediction per input."""
        batch = [image for images, *_ in prepared for image in images]
        probabilities = np.zeros((len(batch), NUM_CLASSES), np.float32)  # (M, 10)
        unread, start = [], 0
        for images, _, _, read in prepared:  # digits the number reader read keep its rows
            if read is not None:
                probabilities[start : start + len(images)] = read
            else:
                unread += range(start, start + len(images))
            start += len(images)
        if unread:  # the digit model scores only what the number reader did not read
            probabilities[unread] = self.probabilities([batch[i] for i in unread])
        gate = self.gate
        if gate is not None and batch:
            scores = gate.score(np.stack(batch), probabilities.max(1))  # (M,)
        else:
            scores = None
        threshold = gate.threshold if gate is not None else None
        return list(assemble(items, prepared, probabilities, top_k, scores, threshold))

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        """Softmax probabilities (M, 10) for MNIST-style images; loads the model only if needed."""
        if not images:
            return np.zeros((0, NUM_CLASSES), np.float32)
        batch = model_input(np.stack(images))  # (M, 28, 28, 1) in 0..255
        probabilities = self.predictor(batch)
        if probabilities.shape != (len(images), NUM_CLASSES):
            raise ValueError(
                f"{self.model_path}: model output has shape {probabilities.shape}, expected "
                f"({len(images)}, {NUM_CLASSES}) softmax probabilities"
            )
        return probabilities


def prepare(
    item: InputItem, index: int, multi_digit: bool | None, save_dir: Path | None,
    predictor: Predictor | None = None, numbers: LinePredictor | None = None,
) -> Prepared:  # fmt: skip
    """(28x28 images for the model, read as a number?, error, the number reader's rows) for
    one input. `predictor` (the digit model) tells a single digit from a number; without it,
    one digit per group of ink; `numbers` reads a number when the run has a reader."""
    if item.error is not None:
        return [], False, item.error, None
    if item.pixels is not None:
        return [item.pixels], bool(multi_digit), None, None
    try:
        gray = read_image(item.path) if item.data is None else decode_image(item.data, item.name)
        if multi_digit is False:
            images, read = [to_mnist(gray)], None
        else:
            found = read_written(gray, predictor, numbers)
            images, read = found.images, found.probabilities
        for j, image in enumerate(images):
            if (path := saved_name(save_dir, index, item, j, len(images))) is not None:
                write_bytes_atomic(path, encode_png(image))
    except (ImageError, OSError, cv2.error) as error:
        return [], False, str(error), None
    return images, multi_digit is True or len(images) > 1, None, read


def saved_name(save_dir: Path | None, index: int, item: InputItem, piece: int, pieces: int):
    """Where to save what the model saw: `0007-photo.png`, or `0007-photo-2.png` for digit 2."""
    if save_dir is None:
        return None
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(item.name).stem)[:80]
    suffix = f"-{piece + 1}" if pieces > 1 else ""
    return save_dir / f"{index:04d}-{stem}{suffix}.png"


def assemble(
    items: list[InputItem],
    prepared: list[Prepared],
    probabilities: np.ndarray,
    top_k: int,
    scores: np.ndarray | None = None,
    threshold: float | None = None,
) -> Iterable[Prediction]:
    """Hand each input its rows of the batched probabilities (and gate scores), in order."""
    start = 0
    for item, (images, as_number, error, _) in zip(items, prepared, strict=True):
        if error is not None:
            yield Prediction(item.name, error=error)
            continue
        rows = probabilities[start : start + len(images)]  # (k, 10)
        prediction = (
            number_prediction(item.name, rows)
            if as_number
            else digit_prediction(item.name, rows[0], top_k)
        )
        if scores is not None:
            pieces = scores[start : start + len(images)]  # (k,)
            rejected, reason = verdict(pieces, threshold, is_row=item.pixels is not None)
            prediction = replace(prediction, rejected=rejected, reason=reason)
        start += len(images)
        yield prediction


def digit_prediction(name: str, probabilities: np.ndarray, top_k: int) -> Prediction:
    """One digit: the most likely class, its confidence and the top-k alternatives."""
    order = np.argsort(-probabilities, kind="stable")[:top_k]  # (top_k,)
    best = int(order[0])
    confidence = float(probabilities[best])
    ranked = [
        {"digit": int(d), "name": LABEL_NAMES[d], "probability": float(probabilities[d])}
        for d in order
    ]
    return Prediction(
        input=name,
        digit=best,
        name=LABEL_NAMES[best],
        confidence=confidence,
        top_k=ranked,
        low_confidence=confidence < LOW_CONFIDENCE,
    )


def number_prediction(name: str, probabilities: np.ndarray) -> Prediction:
    """A written number: its digit string; confidence is the product of the digits' confidences."""
    best = probabilities.argmax(axis=1)  # (k,)
    confidences = [float(probabilities[i, d]) for i, d in enumerate(best)]
    confidence = float(np.prod(confidences))
    return Prediction(
        input=name,
        confidence=confidence,
        low_confidence=confidence < LOW_CONFIDENCE,
        digits="".join(str(int(d)) for d in best),
        digit_confidences=confidences,
    )
