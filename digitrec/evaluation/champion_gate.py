"""The champion-vs-challenger gate, slice by slice on the same rows for both (as TFX's
Evaluator blesses a model): one pooled accuracy let a model that learned a new population of
writers (1% of the rows) lose to one that kept two more MNIST digits, and showed nothing of
which slice moved.

Rules, each on paired predictions of the same images:
- base validation: the challenger may be at most EPSILON (0.05 points) worse, and a larger loss
  refuses it only when it is significant: a one-sided exact McNemar test on the digits only one
  of the two models reads right, p < ALPHA. At 4,157 rows one digit is 0.024 points, and two
  fine-tunings of one champion differ by 10-20 such digits: a 3-digit loss out of 13 discordant
  (p = 0.29) is noise that a fixed 0.05-point rule would refuse, while 11 of 14 (p = 0.03) is a
  loss of old skills;
- feedback holdout (every reviewed source together): at least as good;
- each source with at least MIN_SOURCE_ROWS held-out rows: at least as good, within one image.
A challenger that passes every rule is promoted, a tie included: after an `adapt` on 100 labels
the held-out quarter of them (25 rows) often reads the same for both models while the
population's unseen rest gained 4 points (bench/RESULTS.md), so demanding a strict gain on some
slice refused the models the loop exists to ship. With no champion, the first model needs
FIRST_MODEL_FLOOR on the base validation: far above chance (10%), so only a broken model is
refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPSILON = 0.0005
ALPHA = 0.05
MIN_SOURCE_ROWS = 30
SOURCE_TOLERANCE = 1  # images
FIRST_MODEL_FLOOR = 0.5
BASE = "base validation"
FEEDBACK = "feedback holdout"


@dataclass(frozen=True)
class Slice:
    """Labels of one slice and each model's predicted digits for them."""

    name: str
    labels: np.ndarray  # (N,)
    challenger: np.ndarray  # (N,) predicted digits
    champion: np.ndarray | None  # (N,) or None without a champion


@dataclass(frozen=True)
class SliceVerdict:
    """One row of the gate's decision table."""

    slice: str
    rows: int
    champion: float | None
    challenger: float
    rule: str
    passed: bool

    def row(self) -> dict:
        return {
            "slice": self.slice, "rows": self.rows, "champion": self.champion,
            "challenger": self.challenger, "rule": self.rule, "pass": self.passed,
        }  # fmt: skip


def correct(labels: np.ndarray, predicted: np.ndarray | None) -> int:
    return -1 if predicted is None else int((labels == predicted).sum())


def verdict(part: Slice) -> SliceVerdict:
    """Apply the slice's rule (by its name) to its paired predictions."""
    n = len(part.labels)
    new, old = correct(part.labels, part.challenger), correct(part.labels, part.champion)
    share = new / n if n else 0.0
    if part.champion is None:
        rule = f">= {FIRST_MODEL_FLOOR:.0%} (first model)" if part.name == BASE else "reported"
        passed = share >= FIRST_MODEL_FLOOR if part.name == BASE else True
        return SliceVerdict(part.name, n, None, share, rule, passed)
    if part.name == BASE:
        rule = f">= champion - {EPSILON * 100:.2f} points, or a loss with McNemar p >= {ALPHA}"
        passed = new >= old - EPSILON * n or loss_p_value(part) >= ALPHA
    elif part.name == FEEDBACK:
        rule, passed = ">= champion", new >= old
    else:
        rule, passed = f">= champion - {SOURCE_TOLERANCE} image", new >= old - SOURCE_TOLERANCE
    return SliceVerdict(part.name, n, old / n if n else 0.0, share, rule, passed)


def decide(slices: list[Slice]) -> tuple[bool, str, list[SliceVerdict]]:
    """(promote, why, the decision table) for the challenger against the champion."""
    table = [verdict(part) for part in slices if len(part.labels)]
    failed = [v for v in table if not v.passed]
    if failed and slices[0].champion is None:
        return False, "not promoted, though no champion yet: " + explain(failed[0]), table
    if failed:
        return False, "does not beat the champion: " + "; ".join(map(explain, failed)), table
    if slices and slices[0].champion is None:
        return True, "no champion yet; " + explain(table[0]), table
    better = [v for v in table if v.champion is not None and v.challenger > v.champion]
    gains = "; ".join(map(explain, better)) if better else "no slice worse (a tie)"
    return True, "passes every slice of the champion gate: " + gains, table


def loss_p_value(part: Slice) -> float:
    """One-sided exact McNemar p-value that the challenger reads fewer of these digits right."""
    from scipy.stats import binomtest

    old_right = part.champion == part.labels  # (N,) bool
    new_right = part.challenger == part.labels
    lost, gained = int((old_right & ~new_right).sum()), int((new_right & ~old_right).sum())
    if lost + gained == 0:
        return 1.0
    return float(binomtest(lost, lost + gained, 0.5, alternative="greater").pvalue)


def explain(v: SliceVerdict) -> str:
    against = "" if v.champion is None else f" vs {v.champion:.4%}"
    return f"{v.slice} {v.challenger:.4%}{against} ({v.rule}, {v.rows} rows)"


def source_slices(
    labels: np.ndarray, sources: np.ndarray, challenger: np.ndarray, champion: np.ndarray | None
) -> list[Slice]:
    """One slice per feedback source with at least MIN_SOURCE_ROWS held-out rows."""
    out = []
    for source in sorted(set(sources.tolist())):
        rows = sources == source  # (K,) bool
        if rows.sum() >= MIN_SOURCE_ROWS:
            old = None if champion is None else champion[rows]
            out.append(Slice(f"source {source}", labels[rows], challenger[rows], old))
    return out
