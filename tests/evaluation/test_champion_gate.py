"""The champion gate's rules, slice by slice, on paired predictions."""

from __future__ import annotations

import numpy as np

from digitrec.evaluation.champion_gate import (
    BASE,
    FEEDBACK,
    MIN_SOURCE_ROWS,
    Slice,
    decide,
    source_slices,
)


def predictions(labels: np.ndarray, wrong: int) -> np.ndarray:
    """The labels with the first `wrong` of them off by one."""
    out = labels.copy()
    out[:wrong] = (out[:wrong] + 1) % 10
    return out


LABELS = np.arange(4000) % 10  # (4000,)
FEEDBACK_LABELS = np.arange(60) % 10  # (60,)


def slices(base_new: int, base_old: int, fb_new: int, fb_old: int) -> list[Slice]:
    """Base and feedback slices with these numbers of wrong digits per model."""
    return [
        Slice(BASE, LABELS, predictions(LABELS, base_new), predictions(LABELS, base_old)),
        Slice(FEEDBACK, FEEDBACK_LABELS, predictions(FEEDBACK_LABELS, fb_new),
              predictions(FEEDBACK_LABELS, fb_old)),
    ]  # fmt: skip


def test_learning_the_new_writers_at_two_mnist_digits_is_promoted():
    # The pooled rule refused this: 2 more base errors, 10 fewer feedback errors.
    promoted, why, table = decide(slices(base_new=22, base_old=20, fb_new=5, fb_old=15))
    assert promoted and "feedback holdout" in why
    assert [row.passed for row in table] == [True, True]
    assert table[0].rule.startswith(">= champion - 0.05 points, or a loss with McNemar p")


def test_a_significant_loss_beyond_epsilon_on_the_base_is_refused():
    # The challenger misses 12 digits the champion reads, and reads none it misses (p < 0.001).
    promoted, why, table = decide(slices(base_new=32, base_old=20, fb_new=0, fb_old=15))
    assert not promoted and why.startswith("does not beat the champion: base validation")
    assert [row.passed for row in table] == [False, True]


def test_a_loss_beyond_epsilon_within_noise_passes():
    """3 more errors (0.075 points) out of 13 discordant digits: McNemar p = 0.29."""
    labels = LABELS
    old = predictions(labels, 20)
    new = old.copy()
    new[20:28] = (labels[20:28] + 1) % 10  # 8 digits only the champion read right
    new[:5] = labels[:5]  # 5 digits only the challenger reads right
    base = Slice(BASE, labels, new, old)
    feedback = Slice(FEEDBACK, FEEDBACK_LABELS, FEEDBACK_LABELS, predictions(FEEDBACK_LABELS, 9))
    promoted, why, table = decide([base, feedback])
    assert promoted and table[0].passed and table[0].challenger < table[0].champion - 0.0005


def test_a_worse_feedback_holdout_is_refused_and_a_tie_is_promoted():
    assert not decide(slices(base_new=10, base_old=20, fb_new=6, fb_old=5))[0]
    promoted, why, _ = decide(slices(base_new=20, base_old=20, fb_new=5, fb_old=5))
    assert promoted and "a tie" in why


def test_each_source_with_enough_rows_is_a_slice_with_one_image_of_tolerance():
    n = MIN_SOURCE_ROWS
    labels = np.arange(n + 10) % 10
    sources = np.array(["uci"] * n + ["fonts"] * 10)  # fonts: too few rows to judge
    old = predictions(labels, 3)
    (uci,) = source_slices(labels, sources, predictions(labels, 4), old)
    assert uci.name == "source uci" and len(uci.labels) == n
    worse_by_one = [*slices(10, 20, 5, 5), uci]
    assert decide(worse_by_one)[0]  # one more error on a source is within tolerance
    (uci,) = source_slices(labels, sources, predictions(labels, 5), old)
    promoted, why, _ = decide([*slices(10, 20, 5, 5), uci])
    assert not promoted and "source uci" in why


def test_the_first_model_needs_the_floor_only():
    first = [Slice(BASE, LABELS, predictions(LABELS, 100), None)]
    promoted, why, table = decide(first)
    assert promoted and why.startswith("no champion yet") and table[0].champion is None
    broken = [Slice(BASE, LABELS, np.zeros_like(LABELS), None)]  # one class: 10%
    promoted, why, _ = decide(broken)
    assert not promoted and why.startswith("not promoted, though no champion yet: base")
