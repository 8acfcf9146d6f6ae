"""Ensembles: members that differ by architecture and seed, saved as one Keras model that averages
their probabilities, so evaluation, export, registration and predict treat an ensemble like any
other model; and how many members a machine's cores run at once."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from digitrec.constants import IMAGE_SHAPE
from digitrec.storage import write_with


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
