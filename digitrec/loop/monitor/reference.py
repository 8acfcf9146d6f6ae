"""What "normal" looks like: the training prior over digits and the image statistics of a seeded
sample of the training images, cached per data fingerprint so a daily monitor run reads one
small file instead of recomputing them over 42,000 images."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitrec.constants import NUM_CLASSES
from digitrec.data.kaggle import file_fingerprint, load_csv
from digitrec.data.sources import locate_data
from digitrec.loop.monitor.features import FEATURES, image_features
from digitrec.storage import cache_dir, write_with

REFERENCE_SIZE = 10_000  # training images whose statistics stand for the training data
REFERENCE_SEED = 0
CACHE_VERSION = "1"  # bump when a feature's definition changes


@dataclass(frozen=True)
class Reference:
    """The training side of every comparison."""

    fingerprint: str  # of train.csv (name, size, mtime): a new file is a new reference
    prior: np.ndarray  # (10,) share of each digit among all training labels
    features: dict[str, np.ndarray]  # name -> (k,) values over the reference sample
    cached: bool  # read from the cache rather than computed


def cache_path(fingerprint: str, size: int) -> Path:
    key = f"{CACHE_VERSION}|{fingerprint}|{size}|{REFERENCE_SEED}|{','.join(FEATURES)}"
    return cache_dir() / "monitor" / f"reference-{hashlib.sha1(key.encode()).hexdigest()}.npz"


def load_reference(
    data_dir: str | None = None, size: int = REFERENCE_SIZE, train_csv: Path | None = None
) -> Reference:
    """The reference for the run's training data (`data_dir`: None for the embedded MNIST)."""
    if size < 1:
        raise ValueError(f"reference size must be >= 1, got {size}")
    path = Path(train_csv) if train_csv is not None else Path(locate_data(data_dir).train_csv)
    fingerprint = file_fingerprint(path)
    cached = cache_path(fingerprint, size)
    if cached.exists():
        try:
            with np.load(cached) as stored:
                features = {name: stored[name] for name in FEATURES}
                return Reference(fingerprint, stored["prior"], features, cached=True)
        except (OSError, ValueError, KeyError):
            pass  # an unreadable cache is rebuilt below
    reference = compute_reference(path, fingerprint, size)
    arrays = {"prior": reference.prior, **reference.features}
    write_with(cached, lambda tmp: np.savez(tmp, **arrays))
    return reference


def compute_reference(train_csv: Path, fingerprint: str, size: int) -> Reference:
    """Prior from every label; features from a seeded sample of at most `size` images."""
    digits = load_csv(train_csv, kind="train")
    counts = np.bincount(digits.labels, minlength=NUM_CLASSES).astype(np.float64)  # (10,)
    rng = np.random.default_rng(REFERENCE_SEED)
    take = min(size, len(digits.images))
    rows = np.sort(rng.choice(len(digits.images), size=take, replace=False))
    features = image_features(digits.images[rows])  # name -> (take,)
    return Reference(fingerprint, counts / counts.sum(), features, cached=False)
