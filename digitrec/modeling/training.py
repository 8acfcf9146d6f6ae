"""Train a CNN on uint8 digit images: tf.data pipeline, in-graph augmentation, warmup + cosine
learning rate, label smoothing, per-epoch progress."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from digitrec.arrays import model_input
from digitrec.constants import IMAGE_SHAPE, NUM_CLASSES
from digitrec.modeling.augmentation import Augmentation, random_warp

EpochCallback = Callable[[int, int, dict[str, float], float], None]  # epoch, epochs, logs, seconds
# Train steps run 4 to a call of the compiled step: Keras' per-step Python overhead had cost a
# third of the compact CNN's epoch here; the weights come out bit-identical (bench/RESULTS.md).
STEPS_PER_EXECUTION = 4


@dataclass(frozen=True)
class TrainConfig:
    architecture: str = "compact"
    epochs: int = 12
    batch_size: int = 128
    peak_learning_rate: float = 3e-3
    warmup_fraction: float = 0.15
    label_smoothing: float = 0.1
    augmentation: Augmentation | None = field(default_factory=Augmentation)
    seed: int = 0
    precision: str = "float32"  # or "mixed_bfloat16": compute in bf16, keep float32 weights
    # Share of every training batch drawn from the emphasised rows (people's corrections),
    # oversampled; the rest of the batch replays the base rows. 0: rows mixed as they come.
    emphasis_share: float = 0.0
    steps_per_epoch: int | None = None  # None: one pass over the (base) training rows

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    model: object  # keras.Model
    history: dict[str, list[float]]
    seconds: float
    images_per_second: float


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig,
    training: bool,
    emphasis: np.ndarray | None = None,
):
    """Batches of (float32 (B, 28, 28, 1), one-hot (B, 10)); shuffled and jittered for training.
    With `emphasis` (a bool mask (N,)) and `config.emphasis_share`, every training batch holds
    that share of emphasised rows, drawn over and over, and the rest from the other rows."""
    import tensorflow as tf

    x = images.reshape(-1, *IMAGE_SHAPE)  # (N, 28, 28, 1) uint8
    if training and mixes(config, emphasis):
        ds = mixed_batches(x, labels, emphasis, config)
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, labels))
        if training:
            ds = ds.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
        if training and config.steps_per_epoch:
            ds = ds.repeat()  # epochs of a set number of steps, not of passes
        ds = ds.batch(config.batch_size)

    def prepare(batch_x, batch_y):
        return tf.cast(batch_x, tf.float32), tf.one_hot(tf.cast(batch_y, tf.int32), NUM_CLASSES)

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    if training and config.augmentation is not None:
        aug = config.augmentation
        ds = ds.enumerate().map(
            lambda step, xy: (random_warp(xy[0], tf.stack([config.seed, step]), aug), xy[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def mixes(config: TrainConfig, emphasis: np.ndarray | None) -> bool:
    """Whether batches mix a fixed share of emphasised rows (some exist, and a share is set)."""
    return emphasis is not None and bool(emphasis.any()) and config.emphasis_share > 0


def emphasised_per_batch(config: TrainConfig) -> int:
    return min(config.batch_size - 1, max(1, round(config.batch_size * config.emphasis_share)))


def mixed_batches(x: np.ndarray, labels: np.ndarray, emphasis: np.ndarray, config: TrainConfig):
    """Endless batches of B - k base rows and k emphasised rows, each part shuffled anew every
    pass over it: the corrections weigh the same in every batch, however few they are."""
    import tensorflow as tf

    def endless(mask: np.ndarray, size: int, seed: int):
        part = tf.data.Dataset.from_tensor_slices((x[mask], labels[mask]))
        part = part.shuffle(int(mask.sum()), seed=seed, reshuffle_each_iteration=True)
        return part.repeat().batch(size)

    k = emphasised_per_batch(config)
    base = endless(~emphasis, config.batch_size - k, config.seed)
    extra = endless(emphasis, k, config.seed + 1)
    return tf.data.Dataset.zip(base, extra).map(
        lambda b, e: (tf.concat([b[0], e[0]], 0), tf.concat([b[1], e[1]], 0))
    )


def steps_per_epoch(config: TrainConfig, rows: int, emphasis: np.ndarray | None) -> int:
    """Train steps in an epoch: the config's, else one pass over the base rows."""
    if config.steps_per_epoch:
        return config.steps_per_epoch
    base = rows - int(emphasis.sum()) if mixes(config, emphasis) else rows
    per_batch = config.batch_size - (emphasised_per_batch(config) if mixes(config, emphasis) else 0)
    return math.ceil(base / per_batch)


def compile_model(model, config: TrainConfig, steps: int) -> None:
    """Adam with linear warmup then cosine decay to zero, over the whole run."""
    import keras

    warmup = max(1, int(steps * config.warmup_fraction))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.peak_learning_rate / 10,
        decay_steps=max(1, steps - warmup),
        warmup_target=config.peak_learning_rate,
        warmup_steps=warmup,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
        jit_compile=False,  # XLA is slower on this CPU and broke BN models' predictions here
        steps_per_execution=STEPS_PER_EXECUTION,
    )


def progress_callback(on_epoch: EpochCallback, epochs: int):
    """A Keras callback that reports each epoch to `on_epoch` as (epoch, epochs, logs, seconds);
    built here so that importing this module does not import Keras."""
    import keras

    class EpochProgress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None) -> None:
            seconds = time.perf_counter() - self.started
            on_epoch(epoch + 1, epochs, {k: float(v) for k, v in (logs or {}).items()}, seconds)

    return EpochProgress()


def fit(
    config: TrainConfig,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    initial_model_path: Path | str | None = None,
    on_epoch: EpochCallback | None = None,
    emphasis: np.ndarray | None = None,
) -> TrainResult:
    """Train a new model (or continue from a saved one) and return it with its history;
    `emphasis` marks the training rows each batch holds a fixed share of (see make_dataset)."""
    import keras

    from digitrec.modeling.architectures import build_model, with_precision

    if initial_model_path:
        model = keras.saving.load_model(initial_model_path)
        if config.precision != "float32":
            model = with_precision(model, config.precision, config.seed)
        keras.utils.set_random_seed(config.seed)
    else:
        model = build_model(config.architecture, seed=config.seed, precision=config.precision)
    per_epoch = steps_per_epoch(config, len(train[0]), emphasis)
    compile_model(model, config, config.epochs * per_epoch)
    train_ds = make_dataset(*train, config, training=True, emphasis=emphasis)
    val_ds = make_dataset(*validation, config, training=False) if validation else None
    callbacks = [progress_callback(on_epoch, config.epochs)] if on_epoch else []
    started = time.perf_counter()
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        steps_per_epoch=per_epoch if mixes(config, emphasis) or config.steps_per_epoch else None,
        verbose=0,
        callbacks=callbacks,
        shuffle=False,  # tf.data already shuffles
    )
    seconds = time.perf_counter() - started
    if config.precision != "float32":  # saved, exported and served in float32
        model = with_precision(model, "float32", config.seed)
    images = config.epochs * per_epoch * config.batch_size
    return TrainResult(
        model,
        {k: [float(v) for v in vs] for k, vs in history.history.items()},
        seconds,
        images / seconds,
    )


def predict_proba(model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities (N, 10) of a Keras model for uint8 images (N, 28, 28)."""
    return np.asarray(model.predict(model_input(images), batch_size=batch_size, verbose=0))
