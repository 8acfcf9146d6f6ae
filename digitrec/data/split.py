"""Every way digitrec divides labelled rows, stratified so each digit keeps its share: the
Kaggle train/test split of the embedded MNIST, a run's train/validation split, and k folds."""

from __future__ import annotations

import numpy as np

from digitrec.arrays import first_non_digit
from digitrec.constants import KAGGLE_TEST_ROWS, NUM_CLASSES

EMBEDDED_SPLIT_SEED = 20_261_124


class SplitError(ValueError):
    """Labels or settings that cannot be split as asked."""


def kaggle_split(
    images: np.ndarray,
    labels: np.ndarray,
    test_rows: int = KAGGLE_TEST_ROWS,
    seed: int = EMBEDDED_SPLIT_SEED,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified, shuffled split into (train_x, train_y, test_x, test_y)."""
    from sklearn.model_selection import train_test_split

    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=test_rows, stratify=labels, random_state=seed, shuffle=True
    )
    return train_x, train_y, test_x, test_y


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation row indices; the same labels, fraction and seed give the same split."""
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise SplitError(f"validation fraction must be in (0, 1), got {fraction}")
    rows = np.arange(len(labels))
    train_idx, val_idx = train_test_split(
        rows, test_size=fraction, stratify=labels, random_state=seed, shuffle=True
    )
    return np.sort(train_idx), np.sort(val_idx)


def stratified_folds(labels, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, validation) index pairs with every digit in proportion in every fold."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels).astype(np.int64)  # (N,)
    bad = first_non_digit(y)
    if bad is not None:
        raise SplitError(f"labels[{bad}] = {y[bad]} is not a digit 0..9")
    if folds < 2:
        raise SplitError(f"folds must be at least 2, got {folds}")
    counts = np.bincount(y, minlength=NUM_CLASSES)  # (10,)
    present = counts[counts > 0]
    if present.size == 0 or present.min() < folds:
        raise SplitError(f"{folds} folds need at least {folds} images of each digit present")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((y.size, 1)), y))


def content_buckets(images: np.ndarray) -> np.ndarray:
    """A number in [0, 1) per image from a hash of its pixels: the same image always gets the
    same number, whatever the file's order, the seed or the profile."""
    import hashlib

    flat = np.ascontiguousarray(images.reshape(len(images), -1), dtype=np.uint8)  # (N, 784)
    heads = [hashlib.sha256(row.tobytes()).digest()[:8] for row in flat]
    return np.array([int.from_bytes(h, "big") / 2**64 for h in heads])  # (N,)


def content_split(images: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation row indices chosen by content hash: the rows whose bucket is below
    `fraction`. A smaller fraction's validation rows are inside a larger one's, so the rows below
    COMPARISON_FRACTION are never trained on by any run (the champion comparison set)."""
    if not 0 < fraction < 1:
        raise SplitError(f"validation fraction must be in (0, 1), got {fraction}")
    held = content_buckets(images) < fraction  # (N,) bool
    return np.flatnonzero(~held), np.flatnonzero(held)
