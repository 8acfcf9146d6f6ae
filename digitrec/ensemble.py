"""Ensembles: members that differ by architecture and seed, saved as one Keras model that averages
their probabilities, so evaluation, export, registration and predict treat an ensemble like any
other model.

Honest validation: every member fits the run's training rows (split.npz "train") on a fixed
schedule and only reports its per-epoch curve on the run's validation rows: no early stopping or
checkpoint is chosen by them. As in every profile, they only rank the candidate architectures;
no member ever trains on them.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from pathlib import Path

from digitrec.constants import IMAGE_SHAPE
from digitrec.steps import load_split, train_stage
from digitrec.storage import write_json_atomic, write_with
from digitrec.training import EpochCallback, TrainConfig, predict_proba


def cluster_workers(members: int, cores: int | None = None) -> int:
    """Local Dask workers: one member per worker, never more workers than cores."""
    return max(1, min(members, cores or os.cpu_count() or 1))


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """TensorFlow threads per member so that all workers together use each core once."""
    return max(1, (cores or os.cpu_count() or 1) // workers)


def limit_tensorflow_threads(threads: int) -> int:
    """Cap TensorFlow's thread pools in this process; returns the intra-op threads in force."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already ran here (an earlier member): its pools stay
        pass
    return tf.config.threading.get_intra_op_parallelism_threads()


def train_member(
    index: int,
    recipe: TrainConfig,
    train_csv: str,
    split_path: str,
    run_dir: Path,
    threads: int | None = None,
    on_epoch: EpochCallback | None = None,
) -> dict:
    """Train member `index` (0-based) with its own recipe as stage member-<index + 1>, recording
    which worker process trained it."""
    in_force = limit_tensorflow_threads(threads) if threads else None
    worker = {"host": socket.gethostname(), "pid": os.getpid(), "tf_threads": in_force}
    return train_stage(
        f"member-{index + 1}",
        recipe,
        train_csv,
        split_path,
        run_dir,
        on_epoch=on_epoch,
        extra={"worker": worker},
    )


def describe_members(architectures: list[str]) -> str:
    """E.g. "ensemble of 3 compact + 2 strong" (architectures in order of first appearance)."""
    counts = Counter(architectures)
    return "ensemble of " + " + ".join(f"{n} {arch}" for arch, n in counts.items())


def average_models(members: list):
    """One Keras model whose output is the mean of the members' probabilities."""
    import keras

    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
    inputs = keras.Input(IMAGE_SHAPE, name="pixels")  # (None, 28, 28, 1)
    outputs = [
        # Renamed copies: members built alike share a name, and layer names must be unique.
        keras.Model(m.input, m.output, name=f"member_{i + 1}")(inputs)
        for i, m in enumerate(members)
    ]  # each (None, 10)
    averaged = keras.layers.Average(name="probabilities")(outputs)  # (None, 10)
    return keras.Model(inputs, averaged, name="ensemble")


def build_ensemble(member_paths: list[str | Path], target: Path) -> Path:
    """Load saved members and save the averaging model at `target` (atomically)."""
    import keras

    members = [keras.saving.load_model(p, compile=False) for p in member_paths]
    return write_with(target, average_models(members).save)


def combine_members(
    members: list[dict], train_csv: str, split_path: str, run_dir: Path, wall_seconds: float
) -> dict:
    """The ensemble as a stage: models/ensemble.keras, scored on the run's validation rows."""
    import keras

    started = time.perf_counter()
    model_path = build_ensemble(
        [m["model_path"] for m in members], run_dir / "models" / "ensemble.keras"
    )
    model = keras.saving.load_model(model_path, compile=False)
    train, _, val_idx = load_split(train_csv, split_path)
    probs = predict_proba(model, train.images[val_idx])  # (N_val, 10)
    summary = {
        "stage": "ensemble",
        "architecture": describe_members([m["architecture"] for m in members]),
        # What the members share (their architectures, batch sizes and seeds are their own).
        "config": {k: members[0]["config"][k] for k in ("epochs", "augmentation")}
        | {"members": len(members)},
        "model_path": str(model_path),
        "parameters": int(model.count_params()),
        "train_seconds": round(wall_seconds, 2),
        "images_per_second": round(
            sum(m["images_per_second"] * m["train_seconds"] for m in members) / wall_seconds, 1
        ),
        "combine_seconds": round(time.perf_counter() - started, 2),
        "val_accuracy": float((probs.argmax(1) == train.labels[val_idx]).mean()),
        "member_val_accuracies": [m["val_accuracy"] for m in members],
        "workers": sorted({(m["worker"]["host"], m["worker"]["pid"]) for m in members}),
        "history": {},
    }
    write_json_atomic(run_dir / "stages" / "ensemble.json", summary)
    return summary
