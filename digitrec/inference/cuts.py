"""Where ink that holds several touching digits may be cut, and which cuts read best.

A group of ink that may hold several digits is cut along candidate paths from its top to its
bottom: straight ones at thin columns and under dips of the outline, and bent ones that cross
as little ink as they can (overlapping digits part along their joint). Every span between two
paths is a possible digit, scored by the digit model's (softened) confidence, by how well its
width fits the digit read (MNIST's width-to-height ratio per class) and by whether its ink is
as tall as the group's; the group read whole gains a bonus that fades as the group widens, so
a single wide digit stays one digit. Dynamic programming picks the best way through. The
weights were chosen on synthetic numbers (`digitrec.data.numbers`, bench/written_numbers.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ln(ink width / ink height) per class on MNIST's 60,000 training digits: mean and spread.
LOG_RATIO_MEAN = np.array(
    [-0.106, -0.931, -0.071, -0.235, -0.241, -0.074, -0.326, -0.264, -0.282, -0.395]
)
LOG_RATIO_STD = np.array([0.196, 0.459, 0.218, 0.212, 0.212, 0.258, 0.217, 0.215, 0.221, 0.205])
WIDE = 0.9  # ink wider than this share of its height may hold several digits
MIN_PIECE = 0.08  # a digit is at least this share of the ink's height wide (a thin 1) ...
MAX_PIECE = 1.2  # ... and a cut piece at most this share (wider: no gain, measured)
CUT_STEPS = 30  # cut paths tried: one every height / CUT_STEPS columns
CUT_REACH = 0.15  # a cut path bends at most this share of the height from where it starts
BEND_COST = 0.05  # ink-pixel cost of a cut path stepping one column sideways
CUT_SPACING = 0.12  # candidate cuts of one kind at least this share of the height apart
MIN_HEIGHT = 0.5  # a span whose ink is shorter than this share of the group's is no digit
SOFTEN = 0.5  # probabilities to this power (renormalised): the model's doubt on odd pieces
SHAPE_WEIGHT = 0.5  # weight of a piece too wide for its digit against the model's log confidence
FULL_HEIGHT = 0.8  # a digit's ink spans at least this share of its number's height ...
HEIGHT_WEIGHT = 0.3  # ... or pays this per tenth short, squared (a stroke cut off a digit)
KEEP_BONUS = 3.0  # log-score the group read whole gains at WIDE: a digit stays one digit ...
KEEP_UNTIL = 2.0  # ... falling to nothing at this width over height
SURE_WHOLE = 0.995  # a group the model reads whole this surely is one digit: no search


@dataclass(frozen=True)
class Span:
    """A candidate digit: the ink between two of a group's cut paths (0: its left edge)."""

    first: int
    last: int


def candidate_cuts(box: np.ndarray) -> np.ndarray:
    """Cut paths through a group's (h, w) bool ink box, left to right, with its two edges as
    the first and last: (K + 2, h) columns, one per row. Straight cuts at thin columns and
    under valleys of the outline, and bent cuts that cross the least ink near them."""
    height, width = box.shape
    edge = max(1, round(MIN_PIECE * height))
    starts = np.arange(edge, width - edge + 1, max(1, height // CUT_STEPS))
    paths = np.zeros((0, height), np.int64)
    if starts.size:
        bent, crossed = seams(box, starts, max(1, round(CUT_REACH * height)))
        bent = bent[local_minima(crossed)]  # (m, h)
        straight = np.repeat(thin_columns(box, edge)[:, None], height, axis=1)  # (n, h)
        for family in (straight, bent):
            cost = box_cost(box, family)
            paths = np.concatenate(
                [paths, family[spaced(family.mean(1), cost, CUT_SPACING * height)]]
            )
    paths = paths[np.argsort(paths.mean(axis=1), kind="stable")]
    edges = np.zeros((1, height), np.int64), np.full((1, height), width, np.int64)
    return np.concatenate([edges[0], paths, edges[1]])


def thin_columns(box: np.ndarray, edge: int) -> np.ndarray:
    """Columns (n,) where the ink is thinnest or its upper or lower outline dips inward."""
    height, width = box.shape
    profile = smoothed(box.sum(axis=0).astype(np.float32), max(1, height // 20))  # (w,)
    inked = box.any(axis=0)
    top = np.where(inked, box.argmax(axis=0), height).astype(np.float32)  # (w,)
    bottom = np.where(inked, height - 1 - box[::-1].argmax(axis=0), -1).astype(np.float32)
    found = np.unique(
        np.concatenate([local_minima(profile), local_minima(-top), local_minima(bottom)])
    )
    return found[(found >= edge) & (found <= width - edge)]


def smoothed(values: np.ndarray, radius: int) -> np.ndarray:
    """A moving average over 2 * radius + 1 values, the same length: (w,)."""
    kernel = np.ones(2 * radius + 1, np.float32) / (2 * radius + 1)
    return np.convolve(np.pad(values, radius, mode="edge"), kernel, mode="valid")


def seams(box: np.ndarray, starts: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-to-bottom paths through (h, w) bool ink, each within `reach` columns of its start,
    crossing as little ink as they can: columns (K, h) and their cost (K,)."""
    height, width = box.shape
    offsets = starts[:, None] + np.arange(-reach, reach + 1)[None, :]  # (K, B) columns
    cols = np.clip(offsets, 0, width - 1)
    outside = np.where((offsets >= 0) & (offsets < width), 0.0, np.inf)  # (K, B)
    cost = box[:, cols].astype(np.float32) + outside  # (h, K, B)
    total = cost[0].copy()  # (K, B)
    moves = np.zeros((height, *total.shape), np.int8)  # -1, 0, +1: the column above it
    blocked = np.full((len(starts), 1), np.inf, np.float32)
    for row in range(1, height):
        left = np.concatenate([blocked, total[:, :-1]], axis=1) + BEND_COST
        right = np.concatenate([total[:, 1:], blocked], axis=1) + BEND_COST
        stacked = np.stack([left, total, right])  # (3, K, B)
        choice = stacked.argmin(axis=0)  # (K, B)
        moves[row] = choice - 1
        total = np.take_along_axis(stacked, choice[None], 0)[0] + cost[row]
    at = total.argmin(axis=1)  # (K,) where each path leaves the bottom row
    crossed = total[np.arange(len(starts)), at]
    path = np.zeros((len(starts), height), np.int64)
    for row in range(height - 1, -1, -1):
        path[:, row] = at
        at = at + moves[row, np.arange(len(starts)), at]
    return np.take_along_axis(cols, path, axis=1), crossed


def box_cost(box: np.ndarray, paths: np.ndarray) -> np.ndarray:
    """Ink pixels each path (K, h) crosses: (K,)."""
    return box[np.arange(box.shape[0])[None, :], np.minimum(paths, box.shape[1] - 1)].sum(axis=1)


def local_minima(values: np.ndarray) -> np.ndarray:
    """Indices where values are no higher than both neighbours (a plateau's middle): (m,)."""
    padded = np.concatenate([[np.inf], values, [np.inf]])
    lower = (padded[1:-1] <= padded[:-2]) & (padded[1:-1] <= padded[2:])  # (w,)
    starts = np.flatnonzero(lower & ~np.concatenate([[False], lower[:-1]]))
    ends = np.flatnonzero(lower & ~np.concatenate([lower[1:], [False]]))
    return np.array([(a + b) // 2 for a, b in zip(starts, ends, strict=True)], dtype=int)


def spaced(points: np.ndarray, costs: np.ndarray, gap: float) -> np.ndarray:
    """Indices of the cheapest points, each kept only if `gap` from every kept one, left first."""
    kept: list[int] = []
    for i in np.argsort(costs, kind="stable"):
        if all(abs(points[i] - points[k]) >= gap for k in kept):
            kept.append(int(i))
    return np.array(sorted(kept, key=lambda k: points[k]), dtype=int)


def spans(positions: np.ndarray, height: int) -> list[Span]:
    """Every span between two cuts (at mean columns `positions`, ascending) wide enough and
    narrow enough to be one digit, and the whole group (last)."""
    low, high = MIN_PIECE * height, MAX_PIECE * height
    last = len(positions) - 1
    found = []
    for i in range(last):
        for j in range(i + 1, last + 1):
            width = positions[j] - positions[i]
            if width > high and j > i + 1:
                break
            if width >= low and (i, j) != (0, last):
                found.append(Span(i, j))
    return [*found, Span(0, last)]


def piece_scores(probabilities: np.ndarray, ratios: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Each piece's log-score (N,) from its class probabilities (N, 10), its ink's width over
    its height (N,) and its ink's height over the group's (N,)."""
    soft = np.maximum(probabilities, 1e-12) ** SOFTEN  # (N, 10)
    soft /= soft.sum(axis=1, keepdims=True)
    best = soft.argmax(axis=1)  # (N,)
    z = (np.log(np.maximum(ratios, 1e-3)) - LOG_RATIO_MEAN[best]) / LOG_RATIO_STD[best]
    too_wide = np.maximum(z, 0)  # a narrower piece may be a digit its neighbour overlaps
    too_short = np.maximum(FULL_HEIGHT - heights, 0) / 0.1
    shape = 0.5 * SHAPE_WEIGHT * too_wide**2 + HEIGHT_WEIGHT * too_short**2
    return np.log(soft.max(axis=1)) - shape


def whole_bonus(ratio: float) -> float:
    """What reading a group whole gains, by its width over its height: most wide digits are
    a little wider than WIDE, few numbers of touching digits are that narrow."""
    return KEEP_BONUS * float(np.clip((KEEP_UNTIL - ratio) / (KEEP_UNTIL - WIDE), 0, 1))


def best_path(found: list[Span], scores: np.ndarray, cuts: int) -> list[int]:
    """Indices into `found` of the spans from cut 0 to cut `cuts - 1` with the best total."""
    best = np.full(cuts, -np.inf)
    best[0] = 0.0
    came: list[int | None] = [None] * cuts
    for k in sorted(range(len(found)), key=lambda n: found[n].last):
        span = found[k]
        total = best[span.first] + scores[k]
        if total > best[span.last]:
            best[span.last], came[span.last] = total, k
    path, at = [], cuts - 1
    while at > 0:
        k = came[at]
        if k is None:
            raise ValueError("no way through the candidate cuts")
        path.append(k)
        at = found[k].first
    return path[::-1]
