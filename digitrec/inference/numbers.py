"""Read a written number whose digits touch: an ink group wide enough to hold several digits,
that the digit model does not read whole with near certainty, is cut where the model reads the
pieces best (`cuts`), every candidate piece of the image in one model call (after one small
call that reads the wide groups whole). Narrower groups, and a group best read whole, give the
very image `segment` gives, so a single digit reads as it did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from digitrec.arrays import model_input
from digitrec.inference import cuts
from digitrec.inference.files import ImageError
from digitrec.inference.number_reader import LinePredictor, NumberRead, read_ink
from digitrec.inference.preprocess import DIGIT_BOX, centre_digit, ink_layer, mask_near
from digitrec.inference.segment import digit_groups, read_groups

Predictor = Callable[[np.ndarray], np.ndarray]  # (N, 28, 28, 1) float32 -> (N, 10)
MIN_SCALED = 3  # px: a piece thinner than this once scaled to MNIST's 20-px box is a sliver
Cut = Predictor | None  # the digit model that scores cut pieces; None: one digit per ink group
SPLIT_SURE = 0.95  # one island of ink is read as several digits only this surely, each


@dataclass(frozen=True)
class Candidates:
    """One ink group's candidate digits: the spans between its cut paths, their 28x28 images."""

    cuts: int  # cut paths, the group's two edges included
    spans: list[cuts.Span]
    images: list[np.ndarray]  # (28, 28) uint8 per span
    ratios: np.ndarray  # (n,) each span's ink width over its ink height
    heights: np.ndarray  # (n,) each span's ink height over the group's
    whole: int  # the index of the span that is the whole group


def read_written(
    gray: np.ndarray, predictor: Predictor | None, reader: LinePredictor | None
) -> NumberRead:
    """The digits written in an image, as `segment` gives them (probabilities None: the digit
    model reads each) unless the groups of ink are not the digits:
    - one group that the digit model reads whole with near certainty, or that is not wide
      enough for two digits, is one digit;
    - groups that are all such digits, and as many as the number reader reads, are the digits
      (the digit model reads a digit better than the reader, most of all other writers');
    - anything else is the number reader's reading (one group only when it surely holds
      several digits), or without a reader the cut search's (`read_number`).
    Without the digit model: one digit per group of ink."""
    ink, mask = ink_layer(gray)  # (H, W) uint8, (H, W) bool
    groups = digit_groups(mask)
    plain = NumberRead(read_groups(ink, mask, groups, gray.shape), None)
    if predictor is None:
        return plain
    doubtful = doubtful_groups(groups, plain.images, predictor)
    if len(groups) == 1 and not doubtful:
        return plain
    if reader is None:
        return NumberRead(read_number(gray, predictor), None)
    read = read_ink(ink * mask_near(mask, gray.shape), reader)
    if len(groups) == 1:  # one island of ink stays one digit unless surely more
        return read if splits_surely(read, ink_ratio(groups[0])) else plain
    if not doubtful and len(read.images) == len(groups):
        return plain
    return read if read.images else plain


def splits_surely(read: NumberRead, ratio: float) -> bool:
    """The reader found several digits in one island of ink, and either the island is too wide
    for one digit (as wide as cuts.KEEP_UNTIL heights: no single MNIST digit is) or it is sure
    of each: a wide single digit read as two is rarer than a doubt (bench/RESULTS.md)."""
    probabilities = read.probabilities
    if probabilities is None or len(probabilities) < 2:
        return False
    return ratio >= cuts.KEEP_UNTIL or float(probabilities.max(axis=1).min()) >= SPLIT_SURE


def ink_ratio(group: np.ndarray) -> float:
    """A group's ink width over its ink height."""
    rows, cols = np.flatnonzero(group.any(axis=1)), np.flatnonzero(group.any(axis=0))
    return (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1)


def read_number(gray: np.ndarray, predictor: Cut) -> list[np.ndarray]:
    """Each digit in an image as an MNIST-style (28, 28) uint8, left to right, touching or not.
    Without a predictor, as `segment.read_digits`: one digit per group of ink."""
    ink, mask = ink_layer(gray)  # (H, W) uint8, (H, W) bool
    groups = digit_groups(mask)
    plain = read_groups(ink, mask, groups, gray.shape)  # one image per group, as segment reads
    if predictor is None:
        return plain
    doubtful = doubtful_groups(groups, plain, predictor)
    found = {i: candidates(ink, groups[i], gray.shape, plain[i]) for i in doubtful}
    if not found:
        return plain
    batch = np.stack([image for c in found.values() for image in c.images])  # (N, 28, 28)
    probabilities = predictor(model_input(batch))  # (N, 10): every candidate, one call
    digits, start = [], 0
    for i, image in enumerate(plain):
        if i not in found:
            digits.append(image)
            continue
        rows = probabilities[start : start + len(found[i].images)]  # (n, 10)
        start += len(found[i].images)
        digits += [found[i].images[k] for k in best_reading(found[i], rows)]
    return digits


def doubtful_groups(
    groups: list[np.ndarray], plain: list[np.ndarray], predictor: Predictor
) -> list[int]:
    """Indices of the groups wide enough to hold several digits that the model does not read
    whole with near certainty: the only ones worth the cut search."""
    wide = [i for i, group in enumerate(groups) if is_wide(group)]
    if not wide:
        return []
    sure = predictor(model_input(np.stack([plain[i] for i in wide]))).max(axis=1)  # (w,)
    return [i for i, confidence in zip(wide, sure, strict=True) if confidence < cuts.SURE_WHOLE]


def best_reading(found: Candidates, probabilities: np.ndarray) -> list[int]:
    """Indices of the spans that read best as digits, left to right (one: the group whole)."""
    scores = cuts.piece_scores(probabilities, found.ratios, found.heights)  # (n,)
    scores[found.whole] += cuts.whole_bonus(found.ratios[found.whole])
    return cuts.best_path(found.spans, scores, found.cuts)


def is_wide(group: np.ndarray) -> bool:
    """Whether a group's ink is wide enough to hold more than one digit."""
    return ink_ratio(group) > cuts.WIDE


def candidates(
    ink: np.ndarray, group: np.ndarray, shape: tuple[int, ...], whole: np.ndarray
) -> Candidates:
    """A wide group's cut paths, the spans between them and each span as a 28x28 digit; the
    span of the whole group keeps `whole`, the image the group is read as uncut."""
    rows, cols = np.flatnonzero(group.any(axis=1)), np.flatnonzero(group.any(axis=0))
    top, left = rows[0], cols[0]
    box = group[top : rows[-1] + 1, left : cols[-1] + 1]  # (h, w)
    near = (ink * mask_near(group, shape))[top : rows[-1] + 1, left : cols[-1] + 1]  # (h, w)
    paths = cuts.candidate_cuts(box)  # (K + 2, h)
    columns = np.arange(box.shape[1])[None, :]  # (1, w)
    kept, images, sizes = [], [], []
    for span in cuts.spans(paths.mean(axis=1), box.shape[0]):
        if span == cuts.Span(0, len(paths) - 1):
            image, size = whole, box.shape
        else:
            inside = (columns >= paths[span.first][:, None]) & (columns < paths[span.last][:, None])
            try:
                image, size = span_digit(near * inside, box & inside)
            except ImageError:
                continue  # a stroke cut off a digit, or no ink at all
        kept.append(span)
        images.append(image)
        sizes.append(size)
    heights, widths = np.array(sizes, np.float64).T  # (n,), (n,)
    return Candidates(
        len(paths), kept, images, widths / heights, heights / box.shape[0], len(kept) - 1
    )


def span_digit(near: np.ndarray, piece: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """One span's ink (h, w) as an MNIST-style (28, 28) and its ink's (height, width): as
    `to_mnist` reads a single digit from the ink already found (`segment.read_groups`)."""
    rows, cols = np.flatnonzero(piece.any(axis=1)), np.flatnonzero(piece.any(axis=0))
    if rows.size == 0 or rows[-1] - rows[0] + 1 < cuts.MIN_HEIGHT * piece.shape[0]:
        raise ImageError("no digit between these cuts: too little ink")
    crop = near[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # (h', w')
    if min(crop.shape) * DIGIT_BOX < MIN_SCALED * max(crop.shape):
        raise ImageError("no digit between these cuts: a sliver of ink")
    return centre_digit(crop), crop.shape
