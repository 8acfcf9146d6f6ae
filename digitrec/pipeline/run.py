"""A training run's folder and its train/validation split, which every later step shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digitrec.data.kaggle import Digits, load_csv
from digitrec.data.sources import DataPaths
from digitrec.data.split import content_split
from digitrec.pipeline.records import RunContext
from digitrec.storage import new_stamped_dir, runs_dir, write_with


def new_run_dir(profile: str) -> Path:
    """A fresh run folder (with its figures/ folder) named by UTC time, profile and a suffix."""
    run_dir = new_stamped_dir(runs_dir(), profile)
    (run_dir / "figures").mkdir()
    return run_dir


def split_data(
    data: DataPaths,
    run_dir: Path,
    fraction: float,
    seed: int,
    feedback: Path | None = None,
    precision: str = "float32",
) -> RunContext:
    """Train/validation indices chosen by content hash, stored so every step uses the same split.

    The validation rows depend only on the images and `fraction`, never on the seed or the
    profile, so no run ever trains on another run's validation rows below its own fraction: the
    champion comparison is fair across seeds and profiles. `feedback`: the run's feedback.npz,
    whose training part joins the training rows; `precision`: the Keras dtype policy the run's
    models train in."""
    train_idx, val_idx = content_split(load_csv(data.train_csv, kind="train").images, fraction)
    path = run_dir / "split.npz"
    write_with(path, lambda tmp: np.savez(tmp, train=train_idx, validation=val_idx))
    return RunContext(
        run_dir=run_dir,
        data=data,
        split_path=path,
        seed=seed,
        validation_fraction=fraction,
        feedback_path=feedback,
        precision=precision,
    )


def load_split(run: RunContext) -> tuple[Digits, np.ndarray, np.ndarray]:
    """(train.csv digits plus the feedback's training rows, training row indices, validation
    row indices); the feedback rows come after train.csv's and are all training rows."""
    train = load_csv(run.data.train_csv, kind="train")
    with np.load(run.split_path) as split:
        train_idx, val_idx = split["train"], split["validation"]
    if run.feedback_path is None:
        return train, train_idx, val_idx
    with np.load(run.feedback_path) as feedback:
        extra_x, extra_y = feedback["train_images"], feedback["train_labels"]
    merged = Digits(
        np.concatenate([train.images, extra_x]),
        np.concatenate([train.labels, extra_y]),
        f"{train.source} + {len(extra_y)} feedback rows",
    )
    extra_idx = np.arange(len(train.labels), len(merged.labels))
    return merged, np.concatenate([train_idx, extra_idx]), val_idx


def feedback_rows(run: RunContext, train_idx: np.ndarray) -> np.ndarray:
    """(N_train,) bool: which of `load_split`'s training rows are reviewed feedback (they come
    after every train.csv row)."""
    if run.feedback_path is None:
        return np.zeros(len(train_idx), bool)
    with np.load(run.feedback_path) as feedback:
        extra = len(feedback["train_labels"])
    with np.load(run.split_path) as split:
        base = int(max(split["train"].max(initial=-1), split["validation"].max(initial=-1))) + 1
    return train_idx >= base if extra else np.zeros(len(train_idx), bool)


def feedback_holdout(run: RunContext) -> tuple[np.ndarray, np.ndarray]:
    """The reviewed production digits held out of training: images (K, 28, 28), labels (K,)."""
    if run.feedback_path is None:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
    with np.load(run.feedback_path) as feedback:
        return feedback["holdout_images"], feedback["holdout_labels"]


def feedback_sources(run: RunContext) -> np.ndarray:
    """(K,) the source of each held-out reviewed digit, in `feedback_holdout`'s order."""
    if run.feedback_path is None:
        return np.zeros(0, str)
    with np.load(run.feedback_path) as feedback:
        if "holdout_sources" not in feedback:  # written before sources were kept
            return np.full(len(feedback["holdout_labels"]), "review")
        return feedback["holdout_sources"]


def validation_rows(run: RunContext) -> tuple[np.ndarray, np.ndarray]:
    """The validation split's images (N, 28, 28) and labels (N,)."""
    train, _, val_idx = load_split(run)
    return train.images[val_idx], train.labels[val_idx]


def probabilities(model_path: str | Path, images: np.ndarray, calibrate: bool = True) -> np.ndarray:
    """(N, 10) probabilities from a saved model, through its LiteRT export when there is one,
    with its calibration applied unless `calibrate` is False."""
    from digitrec.arrays import model_input
    from digitrec.inference.runtimes import load_predictor

    predictor, _ = load_predictor(model_path, calibrate=calibrate)
    return predictor(model_input(images))
