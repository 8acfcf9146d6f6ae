"""Decode the number reader's output: the best path through its per-step classes (CTC's greedy
decoding), each digit with the probabilities of the step where it is surest, and where it is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLANK = 10  # = digitrec.modeling.number_reader.BLANK: the last class, "no new digit here"


@dataclass(frozen=True)
class Reading:
    """A number read from one line: its digits, a (10,) probability row per digit, and the
    step (a column of the line every 4 px) where each digit was read."""

    digits: str
    probabilities: np.ndarray  # (k, 10) per digit, over the ten digits
    steps: np.ndarray  # (k,) int


def greedy(probabilities: np.ndarray) -> Reading:
    """The most likely class at each step (T, 11), repeats merged and blanks dropped."""
    best = probabilities.argmax(axis=1)  # (T,)
    starts = np.flatnonzero((best != BLANK) & np.r_[True, best[1:] != best[:-1]])  # (k,)
    rows, steps = [], []
    for start in starts:
        end = start + 1
        while end < len(best) and best[end] == best[start]:
            end += 1
        peak = start + int(probabilities[start:end, best[start]].argmax())
        digits = probabilities[peak, :BLANK].astype(np.float64)  # (10,)
        rows.append(digits / max(digits.sum(), 1e-12))
        steps.append(peak)
    probs = np.array(rows, np.float32).reshape(-1, BLANK)
    return Reading("".join(str(int(best[s])) for s in starts), probs, np.array(steps, np.int64))
