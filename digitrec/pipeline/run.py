"""A training run's folder and its train/validation split, which every later step shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digitrec.data.kaggle import Digits, load_csv
from digitrec.data.sources import DataPaths
from digitrec.data.split import stratified_split
from digitrec.pipeline.records import RunContext
from digitrec.storage import new_stamped_dir, runs_dir, write_with


def new_run_dir(profile: str) -> Path:
    """A fresh run folder (with its figures/ folder) named by UTC time, profile and a suffix."""
    run_dir = new_stamped_dir(runs_dir(), profile)
    (run_dir / "figures").mkdir()
    return run_dir


def split_data(data: DataPaths, run_dir: Path, fraction: float, seed: int) -> RunContext:
    """Stratified train/validation indices, stored so every step uses the same split."""
    labels = load_csv(data.train_csv, kind="train").labels
    train_idx, val_idx = stratified_split(labels, fraction, seed)
    path = run_dir / "split.npz"
    write_with(path, lambda tmp: np.savez(tmp, train=train_idx, validation=val_idx))
    return RunContext(run_dir=run_dir, data=data, split_path=path, seed=seed)


def load_split(run: RunContext) -> tuple[Digits, np.ndarray, np.ndarray]:
    """(train.csv digits, training row indices, validation row indices)."""
    train = load_csv(run.data.train_csv, kind="train")
    with np.load(run.split_path) as split:
        return train, split["train"], split["validation"]


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
