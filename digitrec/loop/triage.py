"""Which unreviewed logged predictions a review offers: the most doubtful by margin (how close
the model came to another answer), and a random share drawn uniformly, so the labels also give
the monitor an unbiased estimate of production accuracy.

The log keeps a single digit's top-k probabilities (3 by default), so its margin is top-1 minus
top-2. A written number logs only the product of its digits' confidences (no per-digit
probabilities), and `--top-k 1` logs one probability: then the margin is the smallest one the
confidence allows, max(0, 2 * confidence - 1), since the runner-up holds at most what is left.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence

import numpy as np

from digitrec.constants import IMAGE_SIZE
from digitrec.loop import log
from digitrec.loop.log import LoggedPrediction

RANDOM_SHARE = 0.2  # of a review flow's batch: random checks for the monitor's estimate
Chosen = tuple[LoggedPrediction, list[np.ndarray]]  # a record and the 28x28 images it holds


def probabilities(record: LoggedPrediction) -> list[float]:
    """The logged top-k probabilities, highest first; a malformed entry (the log is JSON a
    person could edit) is left out."""
    found = []
    for entry in record.top_k:
        value = entry.get("probability") if isinstance(entry, dict) else None
        if isinstance(value, int | float) and math.isfinite(value):
            found.append(float(value))
    return sorted(found, reverse=True)


def margin(record: LoggedPrediction) -> float:
    """Top-1 minus top-2 probability: a 0.6 answer with a 0.05 runner-up is surer than a 0.7
    one with a 0.65 runner-up. Without a runner-up: the smallest margin the confidence allows."""
    ranked = probabilities(record)
    if len(ranked) >= 2:
        return ranked[0] - ranked[1]
    confidence = record.confidence if record.confidence is not None else 0.0
    return max(0.0, 2 * confidence - 1)


def doubt(record: LoggedPrediction) -> tuple:
    """Sort key, most doubtful first: rejected ones, then by rising margin, then confidence,
    oldest first."""
    confidence = record.confidence if record.confidence is not None else 0.0
    return (not record.rejected, margin(record), confidence, record.time)


def images_of(record: LoggedPrediction) -> list[np.ndarray]:
    """The 28x28 images the model saw; none for a CSV summary, an error or a corrupt strip."""
    if record.summary is not None or record.image_png is None:
        return []
    try:
        images = log.seen_images(record)
    except ValueError:
        return []
    whole = all(image.shape == (IMAGE_SIZE, IMAGE_SIZE) for image in images)
    return images if whole else []


def first_reviewable(records: Iterable[LoggedPrediction], k: int) -> list[Chosen]:
    """The first `k` records (in the given order) that hold images a person can label."""
    chosen: list[Chosen] = []
    for record in records:
        if len(chosen) >= k:
            break
        if images := images_of(record):
            chosen.append((record, images))
    return chosen


def random_count(n: int, share: float) -> int:
    """How many of `n` predictions are random checks: the share, rounded down (10 at 0.2: 2)."""
    if not 0 <= share <= 1:
        raise ValueError(f"random share must lie in [0, 1], got {share}")
    return math.floor(round(n * share, 9))  # round first: 0.7 * 10 is 7.000000000000001


def draw(records: Sequence[LoggedPrediction], k: int, seed: int | None) -> list[Chosen]:
    """`k` reviewable records drawn uniformly at random; the same seed gives the same draw."""
    if k < 1:
        return []
    pool = [r for r in records if r.summary is None and r.image_png is not None]
    order = random.Random(seed).sample(pool, len(pool))  # a uniform permutation
    return first_reviewable(order, k)


def choose(
    records: Sequence[LoggedPrediction], n: int, share: float, seed: int | None
) -> tuple[list[Chosen], list[Chosen]]:
    """(most doubtful, random checks): `n` predictions in all, the random ones drawn first from
    every candidate, so their sample stays uniform; the doubtful ones come from the rest."""
    sampled = draw(records, random_count(n, share), seed)
    drawn = {record.id for record, _ in sampled}
    rest = sorted((r for r in records if r.id not in drawn), key=doubt)
    return first_reviewable(rest, n - len(sampled)), sampled
