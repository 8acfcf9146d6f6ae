"""The number reader: a small convolutional line model trained with CTC (Shi, Bai, Yao 2015) that
reads a whole written number, touching digits included, without cutting it first.

It takes a line (LINE_HEIGHT, LINE_WIDTH, 1) of float32 pixels 0..255 (white ink on black, as
`digitrec.inference.line` lays it out) and returns (STEPS, 11) softmax probabilities: one column
of the line every 4 px, classes 0-9 and BLANK (no digit starts here). Its convolutions are 1-D
along the line after the height is folded in, so LiteRT runs it on any CPU."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BLANK = 10  # CTC's "no new digit here" class, after the ten digits
CLASSES = 11
MAX_DIGITS = 10  # the longest number it is trained on
LINE_SHAPE = (
    28,
    256,
    1,
)  # = digitrec.inference.line's (LINE_HEIGHT, LINE_WIDTH) (checked by a test)
STEPS = LINE_SHAPE[1] // 4  # two 2x poolings along the line
StepCallback = Callable[[int, float], None]  # (steps done, loss)


@dataclass(frozen=True)
class ReaderConfig:
    """How the number reader trains: steps of `batch_size` lines, Adam with cosine decay."""

    steps: int = 3000
    batch_size: int = 64
    learning_rate: float = 3e-3
    precision: str = "float32"
    seed: int = 0


def reader_layers(layers) -> list:
    """The reader's layers between its rescaled input and its logits."""
    from digitrec.modeling.architectures import conv_bn

    return [
        *conv_bn(layers, 16),  # (28, 256, 16)
        layers.MaxPooling2D(2),  # (14, 128, 16)
        *conv_bn(layers, 32),
        layers.MaxPooling2D(2),  # (7, 64, 32)
        *conv_bn(layers, 48),
        layers.Permute((2, 1, 3)),  # (64, 7, 48): steps along the line first
        layers.Reshape((STEPS, 7 * 48)),  # the column's whole height as features
        layers.Dense(96, use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv1D(96, 5, padding="same", activation="relu"),  # a digit's width
        layers.Conv1D(96, 5, padding="same", activation="relu"),  # and its neighbours'
        layers.Dropout(0.1),
    ]


def build_reader(seed: int = 0, precision: str = "float32", body=reader_layers):
    """A fresh, uncompiled reader returning float32 logits (N, STEPS, CLASSES); `body(layers)`
    gives its layers (bench/reader_recipes.py compares others)."""
    import keras
    from keras import layers

    from digitrec.modeling.architectures import PRECISIONS

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {PRECISIONS}")
    keras.utils.set_random_seed(seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        inputs = keras.Input(LINE_SHAPE, name="line")
        x = layers.Rescaling(1 / 255)(inputs)
        for layer in body(layers):
            x = layer(x)
        logits = layers.Dense(CLASSES, name="logits", dtype="float32")(x)
    finally:
        keras.config.set_dtype_policy(previous)
    return keras.Model(inputs, logits, name="number_reader")


def with_softmax(reader, precision: str = "float32"):
    """The reader for serving: float32 weights, softmax probabilities (N, STEPS, CLASSES)."""
    import keras

    if precision != "float32" or reader.compute_dtype != "float32":
        twin = build_reader(precision="float32")
        twin.set_weights(reader.get_weights())
        reader = twin
    probabilities = keras.layers.Softmax(name="probabilities", dtype="float32")(reader.output)
    return keras.Model(reader.input, probabilities, name="number_reader")


def ctc_loss(targets, logits):
    """Mean CTC loss; targets (N, MAX_DIGITS) hold digits, padded with -1 past the number."""
    from keras import ops

    lengths = ops.sum(ops.cast(targets >= 0, "int32"), axis=1)  # (N,)
    labels = ops.where(targets >= 0, targets, 0)
    steps = ops.full((ops.shape(logits)[0],), STEPS, "int32")
    return ops.mean(ops.ctc_loss(labels, logits, lengths, steps, mask_index=BLANK))


def progress(on_step: StepCallback, steps: int):
    """A Keras callback reporting (step, loss) every tenth of the run; built here so that
    importing this module does not import Keras."""
    import keras

    every = max(1, steps // 10)

    class Steps(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None) -> None:
            if (batch + 1) % every == 0 or batch + 1 == steps:
                on_step(batch + 1, float((logs or {}).get("loss", float("nan"))))

    return Steps()


def train_reader(
    lines: np.ndarray,
    targets: np.ndarray,
    config: ReaderConfig,
    on_step: StepCallback | None = None,
) -> tuple[object, float]:
    """Train on lines (N, 28, 256) uint8 and targets (N, MAX_DIGITS); returns the serving model
    (softmax, float32) and the training seconds. `on_step(step, loss)`: progress."""
    import keras
    import tensorflow as tf

    model = build_reader(config.seed, config.precision)
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate / 10,
        decay_steps=max(1, config.steps - config.steps // 20),
        warmup_target=config.learning_rate,
        warmup_steps=max(1, config.steps // 20),
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=ctc_loss, jit_compile=False)
    data = (
        tf.data.Dataset.from_tensor_slices((lines[..., None], targets.astype(np.int32)))
        .shuffle(min(len(lines), 20_000), seed=config.seed)
        .repeat()
        .batch(config.batch_size, drop_remainder=True)
        .map(lambda x, y: (tf.cast(x, tf.float32), y))
        .prefetch(2)
    )
    callbacks = [progress(on_step, config.steps)] if on_step else []
    started = time.perf_counter()
    model.fit(data, epochs=1, steps_per_epoch=config.steps, verbose=0, callbacks=callbacks)
    return with_softmax(model, config.precision), time.perf_counter() - started
